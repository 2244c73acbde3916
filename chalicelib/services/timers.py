"""The timers an order has pending, applied by the `sweep_timeouts` job.

An order with a pending timer carries `timer_pk`/`timer_due` (the earliest timer), which
puts it in the sparse `due_timers` index; the sweep queries that index up to now and
hands each order id to `apply_due_timers`. That function re-reads the order (the index
is eventually consistent and may be stale) and, from the base item, fires what is due:
- `pay_by` → cancelled; `accept_by` → expired with a full refund (both through the
  order engine's transition, conditioned on status and version);
- `late_cancel_from` → the order is marked cancellable and the buyer told; the buyer
  decides, the sweep never cancels;
- `auto_approve_at` (自动验收) → the current step is approved as the buyer would, with
  the same conditional transition, so a buyer's revision request or a dispute racing it
  has exactly one winner; both parties are reminded 24 h before;
- `review_until` → the order leaves the index and the buyer's review, if any, is
  unsealed into the public lists (reviews themselves check the window);
- `refund_answer_by` (退款超时) → the buyer's open refund request is accepted as the
  provider would (actor `system`), conditional on it still being the open proposal, so a
  provider answering at the same moment has exactly one winner; the provider is reminded
  24 h before. `proposal_expires_at` → any other open proposal lapses (`expired`);
- `reminder:<deadline>` → one notice to whoever must act, 24 h before the deadline,
  recorded in `reminders_sent` by the same conditional write that moves the index key,
  so it is sent once however many sweeps run.

Disputes: entering `disputed` stops the order's own timers; only a settlement offer's
`proposal_expires_at` stays indexed (it lapses; nothing is granted while disputed), and
`evidence_until` is shown but never fired (evidence is refused by the clock). A
resolution is terminal; a withdrawal by the opener returns the order to the state it
left and restarts its relative windows from that moment (the contract's "restarted
from now", not the time that was left), re-indexing it in the same transition.
"""
import logging
from datetime import datetime

from pynamodb.exceptions import UpdateError

from chalicelib import clock
from chalicelib.domain import orders as life
from chalicelib.domain.errors import NotFound
from chalicelib.services import notifications, orders, reviews
from chalicelib.services.orders import proposals
from chalicelib.storage import shards
from chalicelib.storage.base import condition_failed
from chalicelib.storage.orders import (TIMER_PK, OrderModel, is_retry_key, timer_due_bound,
                                       timer_due_key)

log = logging.getLogger("market.timers")

MOVED, SKIPPED = "moved", "skipped"

# Deadline → each (who is told, notice kind, what it says; {hours} = lead time).
_REMINDERS = {
    "pay_by": [("buyer", "reminder_pay", "订单将在{hours}小时后因未付款自动关闭，请尽快付款")],
    "accept_by": [("provider", "reminder_accept",
                   "订单将在{hours}小时后因未确认自动失效并全额退款，请尽快接单")],
    "late_cancel_from": [("provider", "reminder_late",
                          "订单已超过交付期限，{hours}小时后买家即可取消订单并退款，请尽快交付")],
    "auto_approve_at": [
        ("buyer", "reminder_auto_approve",
         "交付将在{hours}小时后自动验收通过并结算给服务商；如需修改或有异议，请在此之前处理"),
        ("provider", "reminder_auto_approve", "交付将在{hours}小时后自动验收通过"),
    ],
    "refund_answer_by": [("provider", "reminder_refund_answer",
                          "买家的退款申请将在{hours}小时后自动同意并退款，请尽快处理")],
}
_SYSTEM_ACTIONS = {
    "pay_by": orders.close_unpaid,
    "accept_by": orders.expire_unaccepted,
    "late_cancel_from": orders.mark_late_cancel_eligible,
    "auto_approve_at": orders.auto_approve,
    # 退款超时 grants a buyer's refund request; any other proposal lapses (`expired`).
    "refund_answer_by": proposals.end_due_proposal,
    "proposal_expires_at": proposals.end_due_proposal,
}


def due_orders(now: datetime, *, limit: int, start_key=None):
    """One page of (order id, index key) whose earliest timer is due, earliest first, the
    next page's start key and how many index items DynamoDB read for it."""
    # Only the keys are read: the order itself is re-read consistently before any
    # decision, and an item with bad data cannot break the page for the others.
    found, next_key, read = shards.query(
        OrderModel.due_timers, TIMER_PK, OrderModel.timer_due <= timer_due_bound(clock.to_key(now)),
        limit=limit, start_key=start_key, first=shards.turn(now),
        attributes_to_get=["id", "timer_due"])
    return [(o.id, o.timer_due) for o in found], next_key, read


