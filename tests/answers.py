"""Every answer the API test suite receives is checked against the schema its route
documents in GET /openapi.json (the same declarations, chalicelib/api/answers.py): a
presenter that adds, drops or changes a field without its declaration fails the test
that saw it."""
import re
from functools import lru_cache

import jsonschema

from chalicelib.api import openapi
from chalicelib.api.routing import ROUTES


class AnswerDrift(AssertionError):
    """An answer does not match its documented schema."""


@lru_cache(maxsize=1)
def _document() -> dict:
    return openapi.build(include_local=True)


@lru_cache(maxsize=None)
def _routes() -> list:
    table = []
    for spec in ROUTES:
        pattern = re.sub(r"\{\w+\}", "[^/]+", re.escape(spec.path).replace(r"\{", "{")
                         .replace(r"\}", "}"))
        # A literal segment wins over a parameter (/providers/me over /providers/{id}).
        table.append((spec.path.count("{"), re.compile(f"^{pattern}$"), spec))
    return sorted(table, key=lambda row: row[0])


def json_schema(schema: dict, components: dict) -> dict:
    """OpenAPI 3.0 (refs, nullable) as plain JSON Schema, refs resolved."""
    if "$ref" in schema:
        return json_schema(components[schema["$ref"].rsplit("/", 1)[1]], components)
    out = {}
    for key, value in schema.items():
        if key == "nullable":
            continue
        if key == "properties":
            out[key] = {k: json_schema(v, components) for k, v in value.items()}
        elif key == "items":
            out[key] = json_schema(value, components)
        elif key == "allOf":
            out[key] = [json_schema(v, components) for v in value]
        else:
            out[key] = value
    if schema.get("nullable"):
        return {"anyOf": [out, {"type": "null"}]}
    return out


# A route that answers text, not JSON (Alipay's notify expects the bare word "success").
TEXT_ANSWER = object()


@lru_cache(maxsize=None)
def _validator(method: str, template: str, status: int):
    op = _document()["paths"][template][method.lower()]
    content = op["responses"].get(str(status), {}).get("content")
    if not content:
        return None
    if "application/json" not in content:
        return TEXT_ANSWER
    schema = json_schema(content["application/json"]["schema"],
                         _document()["components"]["schemas"])
    return jsonschema.Draft7Validator(schema)


def check(method: str, path: str, status: int, body) -> None:
    """Raise AnswerDrift when a 2xx answer differs from its route's documented schema."""
    if not 200 <= status < 300 or method == "OPTIONS":
        return
    path = path.split("?", 1)[0]
    spec = next((s for _, rx, s in _routes() if s.method == method and rx.match(path)), None)
    if spec is None:
        return
    validator = _validator(method, spec.path, status)
    if validator is TEXT_ANSWER:
        return  # a gateway's plain-text answer ("success"): its tests read the text
    if validator is None:
        if body not in (None, b"", ""):
            raise AnswerDrift(f"{method} {spec.path} answered {status} with a body it "
                              "does not document")
        return
    problems = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
    if problems:
        lines = [f"{'/'.join(map(str, p.path)) or '(body)'}: {p.message}" for p in problems[:5]]
        raise AnswerDrift(f"{method} {spec.path} {status} differs from its documented "
                          "schema:\n  " + "\n  ".join(lines))
