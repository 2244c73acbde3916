"""Draining the notification outbox to each user's channels (webhook, e-mail).

Every notice is written due (services.notifications); `deliver` reads the user's channels
at delivery time, POSTs the notice to the webhook signed with the webhook's secret and
mails it to a confirmed address, then takes it out of the outbox. A channel that fails
leaves the notice due again after `stuck.backoff` (the escrow instructions' rhythm),
parked for operators after `INSTRUCTION_MAX_ATTEMPTS` tries. Each channel that takes the
notice is recorded on it at once (`webhook_sent_at`, `email_sent_at`), so a retry — even
after a crash of ours — never sends it to that channel again; a receiver may still see
one twice (a crash between its 2xx and our record), so it should use the notice's `id`
to drop repeats.

Nothing here runs inside a request: a slow or failing receiver delays only this driver.
"""
import hashlib
import hmac
import http.client
import json
import logging
import socket
import ssl
from datetime import datetime
from urllib.parse import urlsplit

from pynamodb.exceptions import DoesNotExist, UpdateError

from chalicelib import clock, settings
from chalicelib.services import channels, notifications, stuck
from chalicelib.services.mail import DeliveryFailed, Mailer
from chalicelib.storage import shards
from chalicelib.storage.notifications import OUTBOX_PK, NotificationModel, notification_id_in

log = logging.getLogger("market.delivery")

WEBHOOK_TIMEOUT_SECONDS = 3
SIGNATURE_HEADER = "Market-Signature"
DELIVERED, PARKED, PENDING, SKIPPED = "delivered", "parked", "pending", "skipped"
_ERROR_MAX = 500


def due(now: datetime, *, limit: int, start_key=None):
    """One page of (user id, sort key) due for delivery, oldest due first, the next page's
    start key and how many index items DynamoDB read for it."""
    found, next_key, read = shards.query(
        NotificationModel.outbox, OUTBOX_PK, NotificationModel.outbox_due <= clock.to_key(now),
        limit=limit, start_key=start_key, first=shards.turn(now))
    return [(n.user_id, n.sk) for n in found], next_key, read


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The Market-Signature header value: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def deliver(user_id: str, sk: str, now: datetime, *, mailer=None) -> str:
    """Try one due notice on every channel of its user; what became of it."""
    try:
        notice = NotificationModel.get(user_id, sk, consistent_read=True)
    except DoesNotExist:
        return SKIPPED
    # The index is eventually consistent: the item decides whether it is still due.
    if notice.outbox_pk is None or (notice.outbox_due or "") > clock.to_key(now):
        return SKIPPED
    found_due = notice.outbox_due
    target = channels.load(user_id)
    errors = []
    body = json.dumps(_payload(notice), ensure_ascii=False, sort_keys=True).encode()
    M = NotificationModel
    if target is not None and target.webhook_url and not notice.webhook_sent_at:
        try:
            post_webhook(target.webhook_url, target.webhook_secret or "", body)
        except DeliveryFailed as error:
            errors.append(f"webhook: {error}")
        else:
            # Recorded now, before the next channel is tried: whatever becomes of the
            # e-mail (even a crash of ours), the webhook is never sent this notice again.
            if not _update(notice, [M.webhook_sent_at.set(clock.to_key(now))], found_due):
                return SKIPPED
    # Only a confirmed address (services.channels): mail to an address nobody proved
    # is theirs would be the platform spamming whoever was named.
    if target is not None and channels.email_is_verified(target) and not notice.email_sent_at:
        try:
            mail_notice(mailer or Mailer(), target.email, notice)
        except DeliveryFailed as error:
            errors.append(f"email: {error}")
        else:
            if not _update(notice, [M.email_sent_at.set(clock.to_key(now))], found_due):
                return SKIPPED
    if errors:
        return _retry_later(notice, found_due, "; ".join(errors), now)
    return _done(notice, found_due, now)


def _payload(notice: NotificationModel) -> dict:
    out = notifications.present(notice)
    out.pop("read", None)  # the inbox's state, not the event's
    return out


def _done(notice, found_due, now) -> str:
    M = NotificationModel
    actions = [M.outbox_pk.remove(), M.outbox_due.remove(), M.delivery.set(DELIVERED),
               M.delivered_at.set(clock.to_key(now)), M.delivery_error.remove()]
    _update(notice, actions, found_due)
    return DELIVERED


