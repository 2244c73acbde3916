"""What the gateway says about a payment, settled exactly once: the one path for a
gateway's notification (POST /payments/{gateway}/notify) and for the reconciliation
sweep's query answers.

Whatever arrives — repeated, late, out of order, concurrent — `settle` is safe:
- a payment already paid or voided is left alone (its record's status is conditional);
- a confirmed amount that is not what was asked changes nothing and is recorded for
  operators;
- a confirmation of a payment that is no longer the order's (its plan or amount
  changed, or a newer payment opened) funds nothing and is refunded once;
- a confirmation funds escrow through the order's PAY transition (conditional on the
  order awaiting payment); if the order closed meanwhile the money is sent back
  (services.funding.void_late_payment);
- "closed" and "pending" only update the record.
"""
import logging
from datetime import datetime

from chalicelib import observability
from chalicelib.domain import orders as life
from chalicelib.domain.errors import InvalidRequest, InvalidTransition, NotFound
from chalicelib.services import funding, orders
from chalicelib import payments
from chalicelib.services.contracts import payments as contract_payments
from chalicelib.storage.contracts import is_contract_money

log = logging.getLogger("market.payments")

# What settle did, for logs, metrics and the sweep's summary.
FUNDED, ALREADY, VOIDED, MISMATCH, UNKNOWN = "funded", "already", "voided", "mismatch", "unknown"
NOTED = "noted"  # pending or closed: recorded, nothing to move


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


def settle(trade: payments.TradeStatus, now: datetime) -> str:
    """Apply one verified statement of the gateway about a payment, exactly once."""
    payment = funding.get(trade.order_id)
    if payment is None or not payment.order_id:
        # Verified, but not a payment this platform started: money nobody can place.
        if trade.status == payments.SUCCEEDED:
            funding.record_problem(trade.order_id, "unknown_payment", {
                "gateway_ref": trade.ref, "amount": trade.amount,
                "gateway_status": trade.raw_status}, now)
        return UNKNOWN
    if payment.status in (funding.PAID, funding.VOIDED):
        if trade.status == payments.SUCCEEDED and trade.ref and payment.gateway_ref not in (
                None, trade.ref):
            funding.record_problem(payment.id, "paid_twice", {
                "gateway_ref": trade.ref, "amount": trade.amount,
                "booked_gateway_ref": payment.gateway_ref}, now, order_id=payment.order_id)
        return ALREADY  # a repeated or late statement: the money moved once already
    if trade.status == payments.CLOSED:
        funding.mark_closed(payment.id, trade, now)
        return NOTED
    if trade.status != payments.SUCCEEDED:
        return NOTED
    if is_contract_money(payment.id):
        # A contract's deposit or bill: the same exactly-once rules, the contract's move.
        return contract_payments.settle(payment, trade, now)
    order = orders.load(payment.order_id)
    # What we asked the gateway for: an amount the gateway states otherwise is for a
    # person to look at. (One that is no longer the order's amount because the plan
    # changed is a superseded payment: confirm_funding refunds it.)
    asked = int(payment.amount) if payment.amount is not None else int(order.amount)
    if trade.amount != asked:
        funding.record_problem(payment.id, "amount_mismatch", {
            "gateway_ref": trade.ref, "gateway_amount": trade.amount,
            "order_amount": asked, "gateway_status": trade.raw_status},
            now, order_id=order.id)
        return MISMATCH
    try:
        funded = orders.confirm_funding(
            order.id, trade.ref, trade.amount, now, read=order, payment_id=payment.id,
            plan_version=int(payment.plan_version) if payment.plan_version is not None else None)
    except InvalidTransition:
        return VOIDED  # the order closed meanwhile: confirm_funding sent the money back
    if funded.status in life.CLOSED:
        return ALREADY  # voided by a concurrent statement of the same payment
    funding.mark_paid(payment.id, trade, now)
    observability.metric("PaymentsSettled", dimensions={"Gateway": payment.gateway})
    observability.money_moved(life.FUND, trade.amount)
    return FUNDED
