"""Messages on an order and the files attached to them.

Access patterns (see README):
- one message (its id) ..................... messages: order_id, id
- an order's messages, oldest first ........ messages.by_time (LSI): order_id, sent_key "<at key>#<id>"
- one attachment ........................... attachments: order_id, file_id

The message id is derived from the request's Idempotency-Key when it has one (as a new
order's is), so a retry whose first answer was lost finds the message instead of
writing it twice; the conversation's order comes from the local index, which, unlike a
global one, can be read consistently: a message is listed the moment it is answered.
"""
from pynamodb.attributes import ListAttribute, MapAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, LocalSecondaryIndex
from pynamodb.models import Model

from chalicelib.storage.base import table


class MessagesByTime(LocalSecondaryIndex):
    class Meta:
        index_name = "by_time"
        projection = AllProjection()

    order_id = UnicodeAttribute(hash_key=True)
    sent_key = UnicodeAttribute(range_key=True)


class MessageFile(MapAttribute):
    """What a message shows of a file it carries (the bytes are pinned in S3)."""

    file_id = UnicodeAttribute()
    filename = UnicodeAttribute()
    content_type = UnicodeAttribute()
    size = NumberAttribute()


@table("messages")
class MessageModel(Model):
    class Meta:
        table_name = "messages"

    order_id = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)
    sent_key = UnicodeAttribute()  # "<clock.to_key(at)>#<id>": the conversation's order
    author_id = UnicodeAttribute()
    role = UnicodeAttribute()  # buyer | provider | operator
    body = UnicodeAttribute()
    files = ListAttribute(of=MessageFile, default=list)
    at = UnicodeAttribute()  # clock.to_key

    by_time = MessagesByTime()


@table("attachments")
class AttachmentModel(Model):
    """A file asked for by a party (or an operator) to attach to a message. Until a
    message carries it, it is the uploader's draft at `s3_key` (which the presigned
    upload may still overwrite); sending copies it to `pinned_key`, which no upload
    policy names, so what the conversation shows never changes."""

    class Meta:
        table_name = "attachments"

    order_id = UnicodeAttribute(hash_key=True)
    file_id = UnicodeAttribute(range_key=True)
    uploader_id = UnicodeAttribute()
    s3_key = UnicodeAttribute()
    filename = UnicodeAttribute()
    content_type = UnicodeAttribute()
    size = NumberAttribute()
    created_at = UnicodeAttribute()
    message_id = UnicodeAttribute(null=True)
    pinned_key = UnicodeAttribute(null=True)
    sent_at = UnicodeAttribute(null=True)


def sent_key(at_key: str, message_id: str) -> str:
    """`<sent key>#<id>`: an order's messages sort by time (the by_time index)."""
    return f"{at_key}#{message_id}"
