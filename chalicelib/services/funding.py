"""Money in, at the gateway's side: each order's payment record, and the money that
arrives for an order that closed meanwhile.

Every write here is conditional on the payment's status, so whatever the gateway does
(confirm twice, late, out of order, concurrently) a payment funds escrow at most once:
- `start_payment` records the payment (pending) before the gateway is asked;
- `mark_paid` / `mark_closed` move it on only from pending (or closed: a trade we
  thought abandoned can still be paid);
- `void_late_payment` books money that arrived for a closed order into its escrow and
  sends it straight back through a refund instruction (the instruction driver retries
  the gateway, keyed by the instruction id, until it is done), all in one transaction.
Funding itself is the order's PAY transition (services.orders.confirm_funding), which
is conditional on the order awaiting payment.
"""
import logging
from datetime import datetime, timedelta

from pynamodb.exceptions import PutError, TransactWriteError, UpdateError

from chalicelib import clock, settings
from chalicelib.domain import escrow as money
from chalicelib.domain.errors import Conflict, ServiceAtCapacity, ServiceNotListed
from chalicelib.domain.orders import AWAITING_PAYMENT as AWAITING_PAYMENT_STATE
from chalicelib.domain.orders import CLOSED as CLOSED_ORDER_STATES
from chalicelib.services import escrow, notifications
from chalicelib import payments
from chalicelib.storage.base import condition_failed, transaction
from chalicelib.storage.catalog import ServiceModel, UserModel
from chalicelib.storage.ledger import PENDING_PK as INSTRUCTION_PENDING_PK
from chalicelib.storage.ledger import InstructionModel, PostingModel
from chalicelib.storage.orders import OrderModel
from chalicelib.storage.payments import PENDING_PK, PROBLEM_PK, PaymentModel

log = logging.getLogger("market.funding")

PENDING, PAID, VOIDED, CLOSED, UNKNOWN = "pending", "paid", "voided", "closed", "unknown"
_ATTEMPTS = 3
# Money can still arrive for these: a closed trade may have been paid after all.
UNSETTLED = (PENDING, CLOSED)
# Alipay: "不可使用特殊字符，如 /，=，& 等".
_SUBJECT_UNSAFE = str.maketrans({c: " " for c in "/=&%+#?\\"})


def void_instruction_id(payment_id: str) -> str:
    """The refund of a payment that funds nothing (its order closed, or its plan was
    superseded): never a milestone's. The first payment's id is the order's."""
    return f"{payment_id}:refund:void"


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
    if not order.pending_payment:
        # As committed (the order's version did not move, so `order` stays a valid read).
        order.pending_payment = _open_payment(order, now)
        order.holds_slot, order.unpaid_counted = True, False
    pid = order.pending_payment
    # The trade's own timeout (PAYMENT_TIMEOUT_SECONDS from when it opened, or the end
    # of the payment window if sooner): the gateway closes it, and so does the
    # settle_payments sweep (reconciliation.check_payment).
    record = get(pid)
    opened = clock.from_key(record.created_at) if record and record.created_at else now
    expires_at = min([at for at in (expires_at, opened + timeout()) if at is not None])
    subject = (order.service.title or "order").translate(_SUBJECT_UNSAFE).strip()[:128]
    return payments.gateway().charge(pid, int(order.amount), f"{pid}:charge",
                                     subject=subject or "order", expires_at=expires_at,
                                     channel=channel)


