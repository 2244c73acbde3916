"""Reviews and the provider's order record: the trust side of the market.

One review item per (order, author side), so "once per side" is a key, not a check.

Access patterns (see README):
- both reviews of an order ............ reviews: order_id (range author_role buyer|provider)
- a service's public reviews, newest .. reviews.by_public_service: public_service_id, created_at (sparse)
- a provider's public reviews, newest . reviews.by_public_provider: public_provider_id, created_at (sparse)
- a provider's completed orders ....... provider_stats: provider_id

Reviews are blind: a buyer's review carries the two public_* keys (and so enters the
public lists) only once it may be read — when the provider has reviewed too, or the
review window has closed. The write that makes it readable sets them.
"""
from pynamodb.attributes import MapAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

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
    """The provider's one answer to the buyer's review."""

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

    by_public_service = ReviewsByPublicService()
    by_public_provider = ReviewsByPublicProvider()


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
