"""The notifications inbox: writing one notification, and reading a user's own inbox.

`notify` is called by other use cases after their transition has committed; it is a
single PutItem and never raises, because a lost notice must not undo or fail the work
that caused it. Callers who want the notice atomic with their change add
`notification_put(...)` to their own TransactWrite instead.
"""
import logging
from datetime import datetime

from chalicelib import clock, ids
from chalicelib.storage.notifications import NotificationModel, sort_key

log = logging.getLogger("market.notifications")

RETENTION_SECONDS = 90 * 24 * 3600
TEXT_MAX = 500


def _clean_kind(kind) -> str:
    # An unknown kind from a newer caller is stored as given; only a missing or absurd
    # one becomes "other", so a bad kind can never make notify() fail.
    if isinstance(kind, str) and 0 < len(kind) <= 64 and kind.replace("_", "").isalnum():
        return kind
    return "other"


def notification_put(user_id: str, kind: str, *, order_id: str | None = None,
                     service_id: str | None = None, text: str, now: datetime) -> NotificationModel:
    """An unsaved notification: `tx.save(notification_put(...))` makes it part of a transaction."""
    notification_id = ids.new_id("ntf")
    created = clock.to_key(now)
    return NotificationModel(
        user_id, sort_key(created, notification_id), id=notification_id, kind=_clean_kind(kind),
        text=str(text or "")[:TEXT_MAX], order_id=order_id or None,
        service_id=service_id or None, read=False, created_at=created,
        expires_epoch=int(now.timestamp()) + RETENTION_SECONDS,
    )


def notify(user_id: str, kind: str, *, order_id: str | None = None,
           service_id: str | None = None, text: str, now: datetime) -> dict | None:
    """Write one notification for `user_id`; best-effort, never raises (None if lost)."""
    try:
        if not user_id:
            return None
        item = notification_put(user_id, kind, order_id=order_id, service_id=service_id,
                                text=text, now=now)
        item.save()
        return present(item)
    except Exception:  # a notice must never fail the transition behind it
        log.exception("could not notify %s of %s", user_id, kind)
        return None


def list_notifications(caller, *, limit: int, start_key) -> tuple[list[dict], dict | None]:
    """The caller's own notifications, newest first, one page."""
    result = NotificationModel.query(caller.user_id, scan_index_forward=False, limit=limit,
                                     last_evaluated_key=start_key)
    items = [present(n) for n in result]
    return items, result.last_evaluated_key


def present(item: NotificationModel) -> dict:
    return {
        "id": item.id,
        "kind": item.kind,
        "text": item.text,
        "order_id": item.order_id,
        "service_id": item.service_id,
        "read": bool(item.read),
        "created_at": clock.key_to_iso(item.created_at),
    }
