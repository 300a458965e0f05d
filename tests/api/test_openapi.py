"""The OpenAPI document is complete: every operation has a summary, a typed success response, the
shared error model on its error responses, and an example for every JSON body it takes or gives."""

from __future__ import annotations

from typing import Any

from api.app import create_app
from api.schemas.common import ErrorResponse

JSON = "application/json"


def _schema(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    return doc["components"]["schemas"][ref.rsplit("/", 1)[-1]] if ref else schema


def _has_example(doc: dict[str, Any], media: dict[str, Any]) -> bool:
    if media.get("example") is not None or media.get("examples"):
        return True
    return bool(_schema(doc, media.get("schema", {})).get("examples"))


def test_every_operation_is_documented() -> None:
    doc = create_app().openapi()
    operations = [(path, method, op) for path, item in doc["paths"].items() for method, op in item.items()]
    assert len(operations) >= 18
    problems: list[str] = []
    for path, method, op in operations:
        where = f"{method.upper()} {path}"
        if not op.get("summary"):
            problems.append(f"{where}: no summary")
        if not op.get("tags"):
            problems.append(f"{where}: no tag")
        ok = [s for s in op["responses"] if s.startswith("2")]
        if len(ok) != 1:
            problems.append(f"{where}: {len(ok)} success responses")
        for status in ok:
            content = op["responses"][status].get("content", {})
            if not content:
                problems.append(f"{where}: {status} has no content")
            for media_type, media in content.items():
                if not media.get("schema"):
                    problems.append(f"{where}: {status} {media_type} has no schema")
                elif media_type == JSON and not _has_example(doc, media):
                    problems.append(f"{where}: {status} has no example")
        for status, response in op["responses"].items():
            if status.startswith(("4", "5")) and status != "503" or status == "503" and path != "/readyz":
                schema = response.get("content", {}).get(JSON, {}).get("schema", {})
                if schema.get("$ref", "").rsplit("/", 1)[-1] != ErrorResponse.__name__:
                    problems.append(f"{where}: {status} does not use {ErrorResponse.__name__}")
        body = op.get("requestBody")
        if body is not None:
            for media_type, media in body["content"].items():
                if media_type == JSON and not _has_example(doc, media):
                    problems.append(f"{where}: request body has no example")
                if not media.get("schema"):
                    problems.append(f"{where}: request body {media_type} has no schema")
        if op.get("security") and "401" not in op["responses"]:
            problems.append(f"{where}: needs a key but does not document 401")
    assert not problems, "\n".join(problems)


def test_keyed_routes_declare_the_api_key() -> None:
    doc = create_app().openapi()
    assert doc["components"]["securitySchemes"]["APIKeyHeader"] == {"type": "apiKey", "in": "header",
                                                                    "name": "X-API-Key",
                                                                    "description": "an organisation's API key"}
    for path, item in doc["paths"].items():
        for method, op in item.items():
            keyed = path.startswith(("/admin", "/departments", "/associations", "/counters", "/holders"))
            assert bool(op.get("security")) == keyed, f"{method} {path}"


def test_examples_are_valid_instances_of_their_models() -> None:
    import importlib
    import pkgutil

    import api.schemas
    from api.schemas.common import Model

    checked = 0
    for info in pkgutil.iter_modules(api.schemas.__path__):
        schemas = importlib.import_module(f"api.schemas.{info.name}")
        for name in dir(schemas):
            model = getattr(schemas, name)
            if isinstance(model, type) and issubclass(model, Model) and model is not Model \
                    and model.__module__ == schemas.__name__:
                for example in (model.model_config.get("json_schema_extra") or {}).get("examples", []):
                    model.model_validate(example)
                    checked += 1
    assert checked >= 14
