"""Money in, at the gateway's side: each payment's record (an order's, a contract's
deposit or bill), from the moment it is started to what the gateway said of it.

Every write here is conditional on the payment's status, so whatever the gateway does
(confirm twice, late, out of order, concurrently) a payment is settled at most once:
- `start_payment` / `start_charge` record the payment (pending) before the gateway is
  asked;
- `mark_paid` / `mark_closed` move it on only from pending (or closed: a trade we
  thought abandoned can still be paid);
- `close_timed_out` closes an order's open payment at its timeout and gives its slot
  back; `record_problem` lists what an operator must look at.
Settling a statement of the gateway is `payments.settling.settle`; an order's money that
arrived for nothing is sent back by services.orders.returned_payments.
"""
import logging
from datetime import datetime, timedelta

from pynamodb.exceptions import PutError, TransactWriteError, UpdateError

from chalicelib import clock, payments, settings
from chalicelib.domain.errors import Conflict, ServiceAtCapacity, ServiceNotListed
from chalicelib.domain.orders import AWAITING_PAYMENT as AWAITING_PAYMENT_STATE
from chalicelib.storage.base import ATTEMPTS
from chalicelib.storage.base import condition_failed, transaction
from chalicelib.storage.catalog import ServiceModel, UserModel
from chalicelib.storage.orders import OrderModel
from chalicelib.storage.payments import PaymentModel, pending_partition, problem_partition

log = logging.getLogger("market.payments")

PENDING, PAID, VOIDED, CLOSED, UNKNOWN = "pending", "paid", "voided", "closed", "unknown"
# Money can still arrive for these: a closed trade may have been paid after all.
UNSETTLED = (PENDING, CLOSED)
# Alipay: "不可使用特殊字符，如 /，=，& 等".
_SUBJECT_UNSAFE = str.maketrans({c: " " for c in "/=&%+#?\\"})


def check_backoff(checks: int) -> timedelta:
    """When the reconciliation sweep asks the gateway again: the configured delay, then
    doubling up to an hour."""
    first = settings.get().payment_check_after_seconds
    return timedelta(seconds=min(3600, first * 2 ** max(0, min(checks, 8))))


# --- starting ----------------------------------------------------------------
def payment_id(order_id: str, seq: int) -> str:
    """The merchant reference (Alipay's out_trade_no) of an order's `seq`-th payment: the
    order's id for the first, as it always was; a closed or superseded trade cannot be
    paid again, so a later payment is a new trade."""
    return order_id if seq <= 1 else f"{order_id}_p{seq}"


def start_payment(order: OrderModel, now: datetime, *, channel: str,
                  expires_at: datetime | None) -> payments.PaymentResult:
    """Open the order's payment (pending) for its current plan and ask the gateway to
    start it. Asking again while it is pending starts nothing new: the buyer is sent to
    the same trade, which the plan cannot change under (PAYMENT_PENDING)."""
    opened = None
    if not order.pending_payment:
        # As committed (the order's version did not move, so `order` stays a valid read).
        order.pending_payment, opened_now = _open_payment(order, now)
        order.holds_slot, order.unpaid_counted = True, False
        # This request wrote the record, created `now`: reading it back (one more call
        # on every first pay) would only return that.
        opened = clock.from_key(clock.to_key(now)) if opened_now else None
    pid = order.pending_payment
    # The trade's own timeout (PAYMENT_TIMEOUT_SECONDS from when it opened, or the end
    # of the payment window if sooner): the gateway closes it, and so does the
    # settle_payments sweep (reconciliation.check_payment).
    if opened is None:
        record = get(pid)
        opened = clock.from_key(record.created_at) if record and record.created_at else now
    expires_at = min([at for at in (expires_at, opened + timeout()) if at is not None])
    subject = (order.service.title or "order").translate(_SUBJECT_UNSAFE).strip()[:128]
    return payments.gateway().charge(pid, int(order.amount), f"{pid}:charge",
                                     subject=subject or "order", expires_at=expires_at,
                                     channel=channel)


