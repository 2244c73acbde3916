"""How a route is declared and served.

`@route(bp, "/services", "POST", response=answers.SERVICE, auth=USER, body=SERVICE_CREATE,
status=201)` registers a Chalice route and records a `RouteSpec`. The same spec drives, for every request:
authentication, Idempotency-Key handling, body/query validation, error mapping — and
the OpenAPI document (`chalicelib.api.openapi`). A view receives a `Request` and
returns a dict (answered as JSON with the spec's status) or a chalice `Response`.
"""
import json
import logging
import re
import time
from dataclasses import dataclass, field

from chalice import Response

from chalicelib import clock, lazy, observability
from chalicelib import settings as settings_module
from chalicelib.api import auth, errors
from chalicelib.api.pagination import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor
from chalicelib.api.schema import Field, Int, Str, validate
from chalicelib.domain.actors import Caller
from chalicelib.domain.errors import (DomainError, Forbidden, InvalidRequest, PayloadTooLarge,
                                      ServiceUnavailable, Unauthenticated)
from chalicelib.storage.base import is_rejected_query, is_transient

# Loaded by the first write that sends an Idempotency-Key (chalicelib/lazy.py).
idempotency = lazy.module("chalicelib.services.idempotency")

log = logging.getLogger("market.api")

PUBLIC, OPTIONAL, USER, OPERATOR = "public", "optional", "user", "operator"
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
JSON = "application/json"
MAX_BODY_DEPTH = 32

# Query parameters shared by every list route.
LIMIT = Int(minimum=1, maximum=MAX_LIMIT, required=False, description="page size (default 20)")
CURSOR = Str(1, 2048, required=False, description="next_cursor of the previous page")
PAGING = {"limit": LIMIT, "cursor": CURSOR}


@dataclass
class RouteSpec:
    path: str
    method: str
    name: str
    auth: str
    summary: str
    status: int
    body: Field | None
    query: dict[str, Field]
    response: Field | None
    content_types: list[str]
    tag: str
    local_only: bool = False
    errors: list[str] = field(default_factory=list)
    answers: str = "application/json"  # the media type of the success answer


ROUTES: list[RouteSpec] = []


@dataclass
class Request:
    caller: Caller | None
    body: dict | None
    query: dict
    params: dict
    headers: dict
    raw_body: bytes
    content_type: str
    now: object  # datetime, read once per request from the app clock
    # `<caller>#<Idempotency-Key>@<window start>` of a write sent with a key, else None
    # (idempotency.Claim.request_key). Writes record it, so a retry whose first commit
    # landed but lost its answer is recognised, and nothing of an older window is.
    request_key: str | None = None

    def paging(self, scope: str = "") -> tuple[int, object]:
        return self.query.get("limit") or DEFAULT_LIMIT, decode_cursor(self.query.get("cursor"), scope)


def route(bp, path: str, method: str, *, auth: str = USER, body: Field | None = None,
          query: dict[str, Field] | None = None, status: int = 200, summary: str = "",
          response: Field | None = None, content_types: list[str] | None = None,
          tag: str = "", local_only: bool = False, errors_: list[str] | None = None,
          answers: str = JSON):
    def decorator(fn):
        spec = RouteSpec(path, method, fn.__name__, auth, summary or (fn.__doc__ or "").strip(),
                         status, body, query or {}, response, content_types or [JSON],
                         tag or path.strip("/").split("/")[0], local_only, errors_ or [],
                         answers)
        ROUTES.append(spec)

        def view(**params):
            started = time.perf_counter()
            response = serve(bp.current_request, spec, fn, params)
            observability.log_request(bp.current_request, spec, response, started)
            return response

        view.__name__ = fn.__name__
        bp.route(path, methods=[method], content_types=spec.content_types, name=fn.__name__)(view)
        return fn

    return decorator