def apply_due_timers(order_id: str, now: datetime) -> str:
    """Fire every timer of this order that is due at `now`; `moved` if anything fired."""
    try:
        order = orders.load(order_id)
    except NotFound:
        return SKIPPED
    due = [t for t in _pending(order) if t.at <= now]
    deadlines_due = {t.name for t in due if t.name == t.deadline}
    fired = False
    for timer in due:
        if timer.name == timer.deadline:
            fired |= _fire_deadline(order, timer, now)
        elif timer.deadline not in deadlines_due:
            # A reminder whose deadline is also due would arrive after the fact: skip it.
            fired |= _remind(order, timer, now)
    if not fired and not due:
        _reindex(order)
    return MOVED if fired else SKIPPED


def defer(order_id: str, found_key: str, retry_at: datetime | None) -> bool:
    """Push a failing order back in the index until `retry_at`, or out of it (parked);
    False when the order had already moved on from the key the sweep found.

    Conditioned on that key, so a user's transition that re-indexed the order meanwhile
    is never undone.
    """
    if retry_at is None:
        actions = [OrderModel.timer_pk.remove(), OrderModel.timer_due.remove()]
    else:
        actions = [OrderModel.timer_due.set(timer_due_key(clock.to_key(retry_at), order_id,
                                                          retry=True))]
    try:
        OrderModel(order_id).update(actions=actions, condition=OrderModel.timer_due == found_key)
    except UpdateError as error:
        if not condition_failed(error):
            raise
        return False
    return True


def was_retry(found_key: str) -> bool:
    return is_retry_key(found_key)


def _pending(order: OrderModel) -> list[life.Timer]:
    inputs = orders.timer_inputs(order)
    status = inputs.pop("status")
    return life.pending_timers(status, windows=orders.windows(), **inputs)


def _fire_deadline(order: OrderModel, timer: life.Timer, now: datetime) -> bool:
    if timer.name == "review_until":
        return reviews.close_review_window(order)
    moved = _SYSTEM_ACTIONS[timer.name](order.id, now)
    if moved is None:
        return False  # somebody acted first, or a second sweep got there: nothing to do
    if timer.name == "late_cancel_from":
        notifications.notify(order.buyer_id, "late_cancel_eligible", order_id=order.id,
                             service_id=order.service_id, now=now,
                             text=f"{order.service.title}：已超过交付期限15天仍未验收终稿，"
                                  "您现在可以取消订单并获得退款")
    return True


def _remind(order: OrderModel, timer: life.Timer, now: datetime) -> bool:
    sent = list(order.reminders_sent or []) + [timer.name]
    try:
        # The same state and version as read (so a reminder never follows a move it did
        # not see), and not yet sent: of two sweeps at once exactly one sends it. The
        # version is not bumped, so a user acting now never fails because of a reminder.
        order.update(actions=[OrderModel.reminders_sent.set(sent), *_index_actions(
                         order, reminders_sent=sent)],
                     condition=(OrderModel.status == order.status)
                     & (OrderModel.version == int(order.version))
                     & ~OrderModel.reminders_sent.contains(timer.name))
    except UpdateError as error:
        if condition_failed(error):
            return False
        raise
    hours = max(1, round(orders.windows().reminder_before.total_seconds() / 3600))
    for who, kind, text in _REMINDERS[timer.deadline]:
        user = order.buyer_id if who == "buyer" else order.provider_id
        notifications.notify(user, kind, order_id=order.id, service_id=order.service_id,
                             text=f"{order.service.title}：{text.format(hours=hours)}", now=now)
    return True


def _index_actions(order: OrderModel, **changes) -> list:
    return orders.timer_actions(order.id, orders.timer_inputs(order, **changes))


def _reindex(order: OrderModel) -> None:
    """Nothing was due: make the base item's index key match its real next timer."""
    timer = life.next_timer(order.status, windows=orders.windows(),
                            **{k: v for k, v in orders.timer_inputs(order).items()
                               if k != "status"})
    expected = timer_due_key(clock.to_key(timer.at), order.id) if timer else None
    if expected == order.timer_due:
        return
    current = (OrderModel.timer_due == order.timer_due if order.timer_due
               else OrderModel.timer_due.does_not_exist())
    try:
        order.update(actions=_index_actions(order),
                     condition=(OrderModel.version == int(order.version)) & current)
    except UpdateError as error:
        if not condition_failed(error):
            raise
