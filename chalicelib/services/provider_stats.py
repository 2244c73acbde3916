"""A provider's order record (`stats` on the public profile): completed and on-time
orders, the refund, dispute and cancel rates of its paid orders that closed, disputes
lost, the median time to accept, and its repeat buyers (回头客).

Every counter moves in the transaction of the order move that changes it: the engine
asks `move_writes` for this module's part of each commit. Never counted by a query:
reading the record is one GetItem. The repeat-buyer count needs to know whether a pay
is the buyer's second with this provider, so a pay reads the pair's item and its write
is conditioned on what it read: of two pays of the same pair at once, one is refused
(named PAIR) and the engine decides again, so the buyer is counted once.
"""
from datetime import datetime

from pynamodb.exceptions import DoesNotExist

from chalicelib import clock
from chalicelib.domain import orders as life
from chalicelib.domain import provider_stats as record
from chalicelib.domain import reviews as review_rules
from chalicelib.storage.catalog import ProviderModel
from chalicelib.storage.orders import OrderModel
from chalicelib.storage.reviews import ProviderStatsModel, pair_key

S = ProviderStatsModel
PAIR = "provider_stats_pair"  # the refusal name the engine retries on


def move_writes(order: OrderModel, outcome: life.Outcome, now: datetime, params: dict, *,
                refunds: int) -> list:
    """The provider-stats writes one order move adds to its transaction (callables of
    tx): `refunds`, the fen this move instructs to refund."""
    paid_at = now if life.FUND in outcome.effects else (
        clock.from_key(order.paid_at) if order.paid_at else None)
    refunded = refunds > 0 or int(order.escrow_refunded or 0) > 0 \
        or int(order.escrow_instructed or 0) > 0
    deltas = record.move_deltas(from_status=outcome.from_status, to_status=outcome.to,
                                paid_at=paid_at, now=now, ever_disputed=bool(order.dispute),
                                refunded=refunded, fault=params.get("fault"))
    if outcome.to == life.COMPLETED and outcome.from_status != life.COMPLETED:
        first = order.first_delivered_at or order.delivered_at  # before the field existed
        deltas["completed_orders"] += 1
        deltas["on_time_orders"] += 1 if review_rules.delivered_on_time(
            clock.from_key(first) if first else None, clock.from_key(order.due_at)) else 0
    writes = []
    if life.FUND in outcome.effects:
        writes.append(_pair_write(order, deltas))
    deltas = +deltas
    if deltas:
        # ADD creates the item on the provider's first counted move.
        writes.append(lambda tx: tx.update("provider_stats", S(order.provider_id), actions=[
            getattr(S, name).add(value) for name, value in sorted(deltas.items())]))
    return writes


def first_reply_write(provider_id: str, seconds: float):
    """The write that counts an inquiry's first reply in the provider's reply-time
    histogram: a callable of tx, for the transaction that records the first reply."""
    name = record.reply_bucket_name(record.accept_bucket(seconds))
    return lambda tx: tx.update("provider_stats", S(provider_id),
                                actions=[getattr(S, name).add(1)])


def _pair_write(order: OrderModel, deltas):
    try:
        pair = S.get(pair_key(order.provider_id, order.buyer_id), consistent_read=True)
        paid = int(pair.paid_orders or 0)
    except DoesNotExist:
        paid = 0
    if paid == 1:
        deltas["repeat_buyers"] += 1  # this pay is the buyer's second: a repeat buyer now
    # As read: a pay of the same pair that committed since makes this one decide again.
    condition = S.paid_orders.does_not_exist() if paid == 0 else S.paid_orders == paid
    return lambda tx: tx.update(PAIR, S(pair_key(order.provider_id, order.buyer_id)),
                                actions=[S.paid_orders.add(1)], condition=condition)


def stats_of(profile: ProviderModel) -> dict:
    """The `stats` of a provider's public profile."""
    try:
        item = S.get(profile.user_id)
    except DoesNotExist:
        item = S(profile.user_id)

    def n(name: str) -> int:
        return int(getattr(item, name) or 0)

    completed, on_time, closed = n("completed_orders"), n("on_time_orders"), n("closed_paid")
    buckets = [n(record.bucket_name(i)) for i in range(len(record.ACCEPT_BUCKETS))]
    replies = [n(record.reply_bucket_name(i)) for i in range(len(record.ACCEPT_BUCKETS))]
    return {"completed_orders": completed, "on_time_orders": on_time,
            "on_time_rate": review_rules.on_time_rate(on_time, completed),
            "ratings": {"good": int(profile.ratings_good or 0),
                        "neutral": int(profile.ratings_neutral or 0),
                        "bad": int(profile.ratings_bad or 0)},
            "closed_paid_orders": closed,
            "refund_rate": record.rate(n("closed_refunded"), closed),
            "dispute_rate": record.rate(n("closed_disputed"), closed),
            "cancel_rate": record.rate(n("closed_cancelled"), closed),
            "disputes_lost": n("disputes_lost"),
            "median_accept_seconds": record.median_seconds(buckets),
            "median_reply_seconds": record.median_seconds(replies),
            "repeat_buyers": n("repeat_buyers")}
