"""CORS: browsers on other origins (the web console on a CDN, a partner's page) may call
every route.

Chalice's own `cors=True` answers preflights with a mock integration in API Gateway that
can only name one fixed origin; we want the allowed list from `CORS_ALLOWED_ORIGINS`
(any origin in the local stage, but only localhost pages for its `/_local/*` routes). So
the Lambda answers the preflight itself: an `OPTIONS` route is added for every path
(`add_preflight_routes`, called last in app.py so that every blueprint's paths are
covered without anyone remembering to), and a middleware puts the answer headers on
everything the app returns, errors included.
API Gateway's own errors carry them through its gateway responses (deploy/template.py);
the local HTTP server adds them to the errors it answers itself.
"""
import re

from chalice import Response

from chalicelib import settings as settings_module

ALLOWED_HEADERS = ("Authorization", "Content-Type", "Idempotency-Key")
EXPOSED_HEADERS = ("Idempotent-Replayed", "Retry-After")
# A browser caches a preflight this long (Chromium caps it at 2 hours).
MAX_AGE_SECONDS = 7200
# The local stage's own routes mint operator tokens and move the clock: a page on any
# other site the developer visits must not be able to call them.
LOCAL_ROUTES_PREFIX = "/_local/"
_LOCALHOST_ORIGIN = re.compile(r"http://(localhost|127\.0\.0\.1)(:\d{1,5})?")


def allowed_origin(origin: str | None, cfg=None, path: str = "") -> str | None:
    """What Access-Control-Allow-Origin should say to a request from `origin` for `path`,
    or None."""
    cfg = cfg or settings_module.get()
    allowed = cfg.cors_allowed_origins
    if path.startswith(LOCAL_ROUTES_PREFIX):
        return origin if origin and _LOCALHOST_ORIGIN.fullmatch(origin) else None
    if cfg.is_local or "*" in allowed:
        # The request's own origin rather than "*": the answer is the same either way
        # for a bearer token, and an echo keeps working if credentials are ever sent.
        return origin or "*"
    if origin and origin.rstrip("/") in allowed:
        return origin
    return None


def answer_headers(origin: str | None, cfg=None, path: str = "") -> dict:
    """The CORS headers every answer to a request from `origin` for `path` carries."""
    headers = {"Vary": "Origin"}
    value = allowed_origin(origin, cfg, path)
    if value:
        headers["Access-Control-Allow-Origin"] = value
        headers["Access-Control-Expose-Headers"] = ", ".join(EXPOSED_HEADERS)
    return headers


def add_to(response: Response, origin: str | None, path: str = "") -> Response:
    """Add the CORS headers unless the answer already has them."""
    headers = response.headers if response.headers is not None else {}
    present = {k.lower() for k in headers}
    for name, value in answer_headers(origin, path=path).items():
        if name.lower() == "vary" and "vary" in present:
            continue
        if name.lower() not in present:
            headers[name] = value
    response.headers = headers
    return response


def request_origin(headers) -> str | None:
    for name, value in (headers or {}).items():
        if name.lower() == "origin":
            return value
    return None


def install(app) -> None:
    """The middleware that gives every answer of the app its CORS headers."""
    @app.middleware("http")
    def cors_headers(event, get_response):
        return add_to(get_response(event), request_origin(event.headers), event.path or "")


def preflight_answer(origin: str | None, methods: list[str], path: str = "") -> Response:
    """204 with what the browser asked about; without an allowed origin, no Allow-* at all."""
    headers = answer_headers(origin, path=path)
    if "Access-Control-Allow-Origin" in headers:
        headers.update({
            "Access-Control-Allow-Methods": ", ".join(sorted({*methods, "OPTIONS"})),
            "Access-Control-Allow-Headers": ", ".join(ALLOWED_HEADERS),
            "Access-Control-Max-Age": str(MAX_AGE_SECONDS),
        })
    return Response(body="", status_code=204, headers=headers)


def add_preflight_routes(app) -> list[str]:
    """An OPTIONS route on every path registered so far; returns the paths it covered.

    Call it after every blueprint is registered: a path registered later has none.
    """
    covered = []
    for path, methods in list(app.routes.items()):
        if "OPTIONS" in methods:
            continue
        allowed = sorted(methods)

        def preflight(_allowed=allowed, _path=path, **params):
            return preflight_answer(request_origin(app.current_request.headers), _allowed,
                                    _path)

        name = "preflight_" + "".join(c if c.isalnum() else "_" for c in path).strip("_")
        # Any Content-Type: a preflight has no body, and a 415 would fail it.
        app.route(path, methods=["OPTIONS"], name=name or "preflight_root",
                  content_types=["*/*"])(preflight)
        covered.append(path)
    return covered
