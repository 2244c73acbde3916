"""The one mapping from failures to the contract's error shape:
`{"error": {"code", "message", "details"}}`."""
import json

from chalice import Response

from chalicelib.domain.errors import DomainError

JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8"}


def dumps(payload) -> str:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def error_response(code: str, status: int, message: str, details: dict | None = None) -> Response:
    body = {"error": {"code": code, "message": message, "details": details or {}}}
    return Response(body=dumps(body), status_code=status, headers=dict(JSON_HEADERS))


def from_domain(error: DomainError) -> Response:
    response = error_response(error.code, error.status, error.message, error.details)
    retry_after = getattr(error, "retry_after_seconds", None)
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


# Chalice answers some requests itself (before our view runs) in its own shape;
# these are rewritten by the middleware into ours.
_CHALICE_CODES = {
    400: ("INVALID_REQUEST", "the request is malformed"),
    403: ("NOT_FOUND", "no such route"),
    404: ("NOT_FOUND", "no such route"),
    405: ("METHOD_NOT_ALLOWED", "method not allowed on this route"),
    413: ("PAYLOAD_TOO_LARGE", "the request body is too large"),
    415: ("UNSUPPORTED_MEDIA_TYPE", "unsupported Content-Type"),
    500: ("INTERNAL_ERROR", "an internal error occurred; it has been logged"),
}


def normalise(response: Response) -> Response:
    """Rewrite a response that is not in our error shape (Chalice's own) into it."""
    if response.status_code < 400:
        return response
    body = response.body
    if isinstance(body, (bytes, str)):
        try:
            body = json.loads(body)
        except ValueError:
            body = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return response
    code, message = _CHALICE_CODES.get(response.status_code, ("ERROR", "the request failed"))
    status = 404 if response.status_code == 403 else response.status_code
    if isinstance(body, dict) and body.get("Message") and status not in (404, 500):
        message = str(body["Message"])[:200]
    return error_response(code, status, message)
