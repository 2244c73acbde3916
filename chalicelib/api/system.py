"""Health and the API's own description."""
from chalice import Blueprint

from chalicelib import clock, settings
from chalicelib.api import answers, openapi
from chalicelib.api.routing import PUBLIC, route

bp = Blueprint(__name__)


@route(bp, "/health", "GET", response=answers.HEALTH, auth=PUBLIC, tag="system")
def health(req):
    """Liveness check, and the app's clock."""
    return {"status": "ok", "now": clock.to_iso(clock.now()), "clock_moved": clock.is_moved()}


@route(bp, "/openapi.json", "GET", response=answers.OPENAPI, auth=PUBLIC, tag="system")
def openapi_document(req):
    """The OpenAPI 3 document of every route."""
    return openapi.build(include_local=settings.get().serves_local_routes)
