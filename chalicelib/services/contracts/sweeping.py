"""What the contract sweep does, one due item at a time: a contract's timers (end the
trial, open the statements whose day has come, end a contract at its `ends_on`, return
its deposit) and a statement's deadlines (auto-submit, auto-confirm, pay from the
deposit, release a prepaid bill). Both are found through sparse indexes of what is due
and every move is conditional on the state it read, so two sweeps at once, or a sweep
racing a party, do no harm: exactly one of them moves."""
from datetime import datetime, timedelta

from chalicelib import clock, settings
from chalicelib.domain import contracts as deal
from chalicelib.domain import statements as bill
from chalicelib.domain.actors import SYSTEM
from chalicelib.domain.errors import InvalidTransition, NotFound
from chalicelib.services import optimistic
from chalicelib.services.contracts import accounts, engine
from chalicelib.services.contracts.billing import act, confirm_shape, submit_shape
from chalicelib.services.contracts.bills import (BillChange, load_statement, pending_deadline,
                                                reminder_at, timer_of)
from chalicelib.services.contracts.state import (as_date, deposit_held, load, next_period,
                                                 day_starts, terms_of, trial_ends_on, today)
from chalicelib.storage import shards
from chalicelib.storage.contracts import (TIMER_PK, ContractModel, StatementModel,
                                          statement_id, timer_due_bound, timer_due_key,
                                          timer_partition)

MOVED, SKIPPED = "moved", "skipped"
_MOVES_PER_ITEM = 24  # a contract the sweep has not seen for long catches up in one go


def due_contracts(now: datetime, *, limit: int, start_key=None):
    found, next_key, read = shards.query(
        ContractModel.due_timers, TIMER_PK,
        ContractModel.timer_due <= timer_due_bound(clock.to_key(now)), limit=limit,
        start_key=start_key, first=shards.turn(now), attributes_to_get=["id", "timer_due"])
    return [c.id for c in found], next_key, read


def due_statements(now: datetime, *, limit: int, start_key=None):
    found, next_key, read = shards.query(
        StatementModel.due_timers, TIMER_PK,
        StatementModel.timer_due <= timer_due_bound(clock.to_key(now)), limit=limit,
        start_key=start_key, first=shards.turn(now),
        attributes_to_get=["contract_id", "id", "timer_due"])
    return [(s.contract_id, s.id) for s in found], next_key, read


def open_statement(contract: ContractModel, period: deal.Period, now: datetime):
    """The period's statement, once (its id is the period's), with the contract moved on
    to the next period in the same transaction."""
    terms = terms_of(contract)
    at = clock.to_key(now)
    cfg = settings.get()
    stmt = StatementModel(
        contract.id, statement_id(contract.id, period.start.isoformat()),
        buyer_id=contract.buyer_id, provider_id=contract.provider_id, billing=terms.billing,
        kind=period.kind, period_start=period.start.isoformat(),
        period_end=period.end.isoformat(), days=period.days, length=period.length,
        commission_bps=period.commission_bps, base=period.base, version=1, opened_at=at,
        updated_at=at)
    title = contract.service.title
    if terms.billing == deal.PREPAID:
        paid = period.base == 0  # a bill of nothing is paid at once
        stmt.status, stmt.amount, stmt.sales = (bill.PAID if paid else bill.PAYABLE), period.base, 0
        stmt.payable_at = at
        stmt.pay_by = clock.to_key(now + timedelta(days=cfg.pay_days))
        if paid:
            stmt.paid_at = at
            after_period = max(day_starts(period.end + timedelta(days=1)), now)
            stmt.confirm_by = clock.to_key(after_period + timedelta(days=cfg.confirm_days))
        text = f"{title}：{stmt.period_start}~{stmt.period_end} 预付账单待支付"
    else:
        stmt.status = bill.OPEN
        stmt.submit_by = clock.to_key(now + timedelta(days=cfg.statement_submit_days))
        text = f"{title}：{stmt.period_start}~{stmt.period_end} 账单待服务商提交"
    due = timer_of(stmt)
    stmt.timer_pk, stmt.timer_due = ((timer_partition(stmt.id), timer_due_key(due, stmt.id))
                                    if due else (None, None))
    change = engine.Change(contract, contract.status, SYSTEM, now)
    change.set(ContractModel.next_period_start, (period.end + timedelta(days=1)).isoformat())
    change.extra.append(lambda tx: tx.save("statement", stmt,
                                           condition=StatementModel.id.does_not_exist()))
    change.notify_parties("statement_opened", text)
    return change


