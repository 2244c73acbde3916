"""The notifications inbox: one partition per user, newest first by the range key.

Access patterns (see README):
- a user's notifications, newest first ... notifications: user_id, sk "<created key>#<id>"
  (Query, ScanIndexForward=False)
Items expire through TTL (`expires_epoch`, 90 days); TTL is lazy, so a read may still
see an older item, which is harmless for an inbox.
"""
from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib.storage.base import table


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


def sort_key(created_key: str, notification_id: str) -> str:
    """`<created key>#<id>`: a user's notifications sort by time."""
    return f"{created_key}#{notification_id}"
