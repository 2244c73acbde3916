"""A user's outgoing channels: setting and reading the webhook and e-mail address,
confirming an address through a mailed link before anything is mailed to it, and
checking that a webhook may be called (at setting time and again before each POST, which
then connects to the address checked: what a name resolves to can change)."""
import base64
import hashlib
import hmac
import logging
import secrets
import socket
from datetime import datetime, timedelta
from urllib.parse import urlencode, urlsplit

from pynamodb.exceptions import UpdateError

from chalicelib import clock, settings
from chalicelib.domain import channels as channel_rules
from chalicelib.domain.errors import Conflict, NotFound, ValidationFailed
from chalicelib.services.mail import DeliveryFailed, Mailer
from chalicelib.storage.channels import ChannelsModel

log = logging.getLogger("market.channels")
_UNSET = object()
VERIFY_PATH = channel_rules.VERIFY_PATH


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (a seam the tests replace)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({info[4][0] for info in infos})


def webhook_problem(url: str, *, local: bool | None = None) -> str | None:
    """Why the webhook may not be called now (None: it may)."""
    return checked_address(url, local=local)[0]


def checked_address(url: str, *, local: bool | None = None) -> tuple[str | None, str | None]:
    """(why the webhook may not be called now, None) or (None, the address it resolved to
    that the POST must connect to). Connecting to that very address, not the name again,
    is what keeps a second lookup (DNS rebinding) from reaching an address never checked."""
    local = settings.get().stage == "local" if local is None else local
    problem = channel_rules.webhook_url_problem(url, local=local)
    if problem:
        return problem, None
    parts = urlsplit(url)
    try:
        addresses = resolve(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    except (OSError, UnicodeError):
        return "has a host that does not resolve", None
    if not addresses:
        return "has a host that does not resolve", None
    for address in addresses:
        problem = channel_rules.address_problem(address, local=local)
        if problem:
            return problem, None
    return None, addresses[0]


def load(user_id: str) -> ChannelsModel | None:
    try:
        return ChannelsModel.get(user_id, consistent_read=True)
    except ChannelsModel.DoesNotExist:
        return None


def get_channels(caller) -> dict:
    """The caller's channels (never the webhook's secret)."""
    return present(load(caller.user_id))


def set_channels(caller, *, webhook_url=_UNSET, email=_UNSET, now: datetime,
                 link_base: str = "", mailer=None) -> dict:
    """Set or clear (None) the webhook and the e-mail address; a new webhook answers its
    signing secret, once; an address not yet confirmed is sent a confirmation link
    (`link_base` + the verify route)."""
    problems = []
    if webhook_url not in (_UNSET, None):
        problem = webhook_problem(webhook_url)
        if problem:
            problems.append({"field": "webhook_url", "problem": problem})
    if email not in (_UNSET, None):
        problem = channel_rules.email_problem(email)
        if problem:
            problems.append({"field": "email", "problem": problem})
    if problems:
        raise ValidationFailed("some fields are invalid", errors=problems)
    current = load(caller.user_id)
    before = current.webhook_url if current else None
    token = None
    M = ChannelsModel
    actions = [M.updated_at.set(clock.to_key(now))]
    secret = None
    if webhook_url is None:
        actions += [M.webhook_url.remove(), M.webhook_secret.remove()]
    elif webhook_url is not _UNSET and webhook_url != before:
        secret = secrets.token_hex(32)
        actions += [M.webhook_url.set(webhook_url), M.webhook_secret.set(secret)]
    if email is None:
        actions += [M.email.remove(), *_unverified()]
    elif email is not _UNSET and not (current and current.email == email
                                      and email_is_verified(current)):
        # A new address, or the same one still unconfirmed (a new link, the old one void).
        token = secrets.token_urlsafe(32)
        expires = now + timedelta(seconds=settings.get().email_verify_seconds)
        actions += [M.email.set(email), M.email_verified_at.remove(),
                    M.email_token_hash.set(_token_hash(token)),
                    M.email_token_expires.set(clock.to_key(expires))]
    # Only if the webhook is still what was read: two requests setting different hooks at
    # once must not leave one of them holding a secret that is no longer stored.
    condition = M.webhook_url.does_not_exist() if before is None else M.webhook_url == before
    item = M(caller.user_id)
    try:
        item.update(actions=actions, condition=condition)
    except UpdateError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise
        raise Conflict("the channels changed meanwhile; read them and try again") from None
    if token is not None:
        _send_link(mailer or Mailer(), email, _link_token(caller.user_id, token), link_base,
                   now)
    out = present(item)
    if secret is not None:
        out["webhook_secret"] = secret
    return out


def verify_email(token: str, now: datetime) -> dict:
    """Confirm the address a link was sent to: the token authenticates (single-use,
    expiring, void once the address changed); answers the confirmed address."""
    user_id, _, secret = token.partition(".")
    try:
        user_id = base64.urlsafe_b64decode(user_id + "=" * (-len(user_id) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        raise NotFound(_LINK_UNKNOWN) from None
    current = load(user_id) if user_id and secret else None
    if (current is None or not current.email_token_hash
            or not hmac.compare_digest(current.email_token_hash, _token_hash(secret))
            or (current.email_token_expires or "") <= clock.to_key(now)):
        raise NotFound(_LINK_UNKNOWN)
    M = ChannelsModel
    try:
        # On the token as read: a second click, or an address changed meanwhile (a new
        # token), confirms nothing.
        current.update(actions=[M.email_verified_at.set(clock.to_key(now)),
                                M.email_token_hash.remove(), M.email_token_expires.remove()],
                       condition=M.email_token_hash == current.email_token_hash)
    except UpdateError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise
        raise NotFound(_LINK_UNKNOWN) from None
    return {"email": current.email, "email_verified": True}


def email_is_verified(item: ChannelsModel | None) -> bool:
    """Whether notices may be mailed to the item's address."""
    return bool(item and item.email and item.email_verified_at)


def present(item: ChannelsModel | None) -> dict:
    return {"webhook_url": item.webhook_url if item else None,
            "email": item.email if item else None,
            "email_verified": email_is_verified(item)}


_LINK_UNKNOWN = "this confirmation link is unknown, already used, expired or replaced"


def _unverified() -> list:
    M = ChannelsModel
    return [M.email_verified_at.remove(), M.email_token_hash.remove(),
            M.email_token_expires.remove()]


def _token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _link_token(user_id: str, secret: str) -> str:
    """`<user id, base64url>.<secret>`: the link names whose address it confirms, so the
    verify route can read that one item; the secret is what proves it."""
    return base64.urlsafe_b64encode(user_id.encode()).decode().rstrip("=") + "." + secret


def _send_link(mailer, email: str, token: str, link_base: str, now: datetime) -> None:
    link = f"{link_base.rstrip('/')}{VERIFY_PATH}?{urlencode({'token': token})}"
    try:
        mailer.send(email, "请确认您的通知邮箱", "请打开下面的链接，确认这个地址接收服务市场的通知：\n\n"
                    f"{link}\n\n如果不是您本人操作，请忽略这封邮件。\n",
                    name=f"{clock.to_key(now).replace(':', '')}-verify-{token[-12:]}")
    except DeliveryFailed as error:
        # The address is stored unconfirmed either way: setting it again sends a new link.
        log.warning("could not send the e-mail confirmation link: %s", error)
