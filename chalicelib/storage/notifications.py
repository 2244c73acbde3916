"""The notifications inbox, each user's unread counter, and the outbox of notices still to
be delivered to the user's channels.

Access patterns (see README):
- a user's notifications, newest first ... notifications: user_id, sk "<created key>#<id>"
  (Query, ScanIndexForward=False)
- a user's unread notifications, newest first ... notifications.unread (sparse):
  unread_user_id, sk — the attribute exists only while the notice is unread
- notices due for delivery, oldest due first ... notifications.outbox (sparse):
  outbox_pk "OUTBOX#<shard>", outbox_due <= now key — both exist only while delivery is pending
- a user's unread count ... notification_counters: user_id (one item, `unread`)

Items expire through TTL (`expires_epoch`, 90 days); TTL is lazy, so a read may still
see an older item, which is harmless for an inbox.

A notification's id carries its creation key (`ntf_<20 digits of the key><16 hex>`), so
marking one read is an UpdateItem on its full key: no index lookup, no eventual
consistency between "it arrived" and "I can mark it".
"""
import re
import secrets

from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.storage import shards
from chalicelib.storage.base import table

OUTBOX_PK = "OUTBOX"
_ID = re.compile(r"ntf_(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{6})[0-9a-f]{16}")


class UnreadNotifications(GlobalSecondaryIndex):
    """Sparse: unread_user_id exists only while the notice is unread."""

    class Meta:
        index_name = "unread"
        projection = AllProjection()

    unread_user_id = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class NotificationOutbox(GlobalSecondaryIndex):
    """Sparse: outbox_pk and outbox_due exist only while delivery is pending. The driver
    re-reads the notice itself, so the index carries keys only."""

    class Meta:
        index_name = "outbox"
        projection = KeysOnlyProjection()

    outbox_pk = UnicodeAttribute(hash_key=True)
    outbox_due = UnicodeAttribute(range_key=True)  # clock.to_key of the next try


@table("notifications", ttl_attribute="expires_epoch")
class NotificationModel(Model):
    class Meta:
        table_name = "notifications"

    user_id = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)  # "<clock.to_key(created)>#<id>": sorts by time
    id = UnicodeAttribute()
    kind = UnicodeAttribute()
    text = UnicodeAttribute()
    order_id = UnicodeAttribute(null=True)
    service_id = UnicodeAttribute(null=True)
    read = BooleanAttribute(default=False)
    created_at = UnicodeAttribute()  # clock.to_key
    expires_epoch = NumberAttribute()
    unread_user_id = UnicodeAttribute(null=True)
    outbox_pk = UnicodeAttribute(null=True)
    outbox_due = UnicodeAttribute(null=True)
    delivery_attempts = NumberAttribute(null=True)
    delivery_error = UnicodeAttribute(null=True)
    delivered_at = UnicodeAttribute(null=True)
    delivery = UnicodeAttribute(null=True)  # delivered | parked
    webhook_sent_at = UnicodeAttribute(null=True)  # a retry does not send it again
    email_sent_at = UnicodeAttribute(null=True)

    unread = UnreadNotifications()
    outbox = NotificationOutbox()


@table("notification_counters")
class UnreadCounterModel(Model):
    """How many of a user's notifications are unread: raised in the transaction that
    writes a notice, lowered in the one that marks it read, never below zero."""

    class Meta:
        table_name = "notification_counters"

    user_id = UnicodeAttribute(hash_key=True)
    unread = NumberAttribute(default=0)


def outbox_partition(notification_id: str) -> str:
    """The outbox index's partition key of a notice due for delivery: `OUTBOX#<shard>`."""
    return shards.key(OUTBOX_PK, notification_id)


def sort_key(created_key: str, notification_id: str) -> str:
    """`<created key>#<id>`: a user's notifications sort by time."""
    return f"{created_key}#{notification_id}"


def new_notification_id(created_key: str) -> str:
    """An unguessable id that names its own item: the digits of the creation key, then
    64 random bits."""
    return "ntf_" + re.sub(r"\D", "", created_key) + secrets.token_hex(8)


def sort_key_of(notification_id: str) -> str | None:
    """The range key of a notification from its id; None for anything not shaped like one."""
    m = _ID.fullmatch(notification_id or "")
    if m is None:
        return None
    y, mo, d, h, mi, s, us = m.groups()
    return sort_key(f"{y}-{mo}-{d}T{h}:{mi}:{s}.{us}Z", notification_id)


def add_writes(tx, notices: list[NotificationModel]) -> None:
    """Add each notice's Put and its recipient's counter Update to `tx` (a named
    `storage.base.transaction()`: "notification" and "unread_counter").

    A transaction may touch an item once, so two notices to one user in the same
    transaction raise that user's counter once, by two.
    """
    per_user: dict[str, int] = {}
    for notice in notices:
        # A fresh id: a Put that replaced an existing notice would count it twice.
        tx.save("notification", notice, condition=NotificationModel.sk.does_not_exist())
        per_user[notice.user_id] = per_user.get(notice.user_id, 0) + 1
    for user_id, n in per_user.items():
        tx.update("unread_counter", UnreadCounterModel(user_id),
                  actions=[UnreadCounterModel.unread.add(n)])


def notification_id_in(sk: str) -> str:
    """The notification id a range key (`sort_key`) ends with."""
    return sk.rsplit("#", 1)[-1]