def apply_contract_timers(contract_id: str, now: datetime) -> str:
    """Every contract move due at `now`; `moved` if any."""
    moved = False
    for _ in range(_MOVES_PER_ITEM):
        try:
            contract = load(contract_id)
        except NotFound:
            return SKIPPED
        step = _next_move(contract, now)
        if step is None:
            break
        try:
            if step() is None:
                break
        except InvalidTransition:
            continue  # somebody moved first: look again
        moved = True
    if not moved:
        _touch(contract_id, now)  # a stale index entry: put it where it belongs
    return MOVED if moved else SKIPPED


def _next_move(contract: ContractModel, now: datetime):
    terms, day = terms_of(contract), today(now)
    if contract.status == deal.TRIAL:
        last = trial_ends_on(contract, terms)
        if last and day > last:
            return lambda: engine.transition(SYSTEM, contract.id, deal.END_TRIAL, now,
                                             read=contract, shape=_said("正式服务开始"))
    period = next_period(contract, terms)
    if period and contract.status in deal.LIVE | {deal.ENDED} \
            and deal.opens_on(period, terms.billing) <= day:
        return lambda: engine.commit(lambda attempt: open_statement(
            contract if attempt == 0 else load(contract.id), period, now), now)
    if contract.status == deal.ENDING and contract.ends_on and day > as_date(contract.ends_on):
        return lambda: engine.transition(SYSTEM, contract.id, deal.END, now, read=contract,
                                         shape=_said("合同已结束"))
    if contract.status == deal.ENDED and not period and deposit_held(contract) > 0 and (
            not contract.deposit_check_on or as_date(contract.deposit_check_on) <= day):
        return lambda: (None if accounts.return_deposit_if_done(contract.id, now) == "none"
                        else True)
    return None


def _said(text: str):
    def shape(change):
        change.notify_parties(f"contract_{change.to}", f"{change.contract.service.title}：{text}")
    return shape


def _touch(contract_id: str, now: datetime) -> None:
    def build(attempt):
        contract = load(contract_id)
        return engine.Change(contract, contract.status, SYSTEM, now)
    engine.commit(build, now)


def apply_statement_timer(contract_id: str, sid: str, now: datetime) -> str:
    """The statement's deadline that has passed, acted on once."""
    try:
        contract = load(contract_id)
        stmt = load_statement(contract_id, sid)
    except NotFound:
        return SKIPPED
    key = clock.to_key(now)
    result = None
    pending = pending_deadline(stmt)
    due_reminder = reminder_at(stmt)
    if pending and due_reminder and due_reminder <= key < getattr(stmt, pending[0]):
        return _remind(contract, stmt, pending, now)
    try:
        if stmt.status == bill.OPEN and stmt.submit_by <= key:
            result = act(bill.SYSTEM, contract, sid, bill.SUBMIT, now, submit_shape(0, {}, []),
                         due="submit_by")
        elif stmt.status in (bill.SUBMITTED, bill.PAID) and stmt.confirm_by \
                and stmt.confirm_by <= key:
            result = act(bill.SYSTEM, contract, sid, bill.CONFIRM, now, confirm_shape,
                         due="confirm_by")
        elif stmt.status == bill.PAYABLE and not stmt.overdue and stmt.pay_by <= key:
            result = accounts.draw_deposit_oldest_first(contract_id, sid, now)
            result = None if result == "skipped" else result
    except InvalidTransition:
        return SKIPPED  # a party moved first
    if result is None:
        return SKIPPED
    accounts.after_settling(contract_id, now)
    return MOVED


_REMINDERS = {"submit_by": "账单提交", "confirm_by": "账单确认", "pay_by": "账单付款"}


def _remind(contract: ContractModel, stmt: StatementModel, pending: tuple[str, str],
            now: datetime) -> str:
    """The 24 h reminder before a statement's deadline, once (conditional on the
    statement's version, like every move of it)."""
    name, who = pending

    def build(attempt):
        s = stmt if attempt == 0 else load_statement(contract.id, stmt.id)
        if s.status != stmt.status or reminder_at(s) is None:
            return None
        change = BillChange(s, s.status, now, title=contract.service.title)
        change.set(StatementModel.reminders_sent,
                   [*(s.reminders_sent or []), f"reminder:{name}:{s.status}"])
        user = s.provider_id if who == "provider" else s.buyer_id
        change.notify(user, "statement_reminder",
                      f"{contract.service.title}：{s.period_start} 起的账单{_REMINDERS[name]}"
                      f"截止 {clock.for_people(getattr(s, name))}")
        return change

    return MOVED if optimistic.run(build, lock="statement") else SKIPPED
