"""The caller's outgoing channels: where notifications go besides the inbox."""
from chalice import Blueprint

from chalicelib.api.routing import USER, route
from chalicelib.api.schema import Obj, Str
from chalicelib.domain import channels as rules
from chalicelib.services import channels

bp = Blueprint(__name__)

_URL = dict(description="https URL that receives each notification as a signed JSON POST; "
                        "null clears it", example="https://hooks.example.com/market")
SET_CHANNELS = Obj({
    "webhook_url": Str(1, rules.URL_MAX, required=False, nullable=True, **_URL),
    "email": Str(3, rules.EMAIL_MAX, required=False, nullable=True,
                 description="address that receives each notification; null clears it",
                 example="shop@example.com"),
}, name="ChannelsRequest")
CHANNELS = Obj({
    "webhook_url": Str(1, rules.URL_MAX, nullable=True),
    "email": Str(3, rules.EMAIL_MAX, nullable=True),
    "webhook_secret": Str(64, 64, required=False,
                          description="only when a new webhook was set, and only in this "
                                      "answer: the HMAC-SHA256 key of Market-Signature"),
}, name="Channels")


@route(bp, "/me/channels", "GET", auth=USER, response=CHANNELS, tag="notifications")
def my_channels(req):
    """Where the caller's notifications are delivered (the webhook's secret is never shown)."""
    return channels.get_channels(req.caller)


@route(bp, "/me/channels", "PUT", auth=USER, body=SET_CHANNELS, response=CHANNELS,
       tag="notifications")
def set_my_channels(req):
    """Set or clear (null) the webhook and the e-mail address."""
    return channels.set_channels(req.caller, now=req.now, **req.body)
