"""The contract (包月合同) as data: terms and their validation, states and their 中文
labels, the transition table (state, action, actor role) → next state + effects read by
one `decide()`, and the period arithmetic (calendar months or quarters in Beijing
dates, the trial as its own period, proration by days, commission never prorated).

Pure Python: dates come in as `datetime.date`, money as integer fen.
"""
from calendar import monthrange
from dataclasses import dataclass, field
from datetime import date, timedelta

from chalicelib.domain.contract_terms import (  # noqa: F401 - the contract's terms, re-exported
    MAX_BPS, MONTH, POSTPAID, PREPAID, QUARTER, Terms, check_terms)
from chalicelib.domain.errors import (ContractSigned, DomainError, Forbidden,
                                      InvalidTransition, ProviderNotApproved)

DRAFT, AWAITING_DEPOSIT, ONBOARDING = "draft", "awaiting_deposit", "onboarding"
TRIAL, ACTIVE, SUSPENDED = "trial", "active", "suspended"
ENDING, ENDED, CANCELLED = "ending", "ended", "cancelled"
LABELS = {DRAFT: "洽谈中", AWAITING_DEPOSIT: "待付定金", ONBOARDING: "培训考核中",
          TRIAL: "试用期", ACTIVE: "服务中", SUSPENDED: "已暂停", ENDING: "解约中",
          ENDED: "已结束", CANCELLED: "已取消"}
STATES = tuple(LABELS)
CLOSED = frozenset({ENDED, CANCELLED})
LIVE = frozenset({TRIAL, ACTIVE, SUSPENDED, ENDING})  # periods run (statements open)

BUYER, PROVIDER, OPERATOR, SYSTEM = "buyer", "provider", "operator", "system"
PARTIES = (BUYER, PROVIDER)

# Actions; the system ones are the sweep's and the gateway's.
EDIT_TERMS, SIGN, PAY_DEPOSIT, GO_LIVE, TERMINATE = (
    "edit_terms", "sign", "pay_deposit", "go_live", "terminate")
END_TRIAL, SUSPEND, RESUME, END = "end_trial", "suspend", "resume", "end"
ACTIONS = (EDIT_TERMS, SIGN, PAY_DEPOSIT, GO_LIVE, TERMINATE, END_TRIAL, SUSPEND, RESUME, END)

# Effects: what the service writes in the same transaction as the state change.
SET_TERMS = "set_terms"            # new terms; every signature cleared
RECORD_SIGNATURE = "record_signature"
CHECK_PROVIDER = "check_provider"  # the provider is still approved when the move commits
FUND_DEPOSIT = "fund_deposit"      # gateway → the contract's escrow
SET_LIVE_ON = "set_live_on"        # live_on = today
END_TODAY = "end_today"            # ends_on = today (a trial terminated)
GIVE_NOTICE = "give_notice"        # ends_on = today + notice_days
REFUND_DEPOSIT = "refund_deposit"  # what the deposit still holds goes back (cancelled)
RECORD_SUSPENSION = "record_suspension"  # remember the state to come back to
CLEAR_SUSPENSION = "clear_suspension"

# Guards: facts a move needs besides the state.
NOT_SIGNED_BY_ROLE = "not_signed_by_role"
PROVIDER_APPROVED = "provider_approved"
TRIAL_OVER = "trial_over"
ENDS_ON_PASSED = "ends_on_passed"
RESUMES_HERE = "resumes_here"  # RESUME goes back to the state it was suspended from
_GUARD_ERRORS = {PROVIDER_APPROVED: ProviderNotApproved}


@dataclass(frozen=True)
class Rule:
    to: str
    effects: tuple = ()
    guard: tuple = ()
    # (fact name, state): the first fact that holds sends the move there instead.
    to_when: tuple = ()


_BEFORE_LIVE = (DRAFT, AWAITING_DEPOSIT, ONBOARDING)

