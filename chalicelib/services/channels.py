"""A user's outgoing channels: setting and reading the webhook and e-mail address, and
checking that a webhook may be called (at setting time and again before each POST, since
what a name resolves to can change)."""
import secrets
import socket
from datetime import datetime
from urllib.parse import urlsplit

from pynamodb.exceptions import UpdateError

from chalicelib import clock, settings
from chalicelib.domain import channels as rules
from chalicelib.domain.errors import Conflict, ValidationFailed
from chalicelib.storage.channels import ChannelsModel

_UNSET = object()


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (a seam the tests replace)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({info[4][0] for info in infos})


def webhook_problem(url: str, *, local: bool | None = None) -> str | None:
    """Why the webhook may not be called now (None: it may)."""
    local = settings.get().stage == "local" if local is None else local
    problem = rules.webhook_url_problem(url, local=local)
    if problem:
        return problem
    parts = urlsplit(url)
    try:
        addresses = resolve(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    except (OSError, UnicodeError):
        return "has a host that does not resolve"
    if not addresses:
        return "has a host that does not resolve"
    for address in addresses:
        problem = rules.address_problem(address, local=local)
        if problem:
            return problem
    return None


def load(user_id: str) -> ChannelsModel | None:
    try:
        return ChannelsModel.get(user_id, consistent_read=True)
    except ChannelsModel.DoesNotExist:
        return None


def get_channels(caller) -> dict:
    """The caller's channels (never the webhook's secret)."""
    return present(load(caller.user_id))


def set_channels(caller, *, webhook_url=_UNSET, email=_UNSET, now: datetime) -> dict:
    """Set or clear (None) the webhook and the e-mail address; a new webhook answers its
    signing secret, once."""
    problems = []
    if webhook_url not in (_UNSET, None):
        problem = webhook_problem(webhook_url)
        if problem:
            problems.append({"field": "webhook_url", "problem": problem})
    if email not in (_UNSET, None):
        problem = rules.email_problem(email)
        if problem:
            problems.append({"field": "email", "problem": problem})
    if problems:
        raise ValidationFailed("some fields are invalid", errors=problems)
    current = load(caller.user_id)
    before = current.webhook_url if current else None
    M = ChannelsModel
    actions = [M.updated_at.set(clock.to_key(now))]
    secret = None
    if webhook_url is None:
        actions += [M.webhook_url.remove(), M.webhook_secret.remove()]
    elif webhook_url is not _UNSET and webhook_url != before:
        secret = secrets.token_hex(32)
        actions += [M.webhook_url.set(webhook_url), M.webhook_secret.set(secret)]
    if email is None:
        actions.append(M.email.remove())
    elif email is not _UNSET:
        actions.append(M.email.set(email))
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
    out = present(item)
    if secret is not None:
        out["webhook_secret"] = secret
    return out


def present(item: ChannelsModel | None) -> dict:
    return {"webhook_url": item.webhook_url if item else None,
            "email": item.email if item else None}
