"""Reconciliation: the gateway's records against the ledger.

- `check_payment` (the settle_payments sweep): a payment still pending a while after it
  started is asked about at the gateway (alipay.trade.query) and whatever the answer
  is goes through the same exactly-once path as a notification (payments.settling).
  A payment the gateway never saw, or left unpaid, is closed once its order no longer
  waits for it and its trade can no longer be paid.
- `report` (GET /admin/reconciliation, operators): every payment record against the
  order it funded and the postings, with every mismatch listed. Like the ledger check it
  scans the money tables, which is right for an audit an operator runs on purpose.
"""
from datetime import datetime, timedelta

from chalicelib import clock
from chalicelib.domain import escrow as money
from chalicelib.domain.instructions import DONE, MISSING, void_refund_id
from chalicelib.domain import orders as life
from chalicelib.payments import records, settling
from chalicelib.services import orders
from chalicelib import payments
from chalicelib.storage.ledger import InstructionModel, PostingModel
from chalicelib.storage.contracts import is_contract_money
from chalicelib.storage.orders import OrderModel
from chalicelib.storage import shards
from chalicelib.storage.payments import PENDING_PK, PaymentModel

# How long after a trade stops being payable a payment is still asked about.
GRACE = timedelta(minutes=15)


def due_payment_ids(now: datetime, *, limit: int, start_key=None):
    """One page of pending payments due for a check, the next page's key, items read."""
    found, next_key, read = shards.query(
        PaymentModel.pending, PENDING_PK, PaymentModel.check_at <= clock.to_key(now),
        limit=limit, start_key=start_key, first=shards.turn(now), attributes_to_get=["id"])
    return [p.id for p in found], next_key, read


def check_payment(payment_id: str, now: datetime) -> str:
    """Ask the gateway about one pending payment and settle what it says: moved (settled
    or closed), skipped (still open: asked again later) — GatewayError propagates."""
    payment = records.get(payment_id)
    if payment is None or payment.status != records.PENDING:
        return "skipped"  # settled meanwhile (a notification arrived)
    if payment.gateway != payments.gateway_name():
        records.defer_check(payment, None, now)  # another gateway's payment: not ours to ask
        return "skipped"
    trade = payments.gateway().query(payment.id)
    if trade.status in (payments.SUCCEEDED, payments.CLOSED):
        outcome = settling.settle(trade, now)
        return "skipped" if outcome in (settling.MISMATCH, settling.UNKNOWN) else "moved"
    if is_contract_money(payment.id):
        # A contract's deposit or bill: PAYMENT_TIMEOUT_SECONDS unpaid closes the trade
        # at the gateway (the next payment opens a new one); until then asked again.
        if now >= records.times_out_at(payment):
            return _close_contract_trade(payment, trade, now)
        records.defer_check(payment, trade, now)
        return "skipped"
    order = orders.load(payment.order_id)
    if order.pending_payment == payment.id and now >= records.times_out_at(payment):
        # PAYMENT_TIMEOUT_SECONDS passed unpaid: close the trade at the gateway, then the
        # order may be paid again; a confirmation that still comes is refunded.
        if payments.gateway().close(payment.id):
            records.close_timed_out(payment, trade, now)
            return "moved"
        paid = payments.gateway().query(payment.id)  # paid just before the close
        if paid.status in (payments.SUCCEEDED, payments.CLOSED):
            settling.settle(paid, now)
            return "moved"
    payable_until = clock.from_key(order.created_at) + orders.windows().payment + GRACE
    if order.status != life.AWAITING_PAYMENT and (trade.status == payments.MISSING
                                                  or now >= payable_until):
        records.mark_closed(payment.id, trade, now)
        return "moved"
    records.defer_check(payment, trade, now)
    return "skipped"


def _close_contract_trade(payment, trade: payments.TradeStatus, now: datetime) -> str:
    """A contract's trade timed out unpaid: closed at the gateway, then here. Paid just
    before the close: settled as any confirmation (a second deposit is refunded)."""
    if payments.gateway().close(payment.id):
        records.mark_closed(payment.id, trade, now)
        return "moved"
    paid = payments.gateway().query(payment.id)
    if paid.status in (payments.SUCCEEDED, payments.CLOSED):
        settling.settle(paid, now)
        return "moved"
    records.defer_check(payment, paid, now)
    return "skipped"