def _open_payment(order: OrderModel, now: datetime) -> tuple[str, bool]:
    """Record a new pending payment and mark it the order's open one, in one transaction
    conditional on the order's version (so on the plan and amount the buyer is paying)
    and on no payment being open: a price change and a payment cannot both win.
    Answers the open payment's id, and whether this call recorded it (created `now`)."""
    at = clock.to_key(now)
    seq = int(order.payment_seq or 0) + 1
    for _ in range(ATTEMPTS):
        pid = payment_id(order.id, seq)
        record = PaymentModel(pid, order_id=order.id, gateway=payments.gateway_name(),
                              amount=int(order.amount), plan_version=int(order.plan_version or 1),
                              status=PENDING, created_at=at, updated_at=at, checks=0,
                              pending_pk=pending_partition(pid),
                              check_at=clock.to_key(now + check_backoff(0)))
        claims_slot, was_unpaid = order.holds_slot is False, bool(order.unpaid_counted)
        tx = transaction()
        try:
            with tx:
                tx.update("order", OrderModel(order.id),
                          actions=[OrderModel.pending_payment.set(pid),
                                   OrderModel.payment_seq.set(seq),
                                   OrderModel.holds_slot.set(True),
                                   OrderModel.unpaid_counted.set(False)],
                          condition=(OrderModel.version == int(order.version))
                          & OrderModel.pending_payment.does_not_exist())
                tx.save("payment", record, condition=PaymentModel.id.does_not_exist())
                if claims_slot:
                    # Capacity counts money: a payment pending at the gateway takes the
                    # slot, in the write that opens it, before any charge is asked for.
                    tx.update("service", ServiceModel(order.service_id),
                              actions=[ServiceModel.open_orders.add(1)],
                              condition=ServiceModel.id.exists() & (
                                  ServiceModel.capacity.does_not_exist()
                                  | (ServiceModel.open_orders < ServiceModel.capacity)))
                if was_unpaid:
                    # A payment pending is no longer an unpaid order (MAX_UNPAID_ORDERS).
                    tx.update("buyer", UserModel(order.buyer_id),
                              actions=[UserModel.unpaid_orders.add(-1)])
            return pid, True
        except TransactWriteError as error:
            refusal = tx.refusal(error)
            if refusal.failed("service"):
                fresh = _service(order.service_id)
                if fresh is None:
                    raise ServiceNotListed()
                raise ServiceAtCapacity(capacity=int(fresh.capacity or 0))
            if refusal.failed("order"):
                # Moved meanwhile: another click opened the payment for this same plan
                # (the buyer goes to that trade), or the order changed (decide again).
                fresh = OrderModel.get(order.id, consistent_read=True)
                if fresh.version == order.version and fresh.pending_payment:
                    return fresh.pending_payment, False  # another click's, its own time
                raise Conflict()
            if refusal.failed("payment"):
                seq += 1  # that reference was taken before sequences were counted
                continue
            if not refusal.conflict:
                raise
    raise Conflict()


def _service(service_id: str) -> ServiceModel | None:
    try:
        return ServiceModel.get(service_id, consistent_read=True)
    except ServiceModel.DoesNotExist:
        return None


def start_charge(trade_id: str, amount: int, subject: str, now: datetime, *, channel: str,
                 expires_at: datetime | None = None) -> payments.PaymentResult:
    """A payment that is not an order's (a contract's deposit or bill, `trade_id` its
    merchant reference): recorded pending before the gateway is asked, as orders' are,
    so the same notification and reconciliation paths settle it."""
    at = clock.to_key(now)
    opened = now
    try:
        PaymentModel(trade_id, order_id=trade_id, gateway=payments.gateway_name(),
                     amount=amount, status=PENDING, created_at=at, updated_at=at, checks=0,
                     pending_pk=pending_partition(trade_id),
                     check_at=clock.to_key(now + check_backoff(0))).save(
            condition=PaymentModel.id.does_not_exist())
    except PutError as error:
        if not condition_failed(error):
            raise
        _update_quietly(trade_id, [PaymentModel.updated_at.set(at)], PaymentModel.status == PENDING)
        record = get(trade_id)
        opened = clock.from_key(record.created_at) if record and record.created_at else now
    # The trade's own timeout, as orders' (PAYMENT_TIMEOUT_SECONDS from when it opened):
    # the settle_payments sweep closes it there, and the next payment is a new trade.
    expires_at = min(t for t in (expires_at, opened + timeout()) if t is not None)
    subject = (subject or "contract").translate(_SUBJECT_UNSAFE).strip()[:128]
    return payments.gateway().charge(trade_id, amount, f"{trade_id}:charge",
                                     subject=subject or "contract", expires_at=expires_at,
                                     channel=channel)


