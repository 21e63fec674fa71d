"""Declarative data files (YAML) validated by pydantic, with errors that name file and line.

Every rubricator, profile, lexicon-exception or gazetteer file goes through `load_model`, so a
municipality that edits one gets `profiles/zarechny.yaml:14: social.answer.hours: Input should be
greater than 0` instead of a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from otklik.exceptions import ConfigError

M = TypeVar("M", bound=BaseModel)


def _node_at(node: yaml.Node, loc: tuple[Any, ...]) -> yaml.Node:
    """Walk the composed YAML tree along a pydantic error location, as deep as it goes."""
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if k.value == str(key):
                    node = v
                    break
            else:
                return node
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            return node
    return node


def _format_errors(path: Path, root: yaml.Node | None, err: ValidationError) -> str:
    lines = []
    for e in err.errors():
        loc = tuple(e["loc"])
        line = _node_at(root, loc).start_mark.line + 1 if root is not None else 1
        where = ".".join(str(p) for p in loc) or "(top)"
        lines.append(f"{path}:{line}: {where}: {e['msg']}")
    return "\n".join(lines)


def load_yaml(path: str | Path) -> tuple[Any, yaml.Node | None]:
    """Parse a YAML file, returning the data and its node tree (for line numbers)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{path}:{line}: invalid YAML: {problem}") from None
    except ValueError as exc:  # a value YAML recognises but cannot build, e.g. the date 2026-13-01
        raise ConfigError(f"{path}: invalid value: {exc}") from None
    return data, root


def load_model(path: str | Path, model: type[M]) -> M:
    """Load a YAML file into a pydantic model; raise ConfigError with file:line per problem."""
    path = Path(path)
    data, root = load_yaml(path)
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as exc:
        raise ConfigError(_format_errors(path, root, exc)) from None