TRANSITIONS: dict[tuple[str, str, str], Rule] = {
    **{(DRAFT, EDIT_TERMS, r): Rule(DRAFT, (SET_TERMS,)) for r in PARTIES},
    # The second signature makes the contract binding: the deposit is due, or (none
    # agreed) training starts at once.
    **{(DRAFT, SIGN, r): Rule(DRAFT, (RECORD_SIGNATURE,) + ((CHECK_PROVIDER,) if r == PROVIDER
                                                            else ()),
                              (NOT_SIGNED_BY_ROLE,) + ((PROVIDER_APPROVED,) if r == PROVIDER
                                                       else ()),
                              (("completes_with_deposit", AWAITING_DEPOSIT),
                               ("completes_without_deposit", ONBOARDING)))
       for r in PARTIES},
    # The buyer starts the payment; the gateway's confirmation (system) moves the state.
    (AWAITING_DEPOSIT, PAY_DEPOSIT, SYSTEM): Rule(ONBOARDING, (FUND_DEPOSIT,)),
    (ONBOARDING, GO_LIVE, BUYER): Rule(TRIAL, (SET_LIVE_ON,),
                                       to_when=(("no_trial", ACTIVE),)),
    **{(s, TERMINATE, r): Rule(CANCELLED, (REFUND_DEPOSIT,))
       for s in _BEFORE_LIVE for r in PARTIES},
    **{(TRIAL, TERMINATE, r): Rule(ENDED, (END_TODAY,)) for r in PARTIES},
    **{(s, TERMINATE, r): Rule(ENDING, (GIVE_NOTICE,))
       for s in (ACTIVE, SUSPENDED) for r in PARTIES},
    (TRIAL, END_TRIAL, SYSTEM): Rule(ACTIVE, (), (TRIAL_OVER,)),
    **{(s, SUSPEND, SYSTEM): Rule(SUSPENDED, (RECORD_SUSPENSION,)) for s in (TRIAL, ACTIVE, ENDING)},
    **{(SUSPENDED, RESUME, SYSTEM): Rule(ACTIVE, (CLEAR_SUSPENSION,),
                                         to_when=(("resumes_trial", TRIAL),
                                                  ("resumes_ending", ENDING)))},
    (ENDING, END, SYSTEM): Rule(ENDED, (), (ENDS_ON_PASSED,)),
}

ACTORS = {action: frozenset(role for (_, a, role) in TRANSITIONS if a == action)
          for action in ACTIONS}
EVENT_TYPES = {EDIT_TERMS: "terms_changed", SIGN: "signed", PAY_DEPOSIT: "deposit_paid",
               GO_LIVE: "went_live", TERMINATE: "terminated", END_TRIAL: "trial_ended",
               SUSPEND: "suspended", RESUME: "resumed", END: "ended"}


@dataclass(frozen=True)
class Facts:
    """What a guard may look at, read from the contract and the clock by the caller."""

    today: date
    role: str = ""  # who acts (for NOT_SIGNED_BY_ROLE)
    signed_by: frozenset = frozenset()
    deposit: int = 0
    trial_days: int = 0
    trial_ends_on: date | None = None  # the last trial day
    ends_on: date | None = None
    suspended_from: str | None = None
    provider_approved: bool = True


@dataclass(frozen=True)
class Outcome:
    from_status: str
    to: str
    effects: tuple
    event_type: str


def decide(state: str, action: str, role: str, facts: Facts) -> Outcome:
    """Apply the table: the next state and effects, or the named refusal."""
    if role not in ACTORS.get(action, ()):
        raise Forbidden(f"a {role} may not {action} a contract", status=state)
    rule = TRANSITIONS.get((state, action, role))
    if rule is None:
        if action == EDIT_TERMS and state != DRAFT:
            raise ContractSigned(status=state)
        raise InvalidTransition(f"cannot {action} a contract that is {state}", status=state)
    for guard in rule.guard:
        if not _guard_holds(guard, role, facts):
            error = _GUARD_ERRORS.get(guard, InvalidTransition)
            raise error(f"cannot {action} this contract now", status=state, reason=guard)
    to = next((s for fact, s in rule.to_when if _fact(fact, role, facts)), rule.to)
    return Outcome(state, to, rule.effects, EVENT_TYPES[action])


def _guard_holds(guard: str, role: str, facts: Facts) -> bool:
    if guard == NOT_SIGNED_BY_ROLE:
        return role not in facts.signed_by
    if guard == PROVIDER_APPROVED:
        return facts.provider_approved
    if guard == TRIAL_OVER:
        return facts.trial_ends_on is not None and facts.today > facts.trial_ends_on
    if guard == ENDS_ON_PASSED:
        return facts.ends_on is not None and facts.today > facts.ends_on
    raise ValueError(f"unknown guard {guard}")


def _fact(name: str, role: str, facts: Facts) -> bool:
    other_signed = (set(PARTIES) - {role}) <= set(facts.signed_by)
    if name == "completes_with_deposit":
        return other_signed and facts.deposit > 0
    if name == "completes_without_deposit":
        return other_signed and facts.deposit == 0
    if name == "no_trial":
        return facts.trial_days == 0
    if name == "resumes_trial":
        return facts.suspended_from == TRIAL
    if name == "resumes_ending":
        return facts.suspended_from == ENDING
    raise ValueError(f"unknown fact {name}")


# What a client offers a party, by the verb of its route (POST /contracts/{id}/<verb>).
CLIENT_VERBS = {EDIT_TERMS: "terms", SIGN: "sign", GO_LIVE: "go-live", TERMINATE: "terminate"}


