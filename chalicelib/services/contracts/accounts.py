"""A contract's escrow account (`escrow:<contract>`) as bills move it: money held and
let out, excess sent back, the deposit drawn for an overdue bill (suspending the
contract when it does not cover it), a suspended contract resumed once nothing is
overdue, and the deposit returned once an ended contract has nothing outstanding."""
import logging
from datetime import datetime, timedelta

from chalicelib import clock
from chalicelib.domain import contracts as deal
from chalicelib.domain import escrow as money
from chalicelib.domain import statements as bill
from chalicelib.domain.actors import SYSTEM
from chalicelib.domain.errors import InvalidTransition
from chalicelib.domain.instructions import bill_refund_id
from chalicelib.services.contracts import engine
from chalicelib.services.contracts.bills import BillChange, load_statement
from chalicelib.services.contracts.reading import statements_of
from chalicelib.services.contracts.state import (deposit_held, load, next_period, terms_of,
                                                 today)
from chalicelib.storage.contracts import ContractModel, StatementModel
from chalicelib.storage.ledger import new_instruction

log = logging.getLogger("market.contracts")


def refund_excess(change: BillChange, excess: int, *, payment_ref: str | None = None,
                  key: str | None = None, tag: str = "bill"):
    """What a bill no longer needs of what it holds: back to the deposit first, up to
    what came from it, the rest to the buyer through the gateway."""
    if excess <= 0:
        return
    s = change.stmt
    to_deposit = 0 if key else min(excess, int(s.paid_from_deposit))
    if to_deposit:
        change.contract_deltas["deposit_used"] -= to_deposit
        change.add(StatementModel.paid_from_deposit, -to_deposit)
    refund = excess - to_deposit
    if refund:
        ref = payment_ref or s.payment_ref
        change.refunds.append(new_instruction(
            bill_refund_id(key or s.id, tag), money.REFUND, refund, provider_id=s.provider_id,
            at=change.at, order_id=s.contract_id, payment_ref=ref))
        change.contract_deltas["bills_instructed"] += refund
    if key is None:
        change.add(StatementModel.paid, -excess)


def draw_deposit(contract_id: str, statement_id: str, now: datetime) -> str:
    """A bill unpaid at its `pay_by`: paid from the deposit as far as it reaches (the
    release to the provider in the same transaction); what is left suspends the contract
    until the buyer pays it. Conditional on the contract's version and the statement's."""
    outcome = {}

    def build(attempt):
        contract = load(contract_id)
        stmt = load_statement(contract_id, statement_id)
        if stmt.status != bill.PAYABLE or stmt.overdue or not stmt.pay_by \
                or stmt.pay_by > clock.to_key(now):
            return None
        owed = int(stmt.amount) - int(stmt.paid)
        take = min(deposit_held(contract), owed)
        rest = owed - take
        to = contract.status
        if rest and contract.status in (deal.TRIAL, deal.ACTIVE, deal.ENDING):
            to = deal.decide(contract.status, deal.SUSPEND, deal.SYSTEM,
                             deal.Facts(today=today(now))).to
        change = engine.Change(contract, to, SYSTEM, now,
                               effects=(deal.RECORD_SUSPENSION,) if to == deal.SUSPENDED
                               and contract.status != deal.SUSPENDED else ())
        stmt_change = BillChange(stmt, bill.PAID if not rest else bill.PAYABLE, now,
                                 title=contract.service.title)
        stmt_change.add(StatementModel.paid, take)
        stmt_change.add(StatementModel.paid_from_deposit, take)
        change.add(ContractModel.deposit_used, take)
        if stmt.billing == bill.POSTPAID and take:
            stmt_change.release(take)
            change.move_escrow(money.release(take))
        if rest:
            stmt_change.set(StatementModel.overdue, True)
            change.notify_parties("contract_suspended" if to == deal.SUSPENDED else "statement_overdue",
                                  f"{contract.service.title}：账单逾期未付，尚欠 {money.yuan(rest)}"
                                  + ("，合同已暂停" if to == deal.SUSPENDED else ""))
        else:
            stmt_change.mark_paid()
            change.notify_parties("statement_paid",
                                  f"{contract.service.title}：逾期账单已从定金中扣付")
        change.extra.append(stmt_change.write_in)
        outcome["result"] = "suspended" if to == deal.SUSPENDED != contract.status else \
            "paid_from_deposit" if not rest else "owed"
        return change

    change = engine.commit(build, now)
    return outcome.get("result", "skipped") if change else "skipped"


def draw_deposit_oldest_first(contract_id: str, statement_id: str, now: datetime) -> str:
    """The deposit pays overdue bills oldest first, whatever order the sweep finds them
    in (it reads its shards one after another, so two bills due at the same instant may
    come in either order): the contract's earlier bills that are due too are drawn for
    before this one (a bill's id ends with its period's first day, so the contract's
    statements come in period order). Each draw is its own conditional transaction."""
    key = clock.to_key(now)
    result = "skipped"
    for stmt in statements_of(contract_id):
        if stmt.id > statement_id:
            break
        if stmt.id == statement_id or (stmt.status == bill.PAYABLE and not stmt.overdue
                                       and stmt.pay_by and stmt.pay_by <= key):
            result = draw_deposit(contract_id, stmt.id, now)
    return result


def after_settling(contract_id: str, now: datetime) -> None:
    """Once a bill is settled: resume a suspended contract with nothing overdue, and
    return an ended contract's deposit once nothing is outstanding. Best-effort here;
    the sweep tries again (the contract's timer) after a crash in between."""
    try:
        resume_if_clear(contract_id, now)
        return_deposit_if_done(contract_id, now)
    except Exception:  # the bill is settled; the sweep finishes the rest
        log.exception("contract %s: follow-up of a settled bill left to the sweep", contract_id)


def _overdue(statements) -> bool:
    return any(s.status == bill.PAYABLE and s.overdue for s in statements)


def resume_if_clear(contract_id: str, now: datetime) -> ContractModel | None:
    contract = load(contract_id)
    if contract.status != deal.SUSPENDED or _overdue(statements_of(contract_id)):
        return None

    def shape(change):
        change.notify_parties("contract_resumed", f"{change.contract.service.title}：欠款已付清，合同恢复")

    try:
        return engine.transition(SYSTEM, contract_id, deal.RESUME, now, shape=shape, read=contract)
    except InvalidTransition:
        return None


def return_deposit_if_done(contract_id: str, now: datetime) -> str:
    """An ended contract with no period left to open and no bill outstanding: what the
    deposit still holds goes back through the gateway (what it could not cover stays
    owed). Otherwise the sweep looks again tomorrow."""

    def build(attempt):
        contract = load(contract_id)
        if contract.status != deal.ENDED or deposit_held(contract) <= 0 \
                or next_period(contract, terms_of(contract)):
            return None
        change = engine.Change(contract, contract.status, SYSTEM, now)
        if any(s.status in bill.OUTSTANDING for s in statements_of(contract_id)):
            change.set(ContractModel.deposit_check_on,
                       (today(now) + timedelta(days=1)).isoformat())
            change.returned = False
            return change
        change.refund_deposit()
        change.set(ContractModel.deposit_check_on, None)
        change.notify(contract.buyer_id, "contract_deposit_returned",
                      f"{contract.service.title}：合同已结束，定金余额原路退回")
        change.returned = True
        return change

    change = engine.commit(build, now)
    if change is None:
        return "none"
    return "returned" if change.returned else "later"
