"""Statements (账单) by their parties: submit, confirm, dispute, the operator's resolution,
and paying a bill through the gateway (its confirmation arrives through the one settle
path and lands in `confirm_bill_payment`)."""
import logging
from datetime import datetime

from chalicelib import clock, settings
from chalicelib.domain import contracts as deal
from chalicelib.domain import escrow as money
from chalicelib.domain import statements as bill
from chalicelib.domain.actors import Caller
from chalicelib.domain.errors import (Forbidden, InvalidTransition, ServiceUnavailable,
                                      ValidationFailed)
from chalicelib import payments
from chalicelib.payments import records, settling
from chalicelib.services import attachments, instructions, optimistic
from chalicelib.services.contracts import accounts
from chalicelib.services.contracts.bills import BillChange, days, load_statement
from chalicelib.services.contracts.reading import present_statement
from chalicelib.services.contracts.state import load, role_of, today
from chalicelib.storage.base import Refusal
from chalicelib.storage.contracts import ContractModel, StatementModel, contract_of_statement

log = logging.getLogger("market.contracts")


def _refused(refusal: Refusal, change) -> bool:
    if refusal.failed("posting"):
        raise _Booked()
    if refusal.failed("attachment"):
        raise attachments.Unsendable(change.after.files or [], "already sent")
    return False


class _Booked(Exception):
    """This payment was booked before (a repeated confirmation)."""


class _AlreadyDone(Exception):
    """This request's own change landed before (a retry whose answer was lost)."""

    def __init__(self, stmt: StatementModel):
        super().__init__("already done by this request")
        self.stmt = stmt


def act(role: str, contract: ContractModel, statement_id: str, action: str, now: datetime,
        shape, *, due: str | None = None, request_key: str | None = None):
    """Decide and commit one statement move (the optimistic loop); the statement as it
    left it. `due`: a sweep's move, taken only once that deadline has passed (else
    None). `request_key`: recorded, so a retry of a move whose answer was lost is
    answered with the statement instead of a 409."""

    def build(attempt):
        stmt = load_statement(contract.id, statement_id)
        if due is not None and not (getattr(stmt, due) and getattr(stmt, due) <= clock.to_key(now)):
            return None
        over = today(now).isoformat() > stmt.period_end
        try:
            to = bill.decide(stmt.status, action, role, stmt.billing, period_over=over)
        except InvalidTransition:
            if request_key and stmt.request_key == request_key:
                raise _AlreadyDone(stmt)
            raise
        change = BillChange(stmt, to, now, title=contract.service.title)
        if request_key:
            change.set(StatementModel.request_key, request_key)
        shape(change)
        return change

    try:
        change = optimistic.run(build, lock="statement", refused=_refused)
    except _AlreadyDone as done:
        return done.stmt
    return change.after if change else None


def _caller_role(caller: Caller, contract_id: str) -> tuple[ContractModel, str]:
    contract = load(contract_id)
    return contract, role_of(caller, contract)


def become_payable(change: BillChange, amount: int):
    """A bill is due: `pay_by` starts now; a bill of nothing is paid at once."""
    change.set(StatementModel.amount, amount)
    change.set(StatementModel.payable_at, change.at)
    change.set(StatementModel.pay_by, clock.to_key(change.now + days(settings.get().pay_days)))
    if amount == 0:
        change.to = bill.PAID
        change.set(StatementModel.status, bill.PAID)
        change.mark_paid()


def submit_shape(sales: int, kpis: dict, file_ids: list):
    def shape(change: BillChange):
        s = change.stmt
        commission = deal.commission(sales, int(s.commission_bps))
        change.set(StatementModel.sales, sales)
        change.set(StatementModel.commission, commission)
        change.set(StatementModel.amount, int(s.base) + commission)
        change.set(StatementModel.kpis, kpis)
        change.set(StatementModel.files, file_ids)
        change.set(StatementModel.submitted_at, change.at)
        change.set(StatementModel.confirm_by,
                   clock.to_key(change.now + days(settings.get().confirm_days)))
        change.notify(s.buyer_id, "statement_submitted",
                      f"{change.title}：{s.period_start}~{s.period_end} 账单待确认 "
                      f"{money.yuan(int(s.base) + commission)}")
    return shape