def defer_after_failure(payment_id: str, now: datetime) -> bool:
    """A check failed: ask again later, with the same backoff. False when the payment is
    no longer pending (settled meanwhile, or by the failed check itself)."""
    payment = records.get(payment_id)
    if payment is None or payment.status != records.PENDING:
        return False
    return records.defer_check(payment, None, now)


# --- the operators' view ----------------------------------------------------------------
def report(now: datetime) -> dict:
    """Every gateway payment record against the ledger; every mismatch listed."""
    scanned = list(PaymentModel.scan(consistent_read=True))
    funded, refunded, by_payment = {}, {}, {}
    for posting in PostingModel.scan(consistent_read=True):
        if posting.kind == money.FUND:
            funded[posting.order_id] = funded.get(posting.order_id, 0) + int(posting.amount)
            paid_by = money.funded_payment(posting.id)
            by_payment[paid_by] = by_payment.get(paid_by, 0) + int(posting.amount)
        elif posting.kind == money.REFUND:
            refunded[posting.order_id] = refunded.get(posting.order_id, 0) + int(posting.amount)
    # The payment that funded each order: the one the order's payment_ref names, else
    # its only one (an order may have several: superseded or timed-out ones, voided).
    by_order = {}
    for r in scanned:
        if r.order_id and (r.order_id not in by_order or r.status == records.PAID):
            by_order[r.order_id] = r
    mismatches, counts = [], {}
    totals = {"gateway_paid": 0, "ledger_funded": sum(funded.values()),
              "ledger_refunded": sum(refunded.values())}
    for record in scanned:
        counts[record.status] = counts.get(record.status, 0) + 1
        if record.status in (records.PAID, records.VOIDED):
            totals["gateway_paid"] += int(record.gateway_amount or record.amount or 0)
        mismatches += _record_mismatches(record, by_payment, now)
    for order in OrderModel.scan(consistent_read=True, attributes_to_get=[
            "id", "status", "payment_ref", "escrow_funded"]):
        if funded.get(order.id) and order.id not in by_order:
            mismatches.append({"kind": "funded_without_gateway_payment", "order": order.id,
                               "ledger_funded": funded[order.id],
                               "payment_ref": order.payment_ref})
            continue
        record = by_order.get(order.id)
        if record and record.gateway_ref and order.payment_ref and (
                record.gateway_ref != order.payment_ref):
            mismatches.append({"kind": "gateway_ref_differs", "order": order.id,
                               "payment": record.id, "gateway_ref": record.gateway_ref,
                               "order_payment_ref": order.payment_ref})
    return {"checked_at": clock.to_iso(now), "payments": counts, "totals": totals,
            "mismatches": mismatches}


def _record_mismatches(record: PaymentModel, funded: dict, now: datetime) -> list[dict]:
    out = []
    base = {"payment": record.id, "order": record.order_id, "status": record.status}
    if record.problem_pk:
        detail = record.problem_detail.as_dict() if record.problem_detail else {}
        out.append({**base, "kind": record.problem, "detail": detail,
                    "times": int(record.problem_count or 1),
                    "at": clock.key_to_iso(record.problem_at)})
    booked = funded.get(record.id, 0)  # what the ledger booked for this very payment
    paid = int(record.gateway_amount if record.gateway_amount is not None else record.amount or 0)
    if record.status in (records.PAID, records.VOIDED) and booked != paid:
        out.append({**base, "kind": "paid_not_funded" if not booked else "funded_amount_differs",
                    "gateway_amount": paid, "ledger_funded": booked})
    if record.status == records.VOIDED:
        try:
            refund = InstructionModel.get(void_refund_id(record.id),
                                          consistent_read=True)
            refund_status = refund.status
        except InstructionModel.DoesNotExist:
            refund_status = MISSING
        if refund_status != DONE:
            out.append({**base, "kind": "late_payment_not_refunded_yet",
                        "refund_instruction": refund_status})
    if record.status == records.PENDING and record.created_at and (
            now - clock.from_key(record.created_at) > orders.windows().payment + GRACE * 4):
        out.append({**base, "kind": "pending_too_long",
                    "since": clock.key_to_iso(record.created_at),
                    "checks": int(record.checks or 0)})
    if record.status in (records.PENDING, records.CLOSED) and booked:
        out.append({**base, "kind": "funded_but_not_settled", "ledger_funded": booked})
    return out
