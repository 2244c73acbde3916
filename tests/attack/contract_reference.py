"""A reference model of one contract (包月合同) and its money, written from the contract
text (API.md, "Contracts") only: deliberately naive, no chalicelib imports. The stateful
test (test_contract_model.py) runs the same actions against the app and compares both
after every step.

Time moves in whole Beijing days, one sweep a day at the same hour, so every deadline
(`submit_by`, `confirm_by`, `pay_by`: a whole number of 24 h after a sweep or an action)
falls on a sweep and the model can act on it that day. No platform fee (as in the tests).
Where the text is silent the model follows the code; each such choice is marked CHOICE.
"""
import calendar
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

BEIJING = timezone(timedelta(hours=8))
SUBMIT_DAYS, CONFIRM_DAYS, PAY_DAYS = 5, 7, 7
LIVE = {"trial", "active", "suspended", "ending"}
OUTSTANDING = {"open", "submitted", "payable", "disputed"}


@dataclass(frozen=True)
class Answer:
    status: int
    code: str | None = None


OK = Answer(200)
FORBIDDEN = Answer(403, "FORBIDDEN")
INVALID = Answer(409, "INVALID_TRANSITION")


@dataclass
class Bill:
    kind: str
    start: date
    end: date
    days: int
    length: int
    base: int
    bps: int
    status: str
    amount: int | None
    opened: datetime
    paid: int = 0
    from_deposit: int = 0
    overdue: bool = False
    submit_by: datetime | None = None
    confirm_by: datetime | None = None
    pay_by: datetime | None = None

    def view(self) -> tuple:
        return (self.start.isoformat(), self.end.isoformat(), self.status, self.amount,
                self.paid, self.from_deposit)


def prorate(amount: int, days: int, length: int) -> int:
    return amount if days >= length else amount * days // length


def calendar_period(day: date, period: str) -> tuple[date, date]:
    if period == "month":
        return day.replace(day=1), day.replace(day=calendar.monthrange(day.year, day.month)[1])
    first = (day.month - 1) // 3 * 3 + 1
    last = first + 2
    return date(day.year, first, 1), date(day.year, last, calendar.monthrange(day.year, last)[1])