def _retry_later(notice, found_due, error: str, now) -> str:
    M = NotificationModel
    attempts = int(notice.delivery_attempts or 0) + 1
    actions = [M.delivery_attempts.set(attempts), M.delivery_error.set(error[:_ERROR_MAX])]
    if attempts >= settings.get().instruction_max_attempts:
        # Out of the outbox: a person must look at it (GET /admin/stuck lists it).
        actions += [M.outbox_pk.remove(), M.outbox_due.remove(), M.delivery.set(PARKED)]
        status = PARKED
    else:
        actions.append(M.outbox_due.set(clock.to_key(now + stuck.backoff(attempts))))
        status = PENDING
    if not _update(notice, actions, found_due):
        return SKIPPED
    return status


def _update(notice, actions, found_due) -> bool:
    """Apply only if the notice is still due where we found it: a concurrent run that
    handled it first must not be undone or counted twice. False if it was."""
    try:
        notice.update(actions=actions, condition=NotificationModel.outbox_due == found_due)
    except UpdateError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise
        return False
    return True


def defer(user_id: str, sk: str, retry_at: datetime | None) -> bool:
    """Push a notice whose handling crashed back (or out, None); False if not due."""
    M = NotificationModel
    if retry_at is None:
        actions = [M.outbox_pk.remove(), M.outbox_due.remove(), M.delivery.set(PARKED)]
    else:
        actions = [M.outbox_due.set(clock.to_key(retry_at))]
    try:
        M(user_id, sk).update(actions=actions, condition=M.outbox_pk.exists())
    except UpdateError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise
        return False
    return True


# --- the webhook ---------------------------------------------------------------
class _Pinned:
    """An http.client connection whose socket goes to one given IP address while
    everything else names the host: the Host header, and for https the SNI name and the
    certificate check (`server_hostname`, taken from `host` by HTTPSConnection)."""

    def __init__(self, host: str, port: int | None, *, address: str, **kwargs):
        super().__init__(host, port, **kwargs)
        # http.client opens its socket through this attribute (`(host, port)`, timeout,
        # source address); only the address it connects to changes.
        self._create_connection = (
            lambda where, *args: socket.create_connection((address, where[1]), *args))


class PinnedHTTPConnection(_Pinned, http.client.HTTPConnection):
    pass


class PinnedHTTPSConnection(_Pinned, http.client.HTTPSConnection):
    pass


def post_webhook(url: str, secret: str, body: bytes, *, signed_at: int | None = None) -> int:
    """POST the body, signed; its status if 2xx. Redirects are not followed."""
    # Checked again now, not only when it was set: what the name resolves to may have
    # changed since. And the connection goes to the address checked, not to the name:
    # a second lookup could answer another address (DNS rebinding to loopback).
    problem, address = channels.checked_address(url)
    if problem:
        raise DeliveryFailed(f"webhook_url {problem}")
    parts = urlsplit(url)
    timestamp = int(clock.real_now().timestamp()) if signed_at is None else signed_at
    if parts.scheme == "https":
        conn = PinnedHTTPSConnection(parts.hostname, parts.port, address=address,
                                     timeout=WEBHOOK_TIMEOUT_SECONDS,
                                     context=ssl.create_default_context())
    else:
        conn = PinnedHTTPConnection(parts.hostname, parts.port, address=address,
                                    timeout=WEBHOOK_TIMEOUT_SECONDS)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        conn.request("POST", path, body=body, headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "service-market-webhooks/1",
            SIGNATURE_HEADER: sign(secret, timestamp, body)})
        response = conn.getresponse()
        status = response.status
        response.read(1024)  # a little, so the connection closes cleanly; never all of it
    except (OSError, http.client.HTTPException) as error:
        raise DeliveryFailed(f"{type(error).__name__}: {error}") from None
    finally:
        conn.close()
    # http.client never follows a redirect; a 3xx is a failure like any non-2xx.
    if not 200 <= status < 300:
        raise DeliveryFailed(f"answered {status}")
    return status


# --- e-mail ----------------------------------------------------------------------
def mail_notice(mailer: Mailer, to: str, notice: NotificationModel) -> None:
    """E-mail one notice: its text (the Subject on one line) and its JSON."""
    payload = json.dumps(_payload(notice), ensure_ascii=False, indent=2, sort_keys=True)
    mailer.send(to, notice.text, f"{notice.text}\n\n{payload}\n",
                name=f"{notice.created_at.replace(':', '')}-{notice.id}",
                headers={"X-Market-Notification": notice.id})


def stuck_id(user_id: str, sk: str) -> str:
    """How the stuck list names a notice: its user and its id."""
    return f"{user_id}#{notification_id_in(sk)}"
