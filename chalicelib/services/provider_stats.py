"""A provider's order record (`stats` on the public profile): completed orders and the
share first delivered by `due_at`, counted in the transaction that completes each order,
and the review counts the review transactions keep on the profile. Never counted by a
query: reading it is one GetItem."""
from pynamodb.exceptions import DoesNotExist

from chalicelib import clock
from chalicelib.domain import reviews as rules
from chalicelib.storage.catalog import ProviderModel
from chalicelib.storage.orders import OrderModel
from chalicelib.storage.reviews import ProviderStatsModel


def completion_write(order: OrderModel):
    """The write the completing transition adds to its transaction (a callable of tx)."""
    first = order.first_delivered_at or order.delivered_at  # orders delivered before the field
    on_time = rules.delivered_on_time(clock.from_key(first) if first else None,
                                      clock.from_key(order.due_at))
    S = ProviderStatsModel
    # ADD creates the item on the first completion; both counters move together.
    return lambda tx: tx.update("provider_stats", S(order.provider_id), actions=[
        S.completed_orders.add(1), S.on_time_orders.add(1 if on_time else 0)])


def stats_of(profile: ProviderModel) -> dict:
    """The `stats` of a provider's public profile."""
    try:
        record = ProviderStatsModel.get(profile.user_id)
    except DoesNotExist:
        record = ProviderStatsModel(profile.user_id)
    completed, on_time = int(record.completed_orders or 0), int(record.on_time_orders or 0)
    return {"completed_orders": completed, "on_time_orders": on_time,
            "on_time_rate": rules.on_time_rate(on_time, completed),
            "ratings": {"good": int(profile.ratings_good or 0),
                        "neutral": int(profile.ratings_neutral or 0),
                        "bad": int(profile.ratings_bad or 0)}}
