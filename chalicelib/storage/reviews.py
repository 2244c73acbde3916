"""Reviews and the provider's order record: the trust side of the market.

One review item per (order, author side), so "once per side" is a key, not a check.

Access patterns (see README):
- both reviews of an order ............ reviews: order_id (range author_role buyer|provider)
- a service's public reviews, newest .. reviews.by_public_service: public_service_id, created_at (sparse)
- a provider's public reviews, newest . reviews.by_public_provider: public_provider_id, created_at (sparse)
- a provider's order record ........... provider_stats: provider_id
- a buyer's paid orders with a provider  provider_stats: <provider>#BUYER#<buyer>
- a pair's monthly credit caps ......... reviews: CAP#<YYYY-MM>#<buyer>#<provider> (range: the
                                         author's role), counters `cap_plus` / `cap_minus`

Reviews are blind: a buyer's review carries the two public_* keys (and so enters the
public lists) only once it may be read — when the provider has reviewed too, or the
review window has closed. The write that makes it readable sets them.
"""
from pynamodb.attributes import (BooleanAttribute, MapAttribute, NumberAttribute,
                                 UnicodeAttribute)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.domain.provider_stats import ACCEPT_BUCKETS, bucket_name, reply_bucket_name
from chalicelib.storage.base import table


class ReviewsByPublicService(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_public_service"
        projection = AllProjection()

    public_service_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class ReviewsByPublicProvider(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_public_provider"
        projection = AllProjection()

    public_provider_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class Reply(MapAttribute):
    """The reviewed party's one answer to a review (or the buyer's one follow-up)."""

    body = UnicodeAttribute()
    at = UnicodeAttribute()  # clock.to_key


@table("reviews")
class ReviewModel(Model):
    class Meta:
        table_name = "reviews"

    order_id = UnicodeAttribute(hash_key=True)
    author_role = UnicodeAttribute(range_key=True)  # buyer | provider
    author_id = UnicodeAttribute()
    subject_id = UnicodeAttribute()  # the reviewed party's user id
    service_id = UnicodeAttribute()
    rating = UnicodeAttribute()  # good | neutral | bad
    comment = UnicodeAttribute(default="")
    created_at = UnicodeAttribute()  # clock.to_key
    reply = Reply(null=True)
    public_service_id = UnicodeAttribute(null=True)  # buyer reviews, once readable
    public_provider_id = UnicodeAttribute(null=True)
    # Whether the review moved credit (honest counting); absent on reviews from before
    # the caps, which all counted.
    counted = BooleanAttribute(null=True)
    follow_up = Reply(null=True)  # 追评: the buyer's one addition to its own review
    hidden = BooleanAttribute(null=True)  # an operator hid the text (its credit stays)
    hidden_reason = UnicodeAttribute(null=True)
    # The monthly cap counters live on items of their own in this table (see the access
    # patterns): points of counted reviews, by sign.
    cap_plus = NumberAttribute(null=True)
    cap_minus = NumberAttribute(null=True)

    by_public_service = ReviewsByPublicService()
    by_public_provider = ReviewsByPublicProvider()


def cap_key(month: str, buyer_id: str, provider_id: str) -> str:
    """The hash key of a buyer-provider pair's credit caps for one month."""
    return f"CAP#{month}#{buyer_id}#{provider_id}"


@table("provider_stats")
class ProviderStatsModel(Model):
    """Counters the order engine ADDs to in the transaction that completes an order. A
    table of its own, not the profile: ADD creates the item on the first completion and
    can never leave a half-made provider profile behind."""

    class Meta:
        table_name = "provider_stats"

    provider_id = UnicodeAttribute(hash_key=True)
    completed_orders = NumberAttribute(default=0)
    on_time_orders = NumberAttribute(default=0)  # first delivered by due_at
    # Paid orders that closed, and how many of them had a refund, a dispute, or were
    # cancelled (domain.provider_stats); disputes resolved with fault `provider`.
    closed_paid = NumberAttribute(null=True)
    closed_refunded = NumberAttribute(null=True)
    closed_disputed = NumberAttribute(null=True)
    closed_cancelled = NumberAttribute(null=True)
    disputes_lost = NumberAttribute(null=True)
    repeat_buyers = NumberAttribute(null=True)  # buyers with two or more paid orders
    # The histogram of seconds from paid to accepted: accept_b00 .. accept_b12.
    # And of seconds from an inquiry to the provider's first reply: reply_b00 .. reply_b12.
    for _i in range(len(ACCEPT_BUCKETS)):
        locals()[bucket_name(_i)] = NumberAttribute(null=True)
        locals()[reply_bucket_name(_i)] = NumberAttribute(null=True)
    del _i
    # On a pair item (key: pair_key), the buyer's paid orders with this provider.
    paid_orders = NumberAttribute(null=True)


def pair_key(provider_id: str, buyer_id: str) -> str:
    """The provider_stats key of one buyer's record with one provider (for 回头客)."""
    return f"{provider_id}#BUYER#{buyer_id}"
