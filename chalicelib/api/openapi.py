"""The OpenAPI 3 document, generated from the same RouteSpecs and schemas that serve
and validate requests."""
import re

from chalicelib.api.routing import OPERATOR, PUBLIC, ROUTES, WRITE_METHODS, RouteSpec
from chalicelib.api.schema import Field, Free, ListOf, Obj

FORM = "application/x-www-form-urlencoded"
OCTET = "application/octet-stream"

# The error shape {"error": {"code", "message", "details"}}. Its names differ from its
# property: a schema `Error` with a property `error` makes generated clients declare a
# class and an attribute of one name (openapi-python-client's model fails mypy).
ERROR_BODY_SCHEMA = {
    "type": "object", "required": ["code", "message", "details"],
    "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                   "details": {"type": "object", "additionalProperties": True}},
}
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"$ref": "#/components/schemas/ErrorBody"}},
}


def build(include_local: bool) -> dict:
    paths: dict = {}
    components = {"ErrorAnswer": ERROR_SCHEMA, "ErrorBody": ERROR_BODY_SCHEMA}
    for spec in ROUTES:
        if spec.local_only and not include_local:
            continue
        paths.setdefault(spec.path, {})[spec.method.lower()] = _operation(spec, components)
    return {
        "openapi": "3.0.3",
        "info": {"title": "Service customization market API (服务定制市场)", "version": "1.0.0",
                 "description": (
                     "See docs/API.md (in the repository) for the contract in prose. "
                     "Every path also answers a CORS preflight (OPTIONS, 204); every answer carries "
                     "Access-Control-Allow-Origin for an allowed origin and exposes "
                     "Idempotent-Replayed and Retry-After. A service's logo_url is stable: "
                     "public, unsigned, the same on every request (cache it for a long "
                     "time); a new logo gets a new URL.")},
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "bearerFormat": "JWT"}},
            "schemas": dict(sorted(components.items())),
        },
    }


def answer_schema(field: Field, components: dict) -> dict:
    """The schema of an answer, each named object moved to `components` and referenced."""
    if isinstance(field, ListOf):
        out = {"type": "array", "items": answer_schema(field.item, components),
               "minItems": field.min_items, "maxItems": field.max_items}
    elif isinstance(field, Obj):
        out = {"type": "object",
               "properties": {k: answer_schema(f, components) for k, f in field.fields.items()},
               "additionalProperties": False}
        required = [k for k, f in field.fields.items() if f.required]
        if required:
            out["required"] = required
    else:
        out = field.schema()
        out.pop("nullable", None)
    if field.description and isinstance(field, (Obj, ListOf)):
        out["description"] = field.description
    name = getattr(field, "name", None)
    if name and isinstance(field, (Obj, Free)):
        if components.get(name, out) != out:
            raise ValueError(f"two different answer schemas are both named {name}")
        components[name] = out
        out = {"$ref": f"#/components/schemas/{name}"}
        # OpenAPI 3.0 ignores siblings of $ref: a nullable reference wraps it.
        return {"nullable": True, "allOf": [out]} if field.nullable else out
    if field.nullable:
        out["nullable"] = True
    return out


def _operation(spec: RouteSpec, components: dict) -> dict:
    op: dict = {"operationId": spec.name, "summary": spec.summary, "tags": [spec.tag]}
    params = [{"name": n, "in": "path", "required": True, "schema": {"type": "string",
                                                                     "minLength": 1}}
              for n in re.findall(r"\{(\w+)\}", spec.path)]
    params += [{"name": n, "in": "query", "required": False, "schema": f.schema()}
               for n, f in spec.query.items()]
    if spec.method in WRITE_METHODS:
        params.append({"name": "Idempotency-Key", "in": "header", "required": False,
                       "schema": {"type": "string", "minLength": 1, "maxLength": 255}})
    if params:
        op["parameters"] = params
    if spec.auth != PUBLIC:
        op["security"] = [{"bearer": []}]
    if spec.body is not None:
        # Required when the body has a required field; an empty {} body may be left out.
        required = any(f.required for f in getattr(spec.body, "fields", {}).values())
        op["requestBody"] = {"required": required, "content": {"application/json": {
            "schema": spec.body.schema()}}}
    elif spec.content_types == [FORM]:
        # A gateway's notification: its own fields, signed; see docs/api-additions.md.
        op["requestBody"] = {"required": True, "content": {FORM: {"schema": {
            "type": "object", "additionalProperties": {"type": "string"}}}}}
    elif spec.method in ("PUT",) and spec.content_types != ["application/json"]:
        raw = {"schema": {"type": "string", "format": "binary"}}
        # Generators know raw bodies only as application/octet-stream and skip an operation
        # with any other raw type listed: a route that takes octet-stream is documented
        # with that alone, the other types it takes named in the description.
        listed = [OCTET] if OCTET in spec.content_types else spec.content_types
        op["requestBody"] = {"required": True, "content": {ct: raw for ct in listed},
                             "description": "raw bytes; Content-Type one of "
                                            + ", ".join(spec.content_types)}
    ok_schema = (answer_schema(spec.response, components) if spec.response is not None
                 else {"type": "object"})
    if spec.answers != "application/json":
        ok_schema = {"type": "string"}
    if spec.errors:
        # The codes this route is known to answer, besides the shared ones.
        op["description"] = "Error codes: " + ", ".join(f"`{c}`" for c in spec.errors) + "."
    error = {"description": "error", "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/ErrorAnswer"}}}}
    if spec.status == 204:
        responses = {"204": {"description": "done; no body"}}
    else:
        responses = {str(spec.status): {"description": "success", "content": {
            spec.answers: {"schema": ok_schema}}}}
    for status in _error_statuses(spec):
        responses[str(status)] = error
    if spec.errors:
        # The codes this route is known to answer, besides the shared ones.
        op["description"] = "Error codes: " + ", ".join(f"`{c}`" for c in spec.errors) + "."
    # Any route may meet DynamoDB or S3 throttling or unreachable after botocore's retries.
    responses["503"] = {**error, "description": (
        "SERVICE_UNAVAILABLE: storage throttled or unreachable, or the identity provider's "
        "signing keys unreadable; retry after Retry-After seconds, with the same "
        "Idempotency-Key for a write"),
        "headers": {"Retry-After": {"schema": {"type": "integer", "minimum": 1}}}}
    op["responses"] = responses
    return op


def _error_statuses(spec: RouteSpec) -> list[int]:
    statuses = {400, 404}
    if spec.auth != PUBLIC:
        statuses |= {401, 403}
    if spec.auth == OPERATOR:
        statuses.add(403)
    if spec.body is not None or spec.query:
        statuses.add(422)
    if spec.method in WRITE_METHODS:
        statuses |= {409, 413, 415, 422}
    return sorted(statuses)