def submit(caller: Caller, contract_id: str, statement_id: str, *, sales: int | None,
           kpis: dict, file_ids: list, now: datetime, request_key: str | None = None) -> dict:
    """The provider's statement: sales (for the commission), KPIs and QA files."""
    contract, role = _caller_role(caller, contract_id)
    stmt = load_statement(contract_id, statement_id)
    if sales is None and int(stmt.commission_bps) > 0 and role == deal.PROVIDER:
        raise ValidationFailed("sales are required when a commission is agreed",
                               errors=[{"field": "sales", "problem": "required"}])
    # The QA reports are the provider's uploads to the contract, frozen with the
    # statement as a message's files are (attachments.pin): readable by both parties.
    _, pinned = attachments.pin(caller, contract_id, file_ids, statement_id) if file_ids \
        else ([], [])
    shape = submit_shape(sales or 0, kpis, file_ids)

    def with_files(change: BillChange):
        shape(change)
        for item, key in pinned:
            target, actions, condition = attachments.sent_actions(item, key, statement_id,
                                                                  change.at)
            change.extra.append(lambda tx, t=target, a=actions, c=condition: tx.update(
                "attachment", t, actions=a, condition=c))

    return present_statement(act(role, contract, statement_id, bill.SUBMIT, now, with_files,
                                 request_key=request_key))


def confirm_shape(change: BillChange):
    s = change.stmt
    if change.to == bill.PAYABLE:
        become_payable(change, int(s.amount))
        change.notify(s.buyer_id, "statement_payable",
                      f"{change.title}：{s.period_start}~{s.period_end} 账单待支付 "
                      f"{money.yuan(int(s.amount))}")
    else:  # a prepaid bill held since its payment goes to the provider
        change.release(int(s.amount))
        change.move_escrow(money.release(int(s.amount)))
        change.notify_parties("statement_released",
                              f"{change.title}：{s.period_start}~{s.period_end} 服务费已结算")


def confirm(caller: Caller, contract_id: str, statement_id: str, now: datetime, *,
            request_key: str | None = None) -> dict:
    contract, role = _caller_role(caller, contract_id)
    after = act(role, contract, statement_id, bill.CONFIRM, now, confirm_shape,
                request_key=request_key)
    accounts.after_settling(contract_id, now)
    return present_statement(after)


def dispute(caller: Caller, contract_id: str, statement_id: str, reason: str,
            now: datetime, *, request_key: str | None = None) -> dict:
    contract, role = _caller_role(caller, contract_id)

    def shape(change: BillChange):
        change.set(StatementModel.dispute, {"by": caller.user_id, "reason": reason,
                                            "at": change.at, "from_status": change.stmt.status})
        change.notify(change.stmt.provider_id, "statement_disputed",
                      f"{change.title}：买家对 {change.stmt.period_start} 起的账单有异议")

    return present_statement(act(role, contract, statement_id, bill.DISPUTE, now, shape,
                                 request_key=request_key))


def resolve(caller: Caller, contract_id: str, statement_id: str, amount: int, note: str,
            now: datetime, *, request_key: str | None = None) -> dict:
    """The operator's amount (0..the statement's): as if confirmed with it."""
    contract = load(contract_id)
    stmt = load_statement(contract_id, statement_id)
    if stmt.amount is not None and not 0 <= amount <= int(stmt.amount):
        raise ValidationFailed("the amount lies between 0 and the statement's amount",
                               errors=[{"field": "amount", "problem": "out of range",
                                        "maximum": int(stmt.amount)}])

    def shape(change: BillChange):
        s = change.stmt
        change.set(StatementModel.resolution, {"by": caller.user_id, "amount": amount,
                                               "note": note, "at": change.at,
                                               "amount_before": int(s.amount)})
        if s.billing == bill.POSTPAID:
            become_payable(change, amount)
        else:
            change.set(StatementModel.amount, amount)
            change.release(amount)
            change.move_escrow(money.release(amount))
            accounts.refund_excess(change, int(s.paid) - amount)
        change.notify_parties("statement_resolved",
                              f"{change.title}：平台裁决账单金额 {money.yuan(amount)}（{note[:100]}）")

    refunds: list = []

    def shaped(change: BillChange):
        shape(change)
        refunds[:] = change.refunds

    after = act(deal.OPERATOR if caller.is_operator else "", contract, statement_id,
                bill.RESOLVE, now, shaped, request_key=request_key)
    instructions.execute_quietly(refunds, now)
    accounts.after_settling(contract_id, now)
    return present_statement(after)


