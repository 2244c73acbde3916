"""A prepaid period cut short by a termination (API: "A prepaid period cut short is
re-priced by days served, and the excess held is refunded (to the deposit first, up to
what came from it)"). Its statement opened whole on the period's first day; when the
termination sets an `ends_on` inside that period, the statement is re-priced in the
termination's own transaction (conditional on the statement's version, like every move
of it), so it happens exactly once, and the excess leaves through the gateway after."""
from datetime import timedelta

from chalicelib import clock, settings
from chalicelib.domain import contracts as deal
from chalicelib.domain import statements as bill
from chalicelib.services.contracts import accounts
from chalicelib.services.contracts.bills import BillChange, days
from chalicelib.services.contracts.state import as_date, day_starts, terms_of
from chalicelib.storage.contracts import ContractModel, StatementModel, statement_id

# A prepaid statement still holding (or owing) money for days that will not be served.
_REPRICEABLE = frozenset({bill.PAYABLE, bill.PAID, bill.DISPUTED})


def cut_short(change) -> list:
    """Add to a terminating contract change (engine.Change, `after.ends_on` set) the
    re-pricing of the prepaid statement its new end cuts short; the refunds it records
    (to execute once committed), or []."""
    after = change.after
    terms = terms_of(after)
    if terms.billing != deal.PREPAID or not after.live_on or not after.ends_on:
        return []
    last = deal.periods(terms, as_date(after.live_on), as_date(after.ends_on))[-1]
    try:
        stmt = StatementModel.get(after.id, statement_id(after.id, last.start.isoformat()),
                                  consistent_read=True)
    except StatementModel.DoesNotExist:
        return []  # not open yet: it opens already cut short
    if stmt.status not in _REPRICEABLE or stmt.period_end <= last.end.isoformat():
        return []
    paid, cost = int(stmt.paid), last.base
    to = bill.PAID if stmt.status == bill.PAYABLE and paid >= cost else stmt.status
    stmt_change = BillChange(stmt, to, change.now, title=after.service.title)
    stmt_change.set(StatementModel.period_end, last.end.isoformat())
    stmt_change.set(StatementModel.days, last.days)
    stmt_change.set(StatementModel.base, cost)
    stmt_change.set(StatementModel.amount, cost)
    stmt_change.set(StatementModel.repriced, {
        "amount_before": int(stmt.amount or 0), "period_end_before": stmt.period_end,
        "at": change.at})
    accounts.refund_excess(stmt_change, paid - cost, tag="cut")
    if to == bill.PAID:
        stmt_change.set(StatementModel.overdue, False)
        if stmt.status == bill.PAYABLE:
            stmt_change.set(StatementModel.paid_at, change.at)
    if to == bill.PAID or stmt.status == bill.DISPUTED and stmt.confirm_by:
        # Released after the shortened period, when confirmed or CONFIRM_DAYS pass.
        start = max(day_starts(last.end + timedelta(days=1)), change.now)
        stmt_change.set(StatementModel.confirm_by,
                        clock.to_key(start + days(settings.get().confirm_days)))
    attributes = ContractModel.get_attributes()
    for name, delta in stmt_change.contract_deltas.items():
        change.add(attributes[name], delta)
    if stmt_change.escrow:  # the contract's one escrow update carries the bill's too
        change.move_escrow(stmt_change.escrow)
    change.extra.append(stmt_change.write_in)
    refunds = stmt_change.refunds
    change.notify_parties("statement_repriced",
                          f"{after.service.title}：{stmt.period_start} 起的预付账单按服务天数"
                          f"重算为 {cost / 100:.2f} 元" + ("，多付部分原路退回" if refunds else ""))
    return refunds
