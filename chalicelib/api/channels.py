"""The caller's outgoing channels: where notifications go besides the inbox."""
from chalice import Blueprint

from chalicelib import lazy
from chalicelib import settings
from chalicelib.api.routing import PUBLIC, USER, route
from chalicelib.api.schema import Bool, Obj, Str
from chalicelib.domain import channels as channel_rules
from chalicelib.domain.errors import ValidationFailed

channels = lazy.module("chalicelib.services.channels")

bp = Blueprint(__name__)

_URL = dict(description="https URL that receives each notification as a signed JSON POST; "
                        "null clears it", example="https://hooks.example.com/market")
SET_CHANNELS = Obj({
    "webhook_url": Str(1, channel_rules.URL_MAX, required=False, nullable=True, **_URL),
    "email": Str(3, channel_rules.EMAIL_MAX, required=False, nullable=True,
                 description="address that receives each notification; null clears it",
                 example="shop@example.com"),
}, name="ChannelsRequest")
CHANNELS = Obj({
    "webhook_url": Str(1, channel_rules.URL_MAX, nullable=True),
    "email": Str(3, channel_rules.EMAIL_MAX, nullable=True),
    "email_verified": Bool(description="true once the address's owner opened the "
                                       "confirmation link; notices are mailed only then"),
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
    """Set or clear (null) the webhook and the e-mail address; a new address is sent a
    confirmation link and used once confirmed."""
    return channels.set_channels(req.caller, now=req.now, link_base=_link_base(req),
                                 **req.body)


EMAIL_VERIFIED = Obj({
    "email": Str(3, channel_rules.EMAIL_MAX),
    "email_verified": Bool(),
}, name="EmailVerified")
VERIFY_QUERY = {"token": Str(1, 512, description="the token of the mailed confirmation link")}


@route(bp, channel_rules.VERIFY_PATH, "GET", auth=PUBLIC, query=VERIFY_QUERY,
       response=EMAIL_VERIFIED, tag="notifications", errors_=["NOT_FOUND"])
def verify_my_email(req):
    """Confirm an e-mail channel from its mailed link (the token authenticates; single-use,
    expiring); an unknown, used, expired or replaced link is 404 NOT_FOUND."""
    if "token" not in req.query:
        raise ValidationFailed("some fields are invalid",
                               errors=[{"field": "token", "problem": "is required"}])
    return channels.verify_email(req.query["token"], req.now)


def _link_base(req) -> str:
    """Where the confirmation link points: the API's public address when the stage knows
    it (PUBLIC_BASE_URL), else the host this request came to."""
    configured = settings.get().public_base_url
    if configured:
        return configured
    proto = req.headers.get("x-forwarded-proto", "http").split(",")[0].strip() or "http"
    return f"{proto}://{req.headers.get('host', 'localhost')}"
