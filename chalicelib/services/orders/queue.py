"""The operators' view of orders: every order in one status, and the dispute queue."""
from datetime import datetime, timedelta

from chalicelib import clock, settings
from chalicelib.domain import orders as life
from chalicelib.services.orders.reading import present
from chalicelib.storage import status_shards
from chalicelib.storage.orders import OrderModel

# A queue is worked first in, first out; any other status is browsed newest first, as
# every other order list is.
OLDEST_FIRST = frozenset({life.DISPUTED})


def list_in_status(operator, status: str, *, limit: int, start_key,
                   now: datetime) -> tuple[list[dict], dict | None]:
    """Every order in `status` (operators): disputed ones oldest dispute first, each with
    its evidence window's end and whether it is overdue (null for other statuses)."""
    orders, next_key = status_shards.merged_page(OrderModel.by_status_shard, status, limit=limit,
                                                 start_key=start_key,
                                                 newest_first=status not in OLDEST_FIRST)
    return [_queue_item(o, operator, now) for o in orders], next_key


def _queue_item(order: OrderModel, operator, now: datetime) -> dict:
    item = present(order, operator)
    opened = (order.dispute.as_dict() if order.dispute else {}).get("at")
    if order.status != life.DISPUTED or not opened:
        return {**item, "evidence_until": None, "overdue": False}
    cfg = settings.get()
    seen = life.dispute_clock(clock.from_key(opened), now,
                              evidence=timedelta(seconds=cfg.evidence_seconds),
                              sla=timedelta(seconds=cfg.dispute_sla_seconds))
    return {**item, "evidence_until": clock.to_iso(seen["evidence_until"]),
            "overdue": seen["overdue"]}
