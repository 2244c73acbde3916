"""Inquiries (询单) and their messages.

Access patterns (see README):
- one inquiry ............................ inquiries: id
- a buyer's inquiries, latest activity first ..... inquiries.by_buyer (GSI): buyer_id, last_key
- a provider's inquiries, latest activity first .. inquiries.by_provider (GSI): provider_id, last_key
- an inquiry's messages, oldest first .... inquiry_messages: inquiry_id, sent_key "<at>#<id>"

`last_key` ("<at key>#<inquiry id>") moves with every message, so an inbox lists the
conversation that spoke last on top. `first_reply_at` is set once, by the provider's
first message (if_not_exists in the same write as the message), and never moves again.
"""
from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.storage.base import table


def last_key(at_key: str, inquiry_id: str) -> str:
    return f"{at_key}#{inquiry_id}"


class InquiriesByBuyer(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_buyer"
        projection = AllProjection()

    buyer_id = UnicodeAttribute(hash_key=True)
    last_key = UnicodeAttribute(range_key=True)


class InquiriesByProvider(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_provider"
        projection = AllProjection()

    provider_id = UnicodeAttribute(hash_key=True)
    last_key = UnicodeAttribute(range_key=True)


@table("inquiries")
class InquiryModel(Model):
    class Meta:
        table_name = "inquiries"

    id = UnicodeAttribute(hash_key=True)
    service_id = UnicodeAttribute()
    service_title = UnicodeAttribute()
    buyer_id = UnicodeAttribute()
    provider_id = UnicodeAttribute()
    created_at = UnicodeAttribute()  # clock.to_key
    updated_at = UnicodeAttribute()
    last_key = UnicodeAttribute()
    message_count = NumberAttribute(default=0)
    # The provider's first message: what reply-time statistics read.
    first_reply_at = UnicodeAttribute(null=True)
    # The latest custom offer's order, once the provider made one.
    order_id = UnicodeAttribute(null=True)
    # The latest contract the provider offered instead (a draft it signed).
    contract_id = UnicodeAttribute(null=True)

    by_buyer = InquiriesByBuyer()
    by_provider = InquiriesByProvider()


@table("inquiry_messages")
class InquiryMessageModel(Model):
    class Meta:
        table_name = "inquiry_messages"

    inquiry_id = UnicodeAttribute(hash_key=True)
    sent_key = UnicodeAttribute(range_key=True)  # "<clock.to_key(at)>#<id>"
    id = UnicodeAttribute()
    author_id = UnicodeAttribute()
    role = UnicodeAttribute()  # buyer | provider
    body = UnicodeAttribute()
    at = UnicodeAttribute()
