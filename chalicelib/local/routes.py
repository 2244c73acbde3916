"""Routes that exist only in the local stage: tokens, the movable clock, sweeps now.
app.py registers this blueprint only when the stage is local."""
from chalice import Blueprint

from chalicelib import clock
from chalicelib.api import answers, auth
from chalicelib.api.routing import PUBLIC, route
from chalicelib.api.schema import Bool, DateTime, Enum, Int, ListOf, Obj, Str
from chalicelib.domain.errors import InvalidRequest
from chalicelib.jobs import registry

bp = Blueprint(__name__)

TOKEN_REQUEST = Obj({
    "sub": Str(1, 128, example="buyer-1"),
    "roles": ListOf(Enum(["operator"]), max_items=1, required=False),
}, name="LocalTokenRequest")

CLOCK_REQUEST = Obj({
    "advance_seconds": Int(minimum=0, maximum=10 * 365 * 24 * 3600, required=False),
    "now": DateTime(required=False),
    "reset": Bool(required=False),
}, name="LocalClockRequest")


@route(bp, "/_local/token", "POST",
       response=answers.TOKEN, auth=PUBLIC, body=TOKEN_REQUEST, local_only=True,
       tag="local")
def local_token(req):
    """Mint a signed token for any user (local stage only)."""
    if "#" in req.body["sub"]:
        raise InvalidRequest("sub must not contain '#'")
    return {"token": auth.issue_token(req.body["sub"], req.body.get("roles") or [])}


@route(bp, "/_local/clock", "POST",
       response=answers.CLOCK, auth=PUBLIC, body=CLOCK_REQUEST, local_only=True,
       tag="local")
def local_clock(req):
    """Move the app's clock forward, set it, or reset it to real time (local stage only)."""
    if req.body.get("reset"):
        clock.reset()
    if req.body.get("now") is not None:
        clock.set_now(req.body["now"])
    if req.body.get("advance_seconds"):
        clock.advance(req.body["advance_seconds"])
    return {"now": clock.to_iso(clock.now())}


@route(bp, "/_local/sweeps", "POST",
       response=answers.SWEEPS, auth=PUBLIC, local_only=True, tag="local")
def local_sweeps(req):
    """Run every scheduled function once now (local stage only)."""
    return registry.run_all()