def allowed_actions(state: str, role: str, facts: Facts) -> list[str]:
    """The verbs `role` may use on a contract in `state` now: exactly what `decide` lets
    through (plus `pay` for the buyer while the deposit is due: the gateway confirms it)."""
    out = []
    if state == AWAITING_DEPOSIT and role == BUYER:
        out.append("pay")
    for action, verb in CLIENT_VERBS.items():
        try:
            decide(state, action, role, facts)
        except DomainError:
            continue
        out.append(verb)
    return out


# --- periods --------------------------------------------------------------------
TRIAL_PERIOD, REGULAR = "trial", "regular"


@dataclass(frozen=True)
class Period:
    """One settled stretch of a contract: dates inclusive, `days` served of
    `length` (the calendar month's, quarter's or trial's), `base` already prorated."""

    kind: str
    start: date
    end: date
    days: int
    length: int
    base: int
    commission_bps: int = 0
    meta: dict = field(default_factory=dict, compare=False)

    @property
    def cut_short(self) -> bool:
        return self.days < self.length


def period_bounds(day: date, period: str) -> tuple[date, date]:
    """The calendar month (1st..last) or quarter (01-01, 04-01, 07-01, 10-01) holding `day`."""
    if period == MONTH:
        return day.replace(day=1), day.replace(day=monthrange(day.year, day.month)[1])
    first_month = (day.month - 1) // 3 * 3 + 1
    start = date(day.year, first_month, 1)
    last_month = first_month + 2
    return start, date(day.year, last_month, monthrange(day.year, last_month)[1])


def prorate(amount: int, days: int, length: int) -> int:
    """`amount` for `days` of `length`, rounded down (whole when nothing is missing)."""
    if days >= length:
        return amount
    return amount * days // length


def trial_last_day(live_on: date, trial_days: int) -> date | None:
    return live_on + timedelta(days=trial_days - 1) if trial_days else None


def periods(terms: Terms, live_on: date, ends_on: date | None = None, *,
            until: date | None = None) -> list[Period]:
    """Every period from `live_on`, in order: the trial (if any) and then calendar months
    or quarters, the first and a cut-short last prorated by days. Stops at `ends_on`
    (the last day served) or, for a contract with no end, at the period holding `until`."""
    if ends_on is None and until is None:
        raise ValueError("an open-ended contract needs `until`")
    out: list[Period] = []
    start = live_on
    if terms.trial_days:
        planned = trial_last_day(live_on, terms.trial_days)
        end = min(planned, ends_on) if ends_on else planned
        days = (end - live_on).days + 1
        out.append(Period(TRIAL_PERIOD, live_on, end, days, terms.trial_days,
                          prorate(terms.trial_fee, days, terms.trial_days)))
        start = end + timedelta(days=1)
    last = ends_on if ends_on is not None else period_bounds(until, terms.period)[1]
    while start <= last:
        first, natural_end = period_bounds(start, terms.period)
        end = min(natural_end, last)
        length = (natural_end - first).days + 1
        days = (end - start).days + 1
        out.append(Period(REGULAR, start, end, days, length,
                          prorate(terms.base, days, length), terms.commission_bps))
        start = end + timedelta(days=1)
    return out


def opens_on(period: Period, billing: str) -> date:
    """The day the sweep opens the period's statement: the day after it ends (postpaid)
    or the day it starts (prepaid)."""
    return period.start if billing == PREPAID else period.end + timedelta(days=1)


def commission(sales: int, bps: int) -> int:
    """Of the declared sales, rounded down; never prorated."""
    return sales * bps // MAX_BPS


def statement_amount(period: Period, sales: int) -> int:
    return period.base + commission(sales, period.commission_bps)


def ends_on_after_notice(today: date, notice_days: int) -> date:
    return today + timedelta(days=notice_days)


def reprice_prepaid(paid: int, from_deposit: int, period: Period, served_days: int) -> dict:
    """A prepaid period cut short: what its days served cost, and where the excess held
    goes back — to the deposit first, up to what came from it, the rest to the buyer."""
    cost = prorate(period.base, served_days, period.length)
    excess = max(0, paid - cost)
    to_deposit = min(excess, from_deposit)
    return {"amount": min(paid, cost), "to_deposit": to_deposit, "refund": excess - to_deposit}


def draw_deposit(held: int, bills: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """How the deposit held pays overdue bills, earliest `pay_by` first (the caller sorts):
    (bill, amount taken) for each bill it reaches."""
    out = []
    for bill, owed in bills:
        if held <= 0:
            break
        take = min(held, owed)
        if take:
            out.append((bill, take))
            held -= take
    return out