def _open_payment(order: OrderModel, now: datetime) -> str:
    """Record a new pending payment and mark it the order's open one, in one transaction
    conditional on the order's version (so on the plan and amount the buyer is paying)
    and on no payment being open: a price change and a payment cannot both win."""
    at = clock.to_key(now)
    seq = int(order.payment_seq or 0) + 1
    for _ in range(_ATTEMPTS):
        pid = payment_id(order.id, seq)
        record = PaymentModel(pid, order_id=order.id, gateway=payments.gateway_name(),
                              amount=int(order.amount), plan_version=int(order.plan_version or 1),
                              status=PENDING, created_at=at, updated_at=at, checks=0,
                              pending_pk=PENDING_PK, check_at=clock.to_key(now + check_backoff(0)))
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
            return pid
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
                    return fresh.pending_payment
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
                     pending_pk=PENDING_PK, check_at=clock.to_key(now + check_backoff(0))).save(
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


def _gateway_facts(trade: payments.TradeStatus, at: str) -> list:
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
    return _update_quietly(payment_id, _gateway_facts(trade, at) + [
        PaymentModel.status.set(PAID), PaymentModel.settled_at.set(at),
        PaymentModel.order_id.set(PaymentModel.order_id | payment_id),
        PaymentModel.gateway.set(PaymentModel.gateway | payments.gateway_name()),
        PaymentModel.created_at.set(PaymentModel.created_at | at),
        PaymentModel.pending_pk.remove(), PaymentModel.check_at.remove()],
        PaymentModel.status.does_not_exist() | PaymentModel.status.is_in(*UNSETTLED))


def mark_closed(payment_id: str, trade: payments.TradeStatus, now: datetime) -> bool:
    """The gateway closed the trade unpaid (or never saw it and the order is over)."""
    return _update_quietly(payment_id, _gateway_facts(trade, clock.to_key(now)) + [
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
               else _gateway_facts(trade, clock.to_key(now)))
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
            tx.update("payment", PaymentModel(payment.id), actions=_gateway_facts(trade, at) + [
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
               PaymentModel.problem_count.add(1), PaymentModel.problem_pk.set(PROBLEM_PK),
               PaymentModel.problem_at.set(at), PaymentModel.updated_at.set(at),
               # A payment we never started gets a record of its own here.
               PaymentModel.status.set(PaymentModel.status | UNKNOWN),
               PaymentModel.gateway.set(PaymentModel.gateway | payments.gateway_name()),
               PaymentModel.created_at.set(PaymentModel.created_at | at)]
    if order_id:
        actions.append(PaymentModel.order_id.set(PaymentModel.order_id | order_id))
    PaymentModel(payment_id).update(actions=actions)


def resolve_problem(payment_id: str) -> None:
    """An operator dealt with it: it leaves the problem list (the record stays)."""
    PaymentModel(payment_id).update(actions=[PaymentModel.problem_pk.remove()])


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


# --- money that must go back --------------------------------------------------------
def void_late_payment(order_id: str, trade: payments.TradeStatus, now: datetime, *,
                      payment_id: str | None = None) -> bool:
    """The gateway took the buyer's money for an order that is closed: book it into the
    order's escrow and send it straight back, exactly once (False if done before)."""
    # Closed and never funded: the money is this order's only payment.
    return _void(order_id, payment_id or order_id, trade, now,
                 OrderModel.status.is_in(*CLOSED_ORDER_STATES)
                 & OrderModel.payment_ref.does_not_exist(), sets_ref=True)


def void_superseded_payment(order_id: str, payment_id: str, trade: payments.TradeStatus,
                            now: datetime) -> bool:
    """The gateway confirmed a payment that is no longer the order's (its plan or amount
    changed, or a newer payment was opened): it funds nothing and goes straight back,
    exactly once (False if done before). Superseded is for good — plan versions and
    payment numbers only grow — so the order needs no condition beyond existing; the
    payment record's status and the deterministic ids make it happen once."""
    return _void(order_id, payment_id, trade, now, OrderModel.id.exists(), sets_ref=False)


def _void(order_id: str, pid: str, trade: payments.TradeStatus, now: datetime,
          order_condition, *, sets_ref: bool) -> bool:
    order = OrderModel.get(order_id, consistent_read=True)
    amount, at = int(trade.amount), clock.to_key(now)
    refund = InstructionModel(
        void_instruction_id(pid), order_id=order_id, kind=money.REFUND, amount=amount,
        step=None, provider_id=order.provider_id, payment_ref=trade.ref, status="pending",
        attempts=0, created_at=at, pending_pk=INSTRUCTION_PENDING_PK, next_attempt_at=at)
    posting = money.posting_for(money.FUND, order_id, order.provider_id, amount)
    for _ in range(_ATTEMPTS):
        tx = transaction()
        try:
            with tx:
                tx.update("payment", PaymentModel(pid), actions=_gateway_facts(trade, at) + [
                    PaymentModel.status.set(VOIDED), PaymentModel.settled_at.set(at),
                    PaymentModel.order_id.set(order_id),
                    PaymentModel.gateway.set(PaymentModel.gateway | payments.gateway_name()),
                    PaymentModel.created_at.set(PaymentModel.created_at | at),
                    PaymentModel.pending_pk.remove(), PaymentModel.check_at.remove()],
                    condition=PaymentModel.status.does_not_exist()
                    | PaymentModel.status.is_in(*UNSETTLED))
                tx.save("posting", PostingModel(money.funding_id(pid),
                                                from_account=posting.from_account,
                                                to_account=posting.to_account, amount=amount,
                                                order_id=order_id, kind=money.FUND, at=at,
                                                account=money.statement_account(posting)),
                        condition=PostingModel.id.does_not_exist())
                # The version is left alone, like every money movement after a decision.
                tx.update("order", OrderModel(order_id),
                          actions=[OrderModel.escrow_funded.add(amount),
                                   OrderModel.escrow_held.add(amount),
                                   OrderModel.escrow_instructed.add(amount),
                                   *([OrderModel.payment_ref.set(trade.ref)] if sets_ref else [])],
                          condition=order_condition)
                tx.save("refund", refund, condition=InstructionModel.id.does_not_exist())
            break
        except TransactWriteError as error:
            refusal = tx.refusal(error)
            if refusal.failed("payment"):
                # Settled by a concurrent confirmation of the same payment — or this is
                # a second payment for one order, which only a person can sort out.
                settled = get(pid)
                if settled is not None and settled.gateway_ref not in (None, trade.ref):
                    _paid_twice(pid, order_id, trade, settled.gateway_ref, now)
                return False
            if refusal.failed("order") or refusal.failed("posting"):
                # The order took a payment already (funded, or voided before).
                fresh = OrderModel.get(order_id, consistent_read=True)
                if fresh.payment_ref != trade.ref:
                    _paid_twice(pid, order_id, trade, fresh.payment_ref, now)
                return False
            if not refusal.conflict:
                raise
    else:
        # Still contended: the gateway repeats its notification (409), or the sweep asks.
        raise Conflict()
    why = "订单已关闭" if sets_ref else "订单的价格或付款计划已变更"
    log.warning("order %s: payment %s (%s) is not the order's: refunding %s", order_id, pid,
                trade.ref, amount)
    escrow.execute_quietly([refund], now)
    notifications.notify(order.buyer_id, "refunded", order_id=order_id,
                         service_id=order.service_id,
                         text=f"{order.service.title}：{why}，到账的 {money.yuan(amount)} 将原路退回",
                         now=now)
    return True


def _paid_twice(pid: str, order_id: str, trade: payments.TradeStatus, booked_ref: str | None,
                now: datetime) -> None:
    record_problem(pid, "paid_twice", {"gateway_ref": trade.ref, "amount": trade.amount,
                                       "booked_gateway_ref": booked_ref},
                   now, order_id=order_id)
