"""A contract's money in through the gateway: the deposit (定金) and its bills. Started as
orders' payments are (payments.records records them pending first), and settled by the
one path of every gateway statement (payments.settling.settle), which hands a
contract's trade to `settle` here, registered for it."""
import logging
from datetime import datetime

from chalicelib import observability
from chalicelib.domain import contracts as deal
from chalicelib.domain.actors import SYSTEM, Caller
from chalicelib.domain.errors import Forbidden, InvalidTransition, ServiceUnavailable
from chalicelib import payments
from chalicelib.payments import records, settling
from chalicelib.services.contracts import billing, engine
from chalicelib.services.contracts.reading import present
from chalicelib.services.contracts.state import load, role_of, terms_of
from chalicelib.domain import escrow as money
from chalicelib.storage.contracts import CONTRACT_PREFIX, ContractModel
from chalicelib.storage.ledger import PostingModel, new_posting

log = logging.getLogger("market.contracts")


def pay_deposit(caller: Caller, contract_id: str, now: datetime, *, channel: str = "page",
                request_key: str | None = None) -> dict:
    """Start the deposit's payment; the answer's `payment` says whether it is in escrow
    now or pending at the gateway (the buyer pays at `redirect_url`)."""
    contract = load(contract_id)
    role = role_of(caller, contract)
    if role != deal.BUYER:
        raise Forbidden("only the buyer pays the deposit")
    if contract.status != deal.AWAITING_DEPOSIT:
        if request_key and contract.request_key == request_key:
            return {**present(contract, caller), "payment": {"status": payments.SUCCEEDED}}
        raise InvalidTransition(f"cannot pay the deposit of a contract that is {contract.status}",
                                status=contract.status)
    amount = terms_of(contract).deposit
    trade_id = records.open_trade(contract.id)  # a new trade once one timed out
    try:
        result = records.start_charge(trade_id, amount, f"{contract.service.title} 定金", now,
                                      channel=channel)
    except payments.GatewayError:
        log.warning("contract %s: the gateway did not start the payment", contract.id,
                    exc_info=True)
        raise ServiceUnavailable("the payment gateway is not answering; retry in a moment")
    if result.status != payments.SUCCEEDED:
        return {**present(contract, caller), "payment": records.present_payment(result)}
    # Paid at once: settled by the one path every statement of the gateway takes.
    settling.settle(payments.TradeStatus(trade_id, payments.SUCCEEDED, ref=result.ref,
                                         amount=amount), now, actor=caller,
                    request_key=request_key)
    return {**present(load(contract.id), caller), "payment": records.present_payment(result)}


def confirm_deposit(contract_id: str, trade: payments.TradeStatus, now: datetime, *,
                    request_key: str | None = None):
    """The gateway confirmed the deposit: into escrow, exactly once. Money that arrives
    for a contract cancelled meanwhile is booked and sent straight back."""
    contract = load(contract_id)
    if contract.payment_ref == trade.ref:
        return contract  # a repeated confirmation changes nothing

    def shape(change):
        change.notify_parties("contract_deposit_paid",
                              f"{change.contract.service.title}：定金已托管，开始培训考核")

    try:
        return engine.transition(SYSTEM, contract_id, deal.PAY_DEPOSIT, now, request_key=request_key,
                                 params={"amount": int(trade.amount), "payment_ref": trade.ref,
                                         "trade_id": trade.order_id},
                                 shape=shape, read=contract)
    except InvalidTransition:
        fresh = load(contract_id)
        if fresh.payment_ref == trade.ref:
            return fresh
        if fresh.status != deal.CANCELLED or fresh.payment_ref:
            # Another trade funded the deposit (this one had timed out and was closed,
            # yet the gateway took the money): book it and send it straight back.
            return _refund_extra_deposit(contract_id, trade, now)
        return _void_deposit(contract_id, trade, now)


def _void_deposit(contract_id: str, trade: payments.TradeStatus, now: datetime):
    """A deposit confirmed after the cancellation: book it and refund it at once."""

    def build(attempt):
        contract = load(contract_id)
        if contract.payment_ref:
            return None  # booked (and refunded) by a concurrent confirmation
        change = engine.Change(contract, contract.status, SYSTEM, now,
                               params={"amount": int(trade.amount), "payment_ref": trade.ref,
                                       "trade_id": trade.order_id})
        change._fund_deposit()
        change.refund_deposit()
        change.notify(contract.buyer_id, "refunded",
                      f"{contract.service.title}：合同已取消，到账的定金将原路退回")
        return change

    change = engine.commit(build, now)
    return change.after if change else load(contract_id)


def _refund_extra_deposit(contract_id: str, trade: payments.TradeStatus, now: datetime):
    """A second deposit payment (a closed trade paid after all): booked into the
    contract's escrow under its own trade and refunded, once (its funding posting is
    the mark), leaving the deposit the other trade paid untouched."""
    posting_id = money.funding_id(trade.order_id)

    def build(attempt):
        contract = load(contract_id)
        if _booked(posting_id):
            return None
        change = engine.Change(contract, contract.status, SYSTEM, now)
        amount = int(trade.amount)
        change.add(ContractModel.deposit_paid, amount)
        change.move_escrow(money.fund(amount))
        posting = money.posting_for(money.FUND, contract.id, contract.provider_id, amount)
        change.extra.append(lambda tx: tx.save(
            "posting", new_posting(posting_id, money.FUND, posting, change.at,
                                   order_id=contract.id),
            condition=PostingModel.id.does_not_exist()))
        change.refund_deposit(amount, payment_ref=trade.ref)
        change.notify(contract.buyer_id, "refunded",
                      f"{contract.service.title}：重复支付的定金将原路退回")
        return change

    change = engine.commit(build, now)
    return change.after if change else load(contract_id)


def _booked(posting_id: str) -> bool:
    try:
        PostingModel.get(posting_id, consistent_read=True)
        return True
    except PostingModel.DoesNotExist:
        return False


def settle(payment, trade: payments.TradeStatus, now: datetime, *,
           actor: Caller | None = None, request_key: str | None = None) -> str:
    """A verified, succeeded gateway statement about a contract's trade (the payment is
    still unsettled): fund what it pays for, exactly once. `request_key`: the paying
    request's, when the gateway succeeded at once."""
    if payment.id.startswith(CONTRACT_PREFIX):
        contract = load(records.trade_base(payment.id))
        expected = terms_of(contract).deposit
        if trade.amount != expected:
            records.record_problem(payment.id, "amount_mismatch", {
                "gateway_ref": trade.ref, "gateway_amount": trade.amount,
                "order_amount": expected, "gateway_status": trade.raw_status}, now,
                order_id=payment.id)
            return settling.MISMATCH
        funded = confirm_deposit(contract.id, trade, now, request_key=request_key)
        outcome = settling.VOIDED if funded.status == deal.CANCELLED else settling.FUNDED
    else:
        outcome = billing.confirm_bill_payment(payment.id, trade, now, request_key=request_key)
    records.mark_paid(payment.id, trade, now)
    observability.metric("PaymentsSettled", dimensions={"Gateway": payment.gateway})
    return outcome


# A contract's payments (its deposit and bills) are this module's to settle.
settling.register(settling.CONTRACT, settle)