def open_trade(base: str) -> str:
    """The merchant reference to pay `base` (a contract's deposit or bill) under now:
    `base` itself while it is pending or unused; once its trade was closed (timed out)
    or settled, the next one (`<base>_t2`, `_t3` …): a closed trade cannot be paid again."""
    for n in range(1, _MAX_TRADES + 1):
        trade_id = base if n == 1 else f"{base}_t{n}"
        record = get(trade_id)
        if record is None or record.status == PENDING:
            return trade_id
    raise Conflict("this payment timed out too often; ask the operators")


_MAX_TRADES = 50


def trade_base(trade_id: str) -> str:
    """What a contract trade pays for: its reference without the retry suffix."""
    head, sep, tail = trade_id.rpartition("_t")
    return head if sep and tail.isdigit() else trade_id


def present_payment(result: payments.PaymentResult) -> dict:
    """The `payment` part of the pay answer."""
    out = {"status": result.status}
    if result.redirect_url:
        out["redirect_url"] = result.redirect_url
    return out


# --- what the gateway told us ------------------------------------------------------
def get(payment_id: str) -> PaymentModel | None:
    try:
        return PaymentModel.get(payment_id, consistent_read=True)
    except PaymentModel.DoesNotExist:
        return None


def gateway_facts(trade: payments.TradeStatus, at: str) -> list:
    actions = [PaymentModel.updated_at.set(at)]
    if trade.ref:
        actions.append(PaymentModel.gateway_ref.set(trade.ref))
    if trade.amount is not None:
        actions.append(PaymentModel.gateway_amount.set(trade.amount))
    if trade.raw_status:
        actions.append(PaymentModel.gateway_status.set(trade.raw_status))
    return actions


def mark_paid(payment_id: str, trade: payments.TradeStatus, now: datetime) -> bool:
    """The order's escrow is funded with this payment: settled (False if it already was).
    A record made before payments were numbered has no order id: its id is the order's."""
    at = clock.to_key(now)
    return _update_quietly(payment_id, gateway_facts(trade, at) + [
        PaymentModel.status.set(PAID), PaymentModel.settled_at.set(at),
        PaymentModel.order_id.set(PaymentModel.order_id | payment_id),
        PaymentModel.gateway.set(PaymentModel.gateway | payments.gateway_name()),
        PaymentModel.created_at.set(PaymentModel.created_at | at),
        PaymentModel.pending_pk.remove(), PaymentModel.check_at.remove()],
        PaymentModel.status.does_not_exist() | PaymentModel.status.is_in(*UNSETTLED))


def mark_closed(payment_id: str, trade: payments.TradeStatus, now: datetime) -> bool:
    """The gateway closed the trade unpaid (or never saw it and the order is over)."""
    return _update_quietly(payment_id, gateway_facts(trade, clock.to_key(now)) + [
        PaymentModel.status.set(CLOSED), PaymentModel.pending_pk.remove(),
        PaymentModel.check_at.remove()], PaymentModel.status == PENDING)


def timeout() -> timedelta:
    """How long a payment stays open at the gateway (PAYMENT_TIMEOUT_SECONDS)."""
    return timedelta(seconds=settings.get().payment_timeout_seconds)


def times_out_at(payment: PaymentModel) -> datetime:
    return clock.from_key(payment.created_at) + timeout()


