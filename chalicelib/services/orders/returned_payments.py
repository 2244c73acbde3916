"""An order's money that must go back: a payment the gateway confirmed for an order that
closed meanwhile, or for a plan that is no longer the order's (confirm_funding finds
which). It is booked into the order's
escrow and sent straight back through a refund instruction (the instruction driver
retries the gateway, keyed by the instruction id, until it is done), all in one
transaction conditional on the payment's record being unsettled — so exactly once.
"""
import logging
from datetime import datetime

from pynamodb.exceptions import TransactWriteError

from chalicelib import clock, payments
from chalicelib.domain import escrow as money
from chalicelib.domain.errors import Conflict
from chalicelib.domain.instructions import void_refund_id
from chalicelib.domain.orders import CLOSED as CLOSED_ORDER_STATES
from chalicelib.payments.records import UNSETTLED, VOIDED, gateway_facts, get, record_problem
from chalicelib.services import instructions, notifications
from chalicelib.services.optimistic import ATTEMPTS
from chalicelib.storage import escrow_counters
from chalicelib.storage.base import transaction
from chalicelib.storage.ledger import InstructionModel, PostingModel, new_instruction
from chalicelib.storage.orders import OrderModel
from chalicelib.storage.payments import PaymentModel

log = logging.getLogger("market.payments")


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
    refund = new_instruction(void_refund_id(pid), money.REFUND, amount,
                             provider_id=order.provider_id, at=at, order_id=order_id,
                             payment_ref=trade.ref)
    # Booked into escrow and promised straight back (held until the gateway pays it).
    counters, held_covers = escrow_counters.update(OrderModel, money.fund(amount), before=order,
                                                   instructed=amount)
    if held_covers is not None:
        order_condition &= held_covers
    posting = money.posting_for(money.FUND, order_id, order.provider_id, amount)
    for _ in range(ATTEMPTS):
        tx = transaction()
        try:
            with tx:
                tx.update("payment", PaymentModel(pid), actions=gateway_facts(trade, at) + [
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
                          actions=[*counters,
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
    instructions.execute_quietly([refund], now)
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
