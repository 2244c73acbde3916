"""The notifications inbox: writing notices, reading a user's own inbox, marking read.

Every notice is written with its recipient's unread counter raised in the same
TransactWrite, and marked read with the counter lowered in the same TransactWrite, so the
count is exact without ever counting on read. Each notice is also born due in the outbox
(services.outbox drains it to the user's channels), so the code that writes a notice
never needs to know where it goes next.

`notify` is called by other use cases after their transition has committed and never
raises, because a lost notice must not undo or fail the work that caused it. Callers who
want the notice atomic with their change build it with `notification_put(...)` and add it
to their own TransactWrite with `write_in(tx, [...])` (never `tx.save` alone: the counter
would drift).
"""
import logging
from datetime import datetime

from pynamodb.exceptions import TransactWriteError

from chalicelib import clock
from chalicelib.domain.errors import Conflict
from chalicelib.storage.base import transaction
from chalicelib.storage.notifications import (NotificationModel, UnreadCounterModel,
                                              add_writes, new_notification_id,
                                              outbox_partition, sort_key, sort_key_of)

log = logging.getLogger("market.notifications")

RETENTION_SECONDS = 90 * 24 * 3600
TEXT_MAX = 500
MARK_IDS_MAX = 100
# One transaction holds 100 actions: the notices of a batch and the counter.
_MARK_BATCH = 50
# POST /me/notifications/read {"all": true} stops after this many pages of the unread
# index (and says so with "more"), so one request's cost stays bounded.
MARK_ALL_PAGES = 5
_TRIES = 4


def _clean_kind(kind) -> str:
    # An unknown kind from a newer caller is stored as given; only a missing or absurd
    # one becomes "other", so a bad kind can never make notify() fail.
    if isinstance(kind, str) and 0 < len(kind) <= 64 and kind.replace("_", "").isalnum():
        return kind
    return "other"


def notification_put(user_id: str, kind: str, *, order_id: str | None = None,
                     service_id: str | None = None, text: str, now: datetime) -> NotificationModel:
    """An unsaved notification, unread and due for delivery; `write_in(tx, [it])` writes it."""
    created = clock.to_key(now)
    notification_id = new_notification_id(created)
    return NotificationModel(
        user_id, sort_key(created, notification_id), id=notification_id, kind=_clean_kind(kind),
        text=str(text or "")[:TEXT_MAX], order_id=order_id or None,
        service_id=service_id or None, read=False, created_at=created,
        expires_epoch=int(now.timestamp()) + RETENTION_SECONDS,
        unread_user_id=user_id, outbox_pk=outbox_partition(notification_id), outbox_due=created,
        delivery_attempts=0,
    )


def write_in(tx, notices: list[NotificationModel]) -> None:
    """Add the notices and their recipients' unread counters to the caller's transaction."""
    add_writes(tx, notices)


def notify(user_id: str, kind: str, *, order_id: str | None = None,
           service_id: str | None = None, text: str, now: datetime) -> dict | None:
    """Write one notification for `user_id`; best-effort, never raises (None if lost)."""
    try:
        if not user_id:
            return None
        item = notification_put(user_id, kind, order_id=order_id, service_id=service_id,
                                text=text, now=now)
        with transaction() as tx:
            write_in(tx, [item])
        return present(item)
    except Exception:  # a notice must never fail the transition behind it
        log.exception("could not notify %s of %s", user_id, kind)
        return None


def list_notifications(caller, *, limit: int, start_key,
                       unread_only: bool = False) -> tuple[list[dict], dict | None]:
    """The caller's own notifications (or only the unread ones), newest first, one page."""
    if unread_only:
        # The sparse index holds only unread notices: a page costs what it returns.
        result = NotificationModel.unread.query(caller.user_id, scan_index_forward=False,
                                                limit=limit, last_evaluated_key=start_key)
    else:
        result = NotificationModel.query(caller.user_id, scan_index_forward=False, limit=limit,
                                         last_evaluated_key=start_key)
    items = [present(n) for n in result]
    return items, result.last_evaluated_key


def unread_count(user_id: str) -> int:
    """The caller's unread count, from the counter item (one GetItem)."""
    try:
        counter = UnreadCounterModel.get(user_id, consistent_read=True)
    except UnreadCounterModel.DoesNotExist:
        return 0
    return max(0, int(counter.unread or 0))


def mark_read(caller, notification_ids: list[str]) -> dict:
    """Mark the caller's notifications read: {"marked": how many flipped, "unread"}."""
    sort_keys = []
    for notification_id in dict.fromkeys(notification_ids):
        sk = sort_key_of(notification_id)
        if sk is not None:  # not shaped like a notice id: names nothing of the caller's
            sort_keys.append(sk)
    marked = sum(_mark(caller.user_id, sort_keys[i:i + _MARK_BATCH])
                 for i in range(0, len(sort_keys), _MARK_BATCH))
    return {"marked": marked, "unread": unread_count(caller.user_id), "more": False}


def mark_all_read(caller) -> dict:
    """Mark every unread notification read, a bounded number of pages per call."""
    marked, start_key, pages = 0, None, 0
    while pages < MARK_ALL_PAGES:
        result = NotificationModel.unread.query(caller.user_id, limit=_MARK_BATCH,
                                                last_evaluated_key=start_key,
                                                attributes_to_get=["user_id", "sk"])
        sort_keys = [n.sk for n in result]
        start_key, pages = result.last_evaluated_key, pages + 1
        marked += _mark(caller.user_id, sort_keys)
        if not start_key:
            break
    return {"marked": marked, "unread": unread_count(caller.user_id),
            "more": bool(start_key)}


def _mark(user_id: str, sort_keys: list[str]) -> int:
    """Flip a batch to read and lower the counter by as many, in one transaction; how
    many flipped. A notice already read (or not the caller's) drops out of the batch."""
    clamp = False
    for _ in range(_TRIES * 2):
        if not sort_keys:
            return 0
        n = len(sort_keys)
        counter = UnreadCounterModel(user_id)
        tx = transaction()
        try:
            with tx:
                for sk in sort_keys:
                    # read == false: only the mark that flips it lowers the counter, so
                    # two marks of one notice at once count it once. It also fails for a
                    # key that names no item (another user's id), which must not count.
                    tx.update("notification", NotificationModel(user_id, sk),
                              actions=[NotificationModel.read.set(True),
                                       NotificationModel.unread_user_id.remove()],
                              condition=NotificationModel.read == False)  # noqa: E712
                if clamp:
                    # The counter says fewer than we flip (notices written before it
                    # existed): it goes to zero rather than below.
                    tx.update("counter", counter, actions=[UnreadCounterModel.unread.set(0)],
                              condition=(UnreadCounterModel.unread < n)
                              | UnreadCounterModel.unread.does_not_exist())
                else:
                    tx.update("counter", counter, actions=[UnreadCounterModel.unread.add(-n)],
                              condition=UnreadCounterModel.unread >= n)
            return n
        except TransactWriteError as error:
            refusal = tx.refusal(error)
            if not refusal.explained:
                raise
            refused = {sk for sk, failed in zip(sort_keys, refusal.failed_each("notification"))
                       if failed}
            if refused:
                sort_keys = [sk for sk in sort_keys if sk not in refused]
                continue
            if refusal.failed("counter"):
                clamp = not clamp  # the counter moved under us; the other branch holds now
                continue
            if refusal.conflict:
                continue
            raise
    raise Conflict("marking notifications read kept conflicting; try again")


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