def serve(request, spec: RouteSpec, fn, params: dict) -> Response:
    headers = {k.lower(): v for k, v in (request.headers or {}).items()}
    raw_body = request.raw_body or b""
    caller = None
    claim = None
    try:
        if len(raw_body) > settings_module.get().max_body_bytes:
            raise PayloadTooLarge(max_bytes=settings_module.get().max_body_bytes)
        caller = _authenticate(spec, headers)
        key = headers.get("idempotency-key")
        if key is not None and spec.method in WRITE_METHODS:
            idempotency.check_key(key)
            who = caller.user_id if caller else "anonymous"
            print_ = idempotency.fingerprint(spec.method, _actual_path(spec.path, params), raw_body)
            # The app's clock decides the 24 h window, as it decides every other deadline.
            claimed = idempotency.claim(who, key, print_, clock.now().timestamp())
            stored = claimed.replay
            if stored is not None:
                return Response(body=stored.body, status_code=stored.status,
                                headers={**stored.headers, "Idempotent-Replayed": "true"})
            claim = claimed
        # Read after the claim, so a key reused with another body is always named as
        # such; a refused body gives the claim back below (is_input_refusal).
        req = Request(caller=caller, body=_parse_body(spec, raw_body, headers),
                      query=_parse_query(spec, request.query_params or {}), params=params,
                      headers=headers, raw_body=raw_body,
                      content_type=headers.get("content-type", ""), now=clock.now(),
                      request_key=claim.request_key if claim else None)
        response = _to_response(fn(req), spec.status)
    except DomainError as error:
        response = errors.from_domain(error)
        if claim and idempotency.is_input_refusal(error.status, error.code):
            # Refused before the API began to act (an unknown id, a field the service
            # judged invalid): not the key's answer to keep.
            _forget_quietly(claim)
            return response
    except Exception as error:  # the one place that turns a bug into a clean 500
        if (request.query_params or {}).get("cursor") and is_rejected_query(error):
            # A well-formed start key that does not fit the query's key schema (signed,
            # so only whoever holds the stage's secret could have made it): the client's
            # error. The same query without a cursor still fails loudly if it is ours.
            response = errors.from_domain(InvalidRequest("the cursor is invalid", field="cursor"))
        elif is_transient(error):
            log.warning("%s %s: storage unavailable: %r", spec.method, spec.path, error)
            response = errors.from_domain(ServiceUnavailable())
        else:
            log.exception("unhandled error in %s %s", spec.method, spec.path)
            if claim:
                _release_quietly(claim)
            return errors.error_response("INTERNAL_ERROR", 500,
                                         "an internal error occurred; it has been logged")
    if claim and response.status_code >= 500:
        # "Try again later" is not the request's answer: the retry must run it again.
        _release_quietly(claim)
        return response
    if claim:
        try:
            idempotency.complete(claim, idempotency.StoredResponse(
                response.status_code, _body_text(response), dict(response.headers or {})))
        except Exception:  # the work is done; a lost record only risks a retry 409
            log.exception("could not record idempotent response")
    return response


def _actual_path(template: str, params: dict) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: str(params.get(m.group(1), "")), template)


def _authenticate(spec: RouteSpec, headers: dict) -> Caller | None:
    if spec.auth == PUBLIC:
        return _optional_caller(headers)
    if spec.auth == OPTIONAL:
        return auth.caller_from_headers(headers)
    caller = auth.caller_from_headers(headers)
    if caller is None:
        raise Unauthenticated()
    if spec.auth == OPERATOR and not caller.is_operator:
        raise Forbidden("operators only")
    return caller


def _optional_caller(headers: dict) -> Caller | None:
    # A public route ignores a bad token rather than refusing the anonymous answer.
    try:
        return auth.caller_from_headers(headers)
    except DomainError:
        return None


def _parse_body(spec: RouteSpec, raw: bytes, headers: dict):
    if spec.body is None:
        return None
    if not raw.strip():
        data = {}
    else:
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise InvalidRequest("the body is not valid UTF-8 JSON")
        except RecursionError:
            raise InvalidRequest("the body is nested too deeply")
        # A body the parser just managed (near the recursion limit) would overflow the
        # stack in whatever walks it next; no contract body is more than a few levels deep.
        if _nested_deeper_than(data, MAX_BODY_DEPTH):
            raise InvalidRequest("the body is nested too deeply", max_depth=MAX_BODY_DEPTH)
        try:
            # JSON may escape a lone surrogate (\ud800) that no UTF-8 store or answer can
            # hold: refuse it here rather than fail deep in DynamoDB or in the response.
            errors.dumps(data).encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidRequest("the body is not valid UTF-8 JSON")
    return validate(spec.body, data)


def _nested_deeper_than(data, limit: int) -> bool:
    """Whether arrays and objects nest more than `limit` levels (without recursing)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (dict, list)):
            if depth > limit:
                return True
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children)
    return False


def _parse_query(spec: RouteSpec, raw: dict) -> dict:
    data = {}
    for name, value in raw.items():
        field_ = spec.query.get(name)
        if isinstance(field_, Int) and isinstance(value, str) and re.fullmatch(r"-?\d{1,13}", value):
            value = int(value)
        data[name] = value
    unknown = [n for n in data if n not in spec.query]
    for n in unknown:  # ignore unknown query parameters, as browsers and proxies add some
        data.pop(n)
    cleaned = validate(_QueryObj(spec.query), data) if spec.query else {}
    return {k: v for k, v in (cleaned or {}).items() if v is not None}


class _QueryObj(Field):
    def __init__(self, fields):
        super().__init__()
        self.fields = fields

    def clean(self, value, path, problems):
        return {k: f.clean(value[k], k, problems) for k, f in self.fields.items() if k in value}


def _to_response(result, status: int) -> Response:
    if isinstance(result, Response):
        return result
    return Response(body=errors.dumps(result), status_code=status,
                    headers=dict(errors.JSON_HEADERS))


def _body_text(response: Response) -> str:
    body = response.body
    if isinstance(body, bytes):
        return body.decode("utf-8", "replace")
    return body if isinstance(body, str) else errors.dumps(body)


def _forget_quietly(claim) -> None:
    try:
        idempotency.forget(claim)
    except Exception:  # the key then stays held until its in-progress window ends
        log.exception("could not give back idempotency claim")


def _release_quietly(claim) -> None:
    try:
        idempotency.release(claim)
    except Exception:
        log.exception("could not release idempotency claim")