@dataclass
class Contract:
    terms: dict
    now: datetime
    status: str = "draft"
    signed: set = field(default_factory=set)
    live_on: date | None = None
    ends_on: date | None = None
    next_start: date | None = None
    suspended_from: str | None = None
    deposit_paid: int = 0
    deposit_used: int = 0
    deposit_returned: int = 0
    bills: list[Bill] = field(default_factory=list)
    provider_balance: int = 0
    buyer_refunded: int = 0  # bills' excess sent back through the gateway

    # --- views -------------------------------------------------------------------
    @property
    def today(self) -> date:
        return self.now.astimezone(BEIJING).date()

    @property
    def held(self) -> int:
        return self.deposit_paid - self.deposit_used - self.deposit_returned

    def deposit_view(self) -> dict:
        return {"paid": self.deposit_paid, "held": self.held, "used": self.deposit_used,
                "returned": self.deposit_returned}

    # --- periods ---------------------------------------------------------------------
    def period_at(self, start: date):
        """(kind, start, end, days, length, base, bps) of the period starting at `start`,
        cut at ends_on, or None."""
        t = self.terms
        if self.live_on is None or (self.ends_on and start > self.ends_on):
            return None
        if t["trial_days"] and start == self.live_on:
            planned = self.live_on + timedelta(days=t["trial_days"] - 1)
            end = min(planned, self.ends_on) if self.ends_on else planned
            days = (end - start).days + 1
            return ("trial", start, end, days, t["trial_days"],
                    prorate(t["trial_fee"], days, t["trial_days"]), 0)
        first, natural = calendar_period(start, t["period"])
        end = min(natural, self.ends_on) if self.ends_on else natural
        length = (natural - first).days + 1
        days = (end - start).days + 1
        return ("regular", start, end, days, length, prorate(t["base"], days, length),
                t["commission_bps"])

    def trial_last_day(self) -> date | None:
        if not self.terms["trial_days"] or self.live_on is None:
            return None
        planned = self.live_on + timedelta(days=self.terms["trial_days"] - 1)
        return min(planned, self.ends_on) if self.ends_on else planned

    # --- the parties ---------------------------------------------------------------
    def sign(self, role: str) -> Answer:
        if self.status != "draft" or role in self.signed:
            return INVALID
        self.signed.add(role)
        if self.signed == {"buyer", "provider"}:
            self.status = "awaiting_deposit" if self.terms["deposit"] else "onboarding"
        return OK

    def pay_deposit(self, role: str) -> Answer:
        if role != "buyer":
            return FORBIDDEN
        if self.status != "awaiting_deposit":
            return INVALID
        self.deposit_paid += self.terms["deposit"]
        self.status = "onboarding"
        return OK

    def go_live(self, role: str) -> Answer:
        if role != "buyer":
            return FORBIDDEN
        if self.status != "onboarding":
            return INVALID
        self.live_on = self.next_start = self.today
        self.status = "trial" if self.terms["trial_days"] else "active"
        return OK

    def terminate(self, role: str) -> Answer:
        if self.status in ("draft", "awaiting_deposit", "onboarding"):
            self.status = "cancelled"
            self.deposit_returned += self.held
            return OK
        if self.status == "trial":
            self.status, self.ends_on = "ended", self.today
        elif self.status in ("active", "suspended"):
            self.status = "ending"
            self.ends_on = self.today + timedelta(days=self.terms["notice_days"])
        else:
            return INVALID
        self._cut_short()
        return OK

    def _cut_short(self):
        """A prepaid period the new end cuts short: re-priced by days served, the excess
        held back to the deposit first (up to what came from it), the rest to the buyer."""
        if self.terms["billing"] != "prepaid":
            return
        for b in self.bills:
            if b.start <= self.ends_on < b.end and b.status in ("payable", "paid", "disputed"):
                _, _, end, days, _, cost, _ = self.period_at(b.start)
                b.end, b.days, b.base, b.amount = end, days, cost, cost
                excess = max(0, b.paid - cost)
                back = min(excess, b.from_deposit)
                b.from_deposit -= back
                self.deposit_used -= back
                self.buyer_refunded += excess - back
                b.paid -= excess
                if b.status == "payable" and b.paid >= cost:
                    b.status, b.overdue = "paid", False
                if b.status == "paid" or (b.status == "disputed" and b.confirm_by):
                    self._prepaid_confirm_by(b)

    def _prepaid_confirm_by(self, b: Bill):
        after = datetime.combine(b.end + timedelta(days=1), time(0), tzinfo=BEIJING)
        b.confirm_by = max(after, self.now) + timedelta(days=CONFIRM_DAYS)

    def submit(self, role: str, b: Bill, sales: int) -> Answer:
        if role != "provider":
            return FORBIDDEN
        if b.status != "open":
            return INVALID
        b.amount = b.base + sales * b.bps // 10000
        b.status = "submitted"
        b.confirm_by = self.now + timedelta(days=CONFIRM_DAYS)
        return OK

    def confirm(self, role: str, b: Bill) -> Answer:
        if role != "buyer":
            return FORBIDDEN
        if b.status == "submitted" and self.terms["billing"] == "postpaid":
            self._payable(b, b.amount)
        elif b.status == "paid" and self.terms["billing"] == "prepaid" and self.today > b.end:
            b.status = "released"
            self.provider_balance += b.amount
        else:
            return INVALID
        self._after_settling()
        return OK

    def dispute(self, role: str, b: Bill) -> Answer:
        if role != "buyer":
            return FORBIDDEN
        prepaid = self.terms["billing"] == "prepaid"
        if b.status != ("paid" if prepaid else "submitted"):
            return INVALID
        b.status = "disputed"
        return OK

    def resolve(self, b: Bill, share: str) -> tuple[Answer, int]:
        """The operator's amount: all, half or nothing of the statement's."""
        amount = {"all": b.amount, "half": (b.amount or 0) // 2, "none": 0}[share]
        if b.status != "disputed":
            return INVALID, amount
        if self.terms["billing"] == "postpaid":
            self._payable(b, amount)
        else:
            b.status, b.amount = "released", amount
            self.provider_balance += amount
            excess = b.paid - amount
            back = min(excess, b.from_deposit)
            b.from_deposit -= back
            self.deposit_used -= back
            self.buyer_refunded += excess - back
            b.paid -= excess
        self._after_settling()
        return OK, amount

    def pay(self, role: str, b: Bill) -> Answer:
        if role != "buyer":
            return FORBIDDEN
        if b.status != "payable":
            return INVALID
        owed = b.amount - b.paid
        b.paid += owed
        if self.terms["billing"] == "postpaid":
            self.provider_balance += owed
        self._mark_paid(b)
        self._after_settling()
        return OK

    # --- bills' money ----------------------------------------------------------------
    def _payable(self, b: Bill, amount: int):
        b.amount, b.status = amount, "payable"
        b.pay_by = self.now + timedelta(days=PAY_DAYS)
        if amount == 0:
            self._mark_paid(b)

    def _mark_paid(self, b: Bill):
        b.status, b.overdue = "paid", False
        if self.terms["billing"] == "prepaid":
            self._prepaid_confirm_by(b)

    def _draw_deposit(self, b: Bill):
        owed = b.amount - b.paid
        take = min(self.held, owed)
        b.paid += take
        b.from_deposit += take
        self.deposit_used += take
        if self.terms["billing"] == "postpaid":
            self.provider_balance += take
        if owed - take:
            b.overdue = True
            if self.status in ("trial", "active", "ending"):
                self.suspended_from, self.status = self.status, "suspended"
        else:
            self._mark_paid(b)
        self._after_settling()

    def _after_settling(self):
        if self.status == "suspended" and not any(b.status == "payable" and b.overdue
                                                  for b in self.bills):
            self.status, self.suspended_from = self.suspended_from, None
        self._return_deposit()

    def _return_deposit(self):
        if self.status == "ended" and self.held > 0 and self.period_at(self.next_start) is None \
                and not any(b.status in OUTSTANDING for b in self.bills):
            self.deposit_returned += self.held

    # --- the daily sweep -----------------------------------------------------------
    def sweep(self):
        """What the sweep does at `now`: the contract's timers, then the statements'."""
        self._contract_timers()
        for b in list(self.bills):
            if b.status == "open" and b.submit_by <= self.now:
                self.submit("provider", b, 0)
            elif b.status == "submitted" and b.confirm_by <= self.now:
                self._payable(b, b.amount)
                self._after_settling()
            elif b.status == "paid" and self.terms["billing"] == "prepaid" \
                    and b.confirm_by <= self.now:
                b.status = "released"
                self.provider_balance += b.amount
                self._after_settling()
            elif b.status == "payable" and not b.overdue and b.pay_by <= self.now:
                self._draw_deposit(b)

    def next_due(self) -> date | None:
        """The next Beijing day (after today) on which the sweep has something to do: the
        test sweeps on those days (and at the end of each clock move), not on every day."""
        days = []
        last = self.trial_last_day()
        if self.status == "trial" and last:
            days.append(last + timedelta(days=1))
        period = self.period_at(self.next_start) if self.next_start else None
        if period and self.status in LIVE | {"ended"}:
            days.append(self._opens_on(period))
        if self.status in ("ending", "ended") and self.ends_on:
            days.append(self.ends_on + timedelta(days=1))
        for b in self.bills:
            at = {"open": b.submit_by, "submitted": b.confirm_by,
                  "payable": None if b.overdue else b.pay_by,
                  "paid": b.confirm_by if self.terms["billing"] == "prepaid" else None
                  }.get(b.status)
            if at is not None:
                days.append(at.astimezone(BEIJING).date())
        later = [d for d in days if d > self.today]
        return min(later) if later else None

    def _contract_timers(self):
        while True:
            last = self.trial_last_day()
            if self.status == "trial" and last and self.today > last:
                self.status = "active"
                continue
            period = self.period_at(self.next_start) if self.next_start else None
            if period and self.status in LIVE | {"ended"} and self._opens_on(period) <= self.today:
                self._open(period)
                continue
            if self.status == "ending" and self.today > self.ends_on:
                self.status = "ended"
                continue
            break
        if self.status == "ended" and self.today > self.ends_on:
            self._return_deposit()

    def _opens_on(self, period) -> date:
        _, start, end, *_ = period
        return start if self.terms["billing"] == "prepaid" else end + timedelta(days=1)

    def _open(self, period):
        kind, start, end, days, length, base, bps = period
        self.next_start = end + timedelta(days=1)
        if self.terms["billing"] == "prepaid":
            b = Bill(kind, start, end, days, length, base, bps, "payable", base, self.now,
                     pay_by=self.now + timedelta(days=PAY_DAYS))
            if base == 0:
                self._mark_paid(b)
        else:
            b = Bill(kind, start, end, days, length, base, bps, "open", None, self.now,
                     submit_by=self.now + timedelta(days=SUBMIT_DAYS))
        self.bills.append(b)
