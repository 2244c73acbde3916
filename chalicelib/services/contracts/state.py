"""What a decision about a contract needs: the contract, the caller's role in it, the
facts for `domain.contracts.decide`, its dates, and when its next timer is due."""
from datetime import date, datetime, time, timedelta

from pynamodb.exceptions import DoesNotExist

from chalicelib import clock
from chalicelib.domain import contracts as deal
from chalicelib.domain.actors import Caller
from chalicelib.domain.errors import NotFound
from chalicelib.storage.contracts import ContractModel, timer_due_key, timer_partition


def today(now: datetime) -> date:
    """The market's day (Beijing)."""
    return now.astimezone(clock.MARKET_TIME).date()


def day_starts(day: date) -> datetime:
    """The moment a Beijing day begins."""
    return datetime.combine(day, time(0), tzinfo=clock.MARKET_TIME)


def as_date(raw: str | None) -> date | None:
    return date.fromisoformat(raw) if raw else None


def terms_of(contract: ContractModel) -> deal.Terms:
    raw = contract.terms.as_dict() if hasattr(contract.terms, "as_dict") else dict(contract.terms)
    return deal.check_terms(_plain(raw))


def _plain(value):
    """Numbers come back from DynamoDB as floats or Decimals; terms hold whole numbers."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, float) or type(value).__name__ == "Decimal":
        return int(value)
    return value


def load(contract_id: str) -> ContractModel:
    if not isinstance(contract_id, str) or not 1 <= len(contract_id) <= 128:
        raise NotFound("no such contract")
    try:
        return ContractModel.get(contract_id, consistent_read=True)
    except DoesNotExist:
        raise NotFound("no such contract")


def role_of(caller: Caller, contract: ContractModel) -> str:
    """The caller's part in this contract; a stranger may not even see it (404)."""
    if caller.user_id == contract.buyer_id:
        return deal.BUYER
    if caller.user_id == contract.provider_id:
        return deal.PROVIDER
    if "system" in caller.roles:
        return deal.SYSTEM
    if caller.is_operator:
        return deal.OPERATOR
    raise NotFound("no such contract")


def deposit_held(contract: ContractModel) -> int:
    """The deposit still held and not promised back (`paid − used − returned − instructed`)."""
    return (int(contract.deposit_paid) - int(contract.deposit_used)
            - int(contract.deposit_returned) - int(contract.deposit_instructed or 0))


def trial_ends_on(contract: ContractModel, terms: deal.Terms) -> date | None:
    live_on = as_date(contract.live_on)
    if live_on is None or not terms.trial_days:
        return None
    planned = deal.trial_last_day(live_on, terms.trial_days)
    ends_on = as_date(contract.ends_on)
    return min(planned, ends_on) if ends_on else planned


def facts(contract: ContractModel, role: str, now: datetime) -> deal.Facts:
    terms = terms_of(contract)
    return deal.Facts(today=today(now), role=role, signed_by=frozenset(contract.signed_by or ()),
                      deposit=terms.deposit, trial_days=terms.trial_days,
                      trial_ends_on=trial_ends_on(contract, terms),
                      ends_on=as_date(contract.ends_on),
                      suspended_from=contract.suspended_from,
                      # The signing transaction checks the provider's standing itself.
                      provider_approved=True)


def next_period(contract: ContractModel, terms: deal.Terms,
                start: date | None = None) -> deal.Period | None:
    """The period starting at `start` (default: the next to open), or None when the
    contract has none left (it ended before it)."""
    start = start or as_date(contract.next_period_start)
    live_on, ends_on = as_date(contract.live_on), as_date(contract.ends_on)
    if start is None or live_on is None or (ends_on is not None and start > ends_on):
        return None
    for period in deal.periods(terms, live_on, ends_on, until=None if ends_on else start):
        if period.start == start:
            return period
    return None


def next_statement_on(contract: ContractModel, terms: deal.Terms) -> date | None:
    period = next_period(contract, terms)
    return deal.opens_on(period, terms.billing) if period else None


def timer_at(contract: ContractModel, terms: deal.Terms) -> datetime | None:
    """When the sweep next has something to do for this contract: open a statement,
    end the trial, or end the contract (each at the start of its Beijing day)."""
    days = []
    opens = next_statement_on(contract, terms)
    if opens and contract.status in deal.LIVE | {deal.ENDED}:
        days.append(opens)
    if contract.status == deal.TRIAL:
        last = trial_ends_on(contract, terms)
        if last:
            days.append(last + timedelta(days=1))
    if contract.status == deal.ENDING and contract.ends_on:
        days.append(as_date(contract.ends_on) + timedelta(days=1))
    if contract.status == deal.ENDED and not opens and deposit_held(contract) > 0:
        # The deposit goes back once no bill is outstanding: tried the day after the end,
        # and again each day the sweep found one still open.
        after_end = as_date(contract.ends_on) + timedelta(days=1) if contract.ends_on else None
        days.append(max(d for d in (after_end, as_date(contract.deposit_check_on)) if d)
                    if after_end or contract.deposit_check_on else as_date(contract.live_on))
    return day_starts(min(days)) if days else None


def timer_values(contract: ContractModel, terms: deal.Terms) -> dict:
    at = timer_at(contract, terms)
    if at is None:
        return {"timer_pk": None, "timer_due": None}
    return {"timer_pk": timer_partition(contract.id),
            "timer_due": timer_due_key(clock.to_key(at), contract.id)}


def deadlines(contract: ContractModel, terms: deal.Terms) -> dict:
    last = trial_ends_on(contract, terms)
    opens = next_statement_on(contract, terms)
    return {"trial_ends_on": last.isoformat() if last else None,
            "next_statement_on": opens.isoformat() if opens else None}
