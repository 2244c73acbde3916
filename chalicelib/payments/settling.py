"""What the gateway says about a payment, settled exactly once: the one path for every
statement of the gateway — its notification (POST /payments/{gateway}/notify), the
reconciliation sweep's query answers, and a payment that succeeds at once at the
instant gateway (pay answers with it).

Whatever arrives — repeated, late, out of order, concurrent — `settle` is safe:
- a payment already paid or voided is left alone (its record's status is conditional);
- a verified statement of a payment this platform never started is recorded for
  operators;
- "closed" and "pending" only update the record;
- a succeeded payment is handed to the funder of what it pays for, registered by the
  module that owns it (services.orders for orders, services.contracts for a contract's
  deposit and bills), so this path imports none of them. A funder funds escrow through
  its aggregate's conditional move, refunds money that arrived for nothing, and
  marks the record paid.
"""
import logging
from datetime import datetime
from typing import Callable

from chalicelib import lazy, observability, payments
from chalicelib.domain.errors import InvalidRequest, NotFound
from chalicelib.payments import records
from chalicelib.storage.contracts import is_contract_money

log = logging.getLogger("market.payments")

# What settle did, for logs, metrics and the sweep's summary.
FUNDED, ALREADY, VOIDED, MISMATCH, UNKNOWN = "funded", "already", "voided", "mismatch", "unknown"
NOTED = "noted"  # pending or closed: recorded, nothing to move

ORDER, CONTRACT = "order", "contract"
# funder(payment record, trade, now, actor=, request_key=) → one of the outcomes above.
# `actor` and `request_key` are the paying request's when the gateway succeeded at once.
Funder = Callable[..., str]
FUNDERS: dict[str, Funder] = {}
# The module that registers each kind's funder when it is imported, imported here by name
# on first need: importing the app no longer imports it (chalicelib/lazy.py), and a cold
# container's first call may well be the gateway's notification or the reconciliation.
OWNERS = {ORDER: "chalicelib.services.orders.placing",
          CONTRACT: "chalicelib.services.contracts.payments"}


def register(kind: str, funder: Funder) -> None:
    """`funder` settles the succeeded payments of `kind` (ORDER or CONTRACT)."""
    FUNDERS[kind] = funder


def receive_notification(gateway_name: str, form: dict[str, str], now: datetime) -> str:
    """A gateway's asynchronous notification: verify it, settle it, and answer what the
    gateway expects. A notification that does not verify changes nothing (400)."""
    if gateway_name != payments.gateway_name():
        raise NotFound("no such payment gateway")
    gateway = payments.gateway()
    reader = getattr(gateway, "read_notification", None)
    if reader is None:
        raise NotFound("this gateway sends no notifications")
    try:
        trade = reader(form)
    except payments.NotificationRefused as refused:
        log.warning("refused a %s notification: %s", gateway_name, refused)
        observability.metric("PaymentNotificationsRefused", dimensions={"Gateway": gateway_name})
        raise InvalidRequest("the notification does not verify") from None
    if trade is not None:
        outcome = settle(trade, now)
        log.info("%s notification for %s (%s): %s", gateway_name, trade.order_id,
                 trade.raw_status, outcome)
    return gateway.notification_ack


def settle(trade: payments.TradeStatus, now: datetime, **paying) -> str:
    """Apply one verified statement of the gateway about a payment, exactly once.
    `paying`: the paying request's `actor` and `request_key`, when the gateway succeeded
    at once (an instant gateway) and the answer to that request comes from this."""
    payment = records.get(trade.order_id)
    if payment is None or not payment.order_id:
        # Verified, but not a payment this platform started: money nobody can place.
        if trade.status == payments.SUCCEEDED:
            records.record_problem(trade.order_id, "unknown_payment", {
                "gateway_ref": trade.ref, "amount": trade.amount,
                "gateway_status": trade.raw_status}, now)
        return UNKNOWN
    if payment.status in (records.PAID, records.VOIDED):
        if trade.status == payments.SUCCEEDED and trade.ref and payment.gateway_ref not in (
                None, trade.ref):
            records.record_problem(payment.id, "paid_twice", {
                "gateway_ref": trade.ref, "amount": trade.amount,
                "booked_gateway_ref": payment.gateway_ref}, now, order_id=payment.order_id)
        return ALREADY  # a repeated or late statement: the money moved once already
    if trade.status == payments.CLOSED:
        records.mark_closed(payment.id, trade, now)
        return NOTED
    if trade.status != payments.SUCCEEDED:
        return NOTED
    kind = CONTRACT if is_contract_money(payment.id) else ORDER
    return funder_of(kind)(payment, trade, now, **paying)


def funder_of(kind: str) -> Funder:
    return lazy.registered(FUNDERS, OWNERS, kind,
                           missing=f"no funder registered for {kind} payments")