def defer_check(payment: PaymentModel, trade: payments.TradeStatus | None,
                now: datetime) -> bool:
    """Not settled yet: ask the gateway again later (backoff), and no later than when
    the payment times out, so the trade is closed on time."""
    checks = int(payment.checks or 0) + 1
    actions = ([PaymentModel.updated_at.set(clock.to_key(now))] if trade is None
               else gateway_facts(trade, clock.to_key(now)))
    next_check = now + check_backoff(checks)
    if payment.created_at and now < times_out_at(payment):
        next_check = min(next_check, times_out_at(payment))
    return _update_quietly(payment.id, actions + [
        PaymentModel.checks.set(checks), PaymentModel.check_at.set(clock.to_key(next_check))],
        PaymentModel.status == PENDING)


def close_timed_out(payment: PaymentModel, trade: payments.TradeStatus, now: datetime) -> bool:
    """The gateway closed the order's open payment at its timeout: the order can be paid
    again (a new trade), its capacity slot is given back and it counts as unpaid again,
    all in one transaction conditional on the payment still being the order's open one
    (False when it no longer is: then only the record is closed)."""
    at = clock.to_key(now)
    order = OrderModel.get(payment.order_id, consistent_read=True)
    if order.pending_payment != payment.id:
        return mark_closed(payment.id, trade, now)
    tx = transaction()
    try:
        with tx:
            tx.update("payment", PaymentModel(payment.id), actions=gateway_facts(trade, at) + [
                PaymentModel.status.set(CLOSED), PaymentModel.pending_pk.remove(),
                PaymentModel.check_at.remove()], condition=PaymentModel.status == PENDING)
            tx.update("order", OrderModel(order.id),
                      actions=[OrderModel.pending_payment.remove(),
                               OrderModel.holds_slot.set(False),
                               OrderModel.unpaid_counted.set(True)],
                      condition=(OrderModel.pending_payment == payment.id)
                      & (OrderModel.status == AWAITING_PAYMENT_STATE))
            if order.holds_slot is not False:
                tx.update("service", ServiceModel(order.service_id),
                          actions=[ServiceModel.open_orders.add(-1)],
                          condition=ServiceModel.open_orders > 0)
            tx.update("buyer", UserModel(order.buyer_id),
                      actions=[UserModel.unpaid_orders.add(1)])
        return True
    except TransactWriteError as error:
        refusal = tx.refusal(error)
        if refusal.failed("order"):
            return mark_closed(payment.id, trade, now)  # paid or closed meanwhile
        if refusal.failed("payment") or refusal.conflict:
            return False  # settled meanwhile, or contended: the sweep looks again
        raise


def record_problem(payment_id: str, kind: str, detail: dict, now: datetime, *,
                   order_id: str | None = None) -> None:
    """Something an operator must look at (an amount that does not match, a payment we
    never started). It changes no money: it is listed by GET /admin/reconciliation."""
    at = clock.to_key(now)
    log.error("payment %s: %s %s", payment_id, kind, detail)
    actions = [PaymentModel.problem.set(kind), PaymentModel.problem_detail.set(detail),
               PaymentModel.problem_count.add(1), PaymentModel.problem_pk.set(problem_partition(payment_id)),
               PaymentModel.problem_at.set(at), PaymentModel.updated_at.set(at),
               # A payment we never started gets a record of its own here.
               PaymentModel.status.set(PaymentModel.status | UNKNOWN),
               PaymentModel.gateway.set(PaymentModel.gateway | payments.gateway_name()),
               PaymentModel.created_at.set(PaymentModel.created_at | at)]
    if order_id:
        actions.append(PaymentModel.order_id.set(PaymentModel.order_id | order_id))
    PaymentModel(payment_id).update(actions=actions)


def _update_quietly(payment_id: str, actions: list, condition) -> bool:
    try:
        PaymentModel(payment_id).update(actions=actions, condition=condition)
        return True
    except UpdateError as error:
        # Only a failed condition is an answer; a timeout (whose cause is no ClientError)
        # is "unknown" and re-raised.
        if not condition_failed(error):
            raise
        return False
