"""The schema check the emulators' tests rely on: it must find what does not conform, or those
tests could not fail."""

from aiohttp import web

from sandbox.openapi import OpenApi, load, served_routes

DOC = OpenApi(
    {
        "paths": {"/items/{id}": {"parameters": [], "get": {}, "delete": {}}},
        "components": {
            "schemas": {
                "Base": {"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}}},
                "Item": {
                    "allOf": [
                        {"$ref": "#/components/schemas/Base"},
                        {
                            "type": "object",
                            "properties": {
                                "state": {"type": "string", "enum": ["new", "done"]},
                                "note": {"type": "string", "nullable": True},
                                "tags": {"type": "array", "items": {"type": "string"}},
                            },
                        },
                    ]
                },
            }
        },
    }
)


def test_a_conforming_body_has_no_problems():
    assert DOC.conforms({"id": 1, "state": "new", "note": None, "tags": ["a"]}, "Item") == []


def test_each_kind_of_problem_is_named_with_its_place():
    assert DOC.conforms({"state": "new"}, "Item") == ["$.id: missing"]
    assert DOC.conforms({"id": True}, "Item") == ["$.id: bool is not integer"]
    assert DOC.conforms({"id": 1, "state": "lost"}, "Item") == ["$.state: 'lost' not in ['new', 'done']"]
    assert DOC.conforms({"id": 1, "tags": ["a", 2]}, "Item") == ["$.tags[1]: int is not string"]
    assert set(DOC.conforms(None, "Item")) == {"$: null"}  # said by each part of the allOf


def test_routes_are_the_documented_operations_and_the_served_ones_compare():
    assert DOC.routes() == {("GET", "/items/{id}"), ("DELETE", "/items/{id}")}
    async def item(request: web.Request) -> web.Response:
        return web.Response()

    app = web.Application()
    app.router.add_get("/items/{id}", item)
    assert served_routes(app) == {("GET", "/items/{id}")} != DOC.routes()


def test_the_regional_documents_load():
    for platform in ("incident_management", "pos", "kamchatka", "kuzbass_online"):
        assert load(platform).routes()