# --- paying a bill ---------------------------------------------------------------
def trade_id(stmt: StatementModel) -> str:
    """One gateway trade per amount owed: a bill partly paid from the deposit is paid
    again under a new reference for the rest."""
    return f"{stmt.id}_p{int(stmt.paid)}"


def statement_of_trade(trade: str) -> str:
    return trade.rsplit("_p", 1)[0]


def pay(caller: Caller, contract_id: str, statement_id: str, now: datetime, *,
        channel: str = "page", request_key: str | None = None) -> dict:
    """Start paying a payable bill; `payment` says whether it is paid now or pending."""
    contract, role = _caller_role(caller, contract_id)
    if role != deal.BUYER:
        raise Forbidden("only the buyer pays a bill")
    stmt = load_statement(contract_id, statement_id)
    if stmt.status != bill.PAYABLE:
        if request_key and stmt.request_key == request_key:  # paid by this very request
            return {**present_statement(stmt), "payment": {"status": payments.SUCCEEDED}}
        raise InvalidTransition(f"cannot pay a statement that is {stmt.status}", status=stmt.status)
    owed = int(stmt.amount) - int(stmt.paid)
    ref = records.open_trade(trade_id(stmt))  # a new trade once one timed out
    try:
        result = records.start_charge(ref, owed, f"{contract.service.title} 服务费", now,
                                      channel=channel)
    except payments.GatewayError:
        raise ServiceUnavailable("the payment gateway is not answering; retry in a moment")
    if result.status != payments.SUCCEEDED:
        return {**present_statement(stmt), "payment": records.present_payment(result)}
    # Paid at once: settled by the one path every statement of the gateway takes.
    settling.settle(payments.TradeStatus(ref, payments.SUCCEEDED, ref=result.ref, amount=owed),
                    now, actor=caller, request_key=request_key)
    return {**present_statement(load_statement(contract_id, statement_id)),
            "payment": records.present_payment(result)}


def confirm_bill_payment(ref: str, trade: payments.TradeStatus, now: datetime, *,
                         request_key: str | None = None) -> str:
    """The gateway confirmed a bill's payment: fund it once; what the bill no longer
    needs (the deposit paid it meanwhile) goes straight back."""
    statement_id = statement_of_trade(ref)
    contract_id = contract_of_statement(statement_id)
    contract = load(contract_id)
    amount = int(trade.amount)

    def shape(change: BillChange):
        s = change.stmt
        owed = int(s.amount or 0) - int(s.paid) if s.status == bill.PAYABLE else 0
        take = min(amount, owed)
        change.fund(ref, amount, trade.ref)
        change.add(StatementModel.paid, take)
        if s.billing == bill.POSTPAID:
            change.release(take)
            change.move_escrow(money.release(take))
        accounts.refund_excess(change, amount - take, payment_ref=trade.ref, key=ref)
        if take and take == owed:
            change.to = bill.decide(s.status, bill.PAY, bill.SYSTEM, s.billing)
            change.set(StatementModel.status, change.to)
            change.set(StatementModel.overdue, False)
            change.mark_paid()
            change.notify_parties("statement_paid",
                                  f"{change.title}：{s.period_start} 起的账单已支付")

    def build(attempt):
        stmt = load_statement(contract_id, statement_id)
        change = BillChange(stmt, stmt.status, now, title=contract.service.title)
        if request_key:
            change.set(StatementModel.request_key, request_key)
        shape(change)
        return change

    try:
        change = optimistic.run(build, lock="statement", refused=_refused)
    except _Booked:
        return "already"
    instructions.execute_quietly(change.refunds, now)
    accounts.after_settling(contract_id, now)
    return "funded" if change.to == bill.PAID else "voided" if not int(change.after.paid) - int(
        change.stmt.paid) else "funded"
