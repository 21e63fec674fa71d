"""The OpenAPI documents of the regional emulators (docs/openapi/<platform>.yaml) and what their
tests check against them: the routes an emulator serves are exactly the documented ones, and a
body conforms to its schema."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

DOCS = Path(__file__).resolve().parents[1] / "docs" / "openapi"
TYPES: dict[str, type | tuple[type, ...]] = {
    "object": dict,
    "array": list,
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
}


class OpenApi:
    def __init__(self, document: dict) -> None:
        self.document = document

    def routes(self) -> set[tuple[str, str]]:
        """(method, path) of every documented operation."""
        return {
            (method.upper(), path)
            for path, ops in self.document["paths"].items()
            for method in ops
            if method != "parameters"
        }

    def conforms(self, value: Any, schema: dict | str, where: str = "$") -> list[str]:
        """What in `value` does not conform to the schema (a schema object, or the name of one of
        the document's component schemas). Covers the subset of OpenAPI 3.0 the documents use:
        $ref, allOf, type, nullable, enum, required, properties, items."""
        if isinstance(schema, str):
            schema = {"$ref": f"#/components/schemas/{schema}"}
        if value is None and schema.get("nullable"):
            return []
        if "$ref" in schema:
            schema = self.document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
        if "allOf" in schema:
            return [e for part in schema["allOf"] for e in self.conforms(value, part, where)]
        if value is None:
            return [] if schema.get("nullable") else [f"{where}: null"]
        kind = schema.get("type")
        if kind and (
            not isinstance(value, TYPES[kind]) or (kind in ("integer", "number") and isinstance(value, bool))
        ):
            return [f"{where}: {type(value).__name__} is not {kind}"]
        problems = []
        if "enum" in schema and value not in schema["enum"]:
            problems.append(f"{where}: {value!r} not in {schema['enum']}")
        if isinstance(value, dict):
            problems += [f"{where}.{k}: missing" for k in schema.get("required", []) if k not in value]
            for k, sub in schema.get("properties", {}).items():
                if k in value:
                    problems += self.conforms(value[k], sub, f"{where}.{k}")
        if isinstance(value, list) and "items" in schema:
            for i, item in enumerate(value):
                problems += self.conforms(item, schema["items"], f"{where}[{i}]")
        return problems


@functools.cache
def load(platform: str) -> OpenApi:
    return OpenApi(yaml.safe_load((DOCS / f"{platform}.yaml").read_text(encoding="utf-8")))


def served_routes(app: web.Application) -> set[tuple[str, str]]:
    """(method, path) of every route the application serves (aiohttp adds HEAD to each GET)."""
    return {(r.method, r.resource.canonical) for r in app.router.routes() if r.method != "HEAD"}
