"""Shared steps for the sweep tests: running a job, moving the clock, reading inboxes
and the raw order item the sweep works on."""
from chalicelib import clock
from chalicelib.storage.orders import OrderModel

DAY, HOUR = 24 * 3600, 3600


def sweep(api, name="sweep_timeouts") -> dict:
    return api.invoke(name).payload


def travel(seconds: float) -> None:
    clock.advance(seconds)


def status(api, order_id, user="buyer-1") -> str:
    return api.get(f"/orders/{order_id}", user=user).json["status"]


def kinds(api, user) -> list[str]:
    return [n["kind"] for n in api.get("/me/notifications?limit=100", user=user).json["items"]]


def index_key(order_id) -> str | None:
    return OrderModel.get(order_id, consistent_read=True).timer_due


def deadline(order_id: str, name: str):
    """When the order's pending deadline `name` fires, from the stored order."""
    from chalicelib.services.orders import order_deadlines

    return order_deadlines(OrderModel.get(order_id, consistent_read=True))[name]


def clock_at(order_id: str, name: str, offset_seconds: float) -> None:
    """Set the app clock `offset_seconds` from the order's deadline `name` (negative: before)."""
    from datetime import timedelta

    clock.set_now(deadline(order_id, name) + timedelta(seconds=offset_seconds))
