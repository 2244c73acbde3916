"""The OpenAPI 3 document, generated from the same RouteSpecs and schemas that serve
and validate requests."""
import re

from chalicelib.api.routing import OPERATOR, PUBLIC, ROUTES, WRITE_METHODS, RouteSpec

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {
        "type": "object", "required": ["code", "message", "details"],
        "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                       "details": {"type": "object"}},
    }},
}


def build(include_local: bool) -> dict:
    paths: dict = {}
    schemas: dict = {"Error": ERROR_SCHEMA}
    for spec in ROUTES:
        if spec.local_only and not include_local:
            continue
        paths.setdefault(spec.path, {})[spec.method.lower()] = _operation(spec, schemas)
    return {
        "openapi": "3.0.3",
        "info": {"title": "Service customization market API (服务定制市场)", "version": "1.0.0",
                 "description": "See shared/API.md for the contract in prose."},
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "bearerFormat": "JWT"}},
            "schemas": schemas,
        },
    }


def _operation(spec: RouteSpec, schemas: dict) -> dict:
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
        op["requestBody"] = {"required": False, "content": {"application/json": {
            "schema": spec.body.schema()}}}
    elif spec.method in ("PUT",) and spec.content_types != ["application/json"]:
        op["requestBody"] = {"required": True, "content": {
            ct: {"schema": {"type": "string", "format": "binary"}} for ct in spec.content_types}}
    ok_schema = _response_schema(spec, schemas)
    error = {"description": "error", "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/Error"}}}}
    responses = {str(spec.status): {"description": "success",
                                    "content": {"application/json": {"schema": ok_schema}}}}
    for status in _error_statuses(spec):
        responses[str(status)] = error
    # Any route may meet DynamoDB or S3 throttling or unreachable after botocore's retries.
    responses["503"] = {**error, "description": (
        "SERVICE_UNAVAILABLE: storage throttled or unreachable; retry after Retry-After "
        "seconds, with the same Idempotency-Key for a write"),
        "headers": {"Retry-After": {"schema": {"type": "integer", "minimum": 1}}}}
    op["responses"] = responses
    return op


def _response_schema(spec: RouteSpec, schemas: dict) -> dict:
    """The success answer's schema; a named one is a component the operation refers to."""
    if spec.response is None:
        return {"type": "object"}
    name = getattr(spec.response, "name", None)
    if not name:
        return spec.response.schema()
    schemas[name] = spec.response.schema()
    return {"$ref": f"#/components/schemas/{name}"}


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
