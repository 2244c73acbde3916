"""A reference model of the order and money rules, written from docs/API.md only.

Pure Python and deliberately naive (no chalicelib imports): every action says which answer
the contract predicts (status and error code) and, when it succeeds, changes the model's
state the way the contract describes. The stateful test (test_model_stateful.py) runs the
same actions against the app and compares the two after every step.

Where the contract is silent the model follows what the code does, when that is
reasonable; each such choice is marked `CHOICE:` below.
"""
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

HOUR, DAY = 3600, 24 * 3600
PAYMENT_WINDOW = timedelta(hours=72)
ACCEPT_WINDOW = timedelta(days=7)
LATE_CANCEL_AFTER = timedelta(days=15)
REVIEW_WINDOW = timedelta(days=15)
AUTO_APPROVE_AFTER = timedelta(days=7)  # 自动验收: in review this long, the sweep approves
EVIDENCE_WINDOW = timedelta(hours=72)  # 举证: EVIDENCE_SECONDS after a dispute opens
EVIDENCE_PER_PARTY = 10  # CHOICE: the code takes at most 10 submissions per party per dispute
IDEMPOTENCY_WINDOW = timedelta(hours=24)
MAX_AMOUNT = 100_000_000
MAX_UNPAID_ORDERS = 1000  # per buyer (raised for these suites: tests/attack/conftest.py)
POINTS = {"good": 1, "neutral": 0, "bad": -1}

BUYER_ROLE, PROVIDER_ROLE, OPERATOR_ROLE = "buyer", "provider", "operator"
CLOSED = {"completed", "rejected", "expired", "cancelled", "resolved"}
OPEN_WORK = ("awaiting_provider", "in_progress", "in_review")
DEADLINE_NAMES = {"awaiting_payment": "pay_by", "awaiting_provider": "accept_by",
                  "in_progress": "late_cancel_from", "in_review": "auto_approve_at",
                  "completed": "review_until", "disputed": "evidence_until"}


def iso(at: datetime) -> str:
    """The contract's time format: ISO 8601, UTC offset, whole seconds."""
    return at.astimezone(timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Expect:
    status: int
    code: str | None = None


OK, CREATED = Expect(200), Expect(201)
FORBIDDEN, NOT_FOUND = Expect(403, "FORBIDDEN"), Expect(404, "NOT_FOUND")
INVALID_TRANSITION = Expect(409, "INVALID_TRANSITION")
CANCEL_NOT_ALLOWED = Expect(409, "CANCEL_NOT_ALLOWED")
REVIEW_NOT_ALLOWED = Expect(409, "REVIEW_NOT_ALLOWED")
PRICE_NOT_AGREED = Expect(409, "PRICE_NOT_AGREED")
VALIDATION_FAILED = Expect(422, "VALIDATION_FAILED")
PROVIDER_NOT_APPROVED = Expect(403, "PROVIDER_NOT_APPROVED")
PAYOUT_ACCOUNT_REQUIRED = Expect(409, "PAYOUT_ACCOUNT_REQUIRED")
INSUFFICIENT_BALANCE = Expect(409, "INSUFFICIENT_BALANCE")
EVIDENCE_CLOSED = Expect(409, "EVIDENCE_CLOSED")
# CHOICE: the code refuses withdrawals under 0.10 CNY, Alipay's smallest transfer.
MIN_WITHDRAWAL = 10


@dataclass
class Withdrawal:
    user: str
    amount: int
    status: str = "pending"  # pending | paid | failed
    id: str = ""


@dataclass
class Step:
    amount: int
    release: str  # on_accept | on_approval
    status: str = "pending"  # pending | released | refunded | split


@dataclass
class Service:
    key: str  # the test's name for it
    provider: str
    pricing: str
    price: int
    capacity: int | None = None
    id: str | None = None
    status: str = "listed"
    open_orders: int = 0
    rating_count: int = 0


@dataclass
class Order:
    buyer: str
    provider: str
    service: Service
    amount: int
    steps: list[Step]
    created_at: datetime
    due_at: datetime
    id: str | None = None
    status: str = "awaiting_payment"
    paid_at: datetime | None = None
    delivered_at: datetime | None = None
    completed_at: datetime | None = None
    price_agreed: bool = True
    current_step: int = 0
    revision_count: int = 0
    delivery_count: int = 0
    funded: int = 0
    released: int = 0
    refunded: int = 0
    late_flag: bool = False
    holds_slot: bool = False  # a capacity slot: taken when paying starts (issue 21)
    # The open dispute (issue 24): who opened it, when, the state it left, each party's
    # evidence count; and when a withdrawn one restarted the relative timers.
    dispute_by: str | None = None
    dispute_at: datetime | None = None
    dispute_from: str | None = None
    evidence: dict = field(default_factory=dict)
    restarted_at: datetime | None = None
    reviewed: dict = field(default_factory=lambda: {BUYER_ROLE: False, PROVIDER_ROLE: False})
    events: list[str] = field(default_factory=lambda: ["placed"])

    @property
    def held(self) -> int:
        return self.funded - self.released - self.refunded

    def deadlines(self) -> dict[str, str]:
        """Each pending timer and when it fires; while disputed only the evidence window;
        none once closed.
        CHOICE: the code also shows the review window of a completed order."""
        at = self.deadline_at()
        return {DEADLINE_NAMES[self.status]: iso(at)} if at else {}

    def deadline_at(self) -> datetime | None:
        """When the order's pending deadline falls, if it has one."""
        if self.status == "awaiting_payment":
            return self.created_at + PAYMENT_WINDOW
        if self.status == "awaiting_provider":
            return self.restarted(self.paid_at) + ACCEPT_WINDOW
        if self.status == "in_progress" and not self.late_flag:
            return self.due_at + LATE_CANCEL_AFTER
        if self.status == "in_review":
            return self.restarted(self.delivered_at) + AUTO_APPROVE_AFTER
        if self.status == "disputed":
            return self.dispute_at + EVIDENCE_WINDOW
        if self.status == "completed" and not all(self.reviewed.values()):
            return self.completed_at + REVIEW_WINDOW
        return None

    def restarted(self, at: datetime) -> datetime:
        """A relative window's start: a withdrawn dispute restarts it from then."""
        return max(at, self.restarted_at) if self.restarted_at else at

    def view(self) -> dict:
        """The fields of the order answer the test compares."""
        return {
            "status": self.status, "amount": self.amount, "price_agreed": self.price_agreed,
            "escrow": {"funded": self.funded, "released": self.released,
                       "refunded": self.refunded, "held": self.held},
            "milestones": [(s.amount, s.release, s.status) for s in self.steps],
            "current_step": self.current_step, "revision_count": self.revision_count,
            "delivery_count": self.delivery_count, "deadlines": self.deadlines(),
            "late_cancel_eligible": self.late_flag,
            "reviewed_by_buyer": self.reviewed[BUYER_ROLE],
            "reviewed_by_provider": self.reviewed[PROVIDER_ROLE],
        }


def plan_steps(amount: int, shape: str) -> list[dict] | None:
    """The `milestones` a buyer sends for an order of `amount`, by shape (some invalid)."""
    def part(pct):
        return max(1, amount * pct // 100)

    shapes = {
        "none": None,
        "deposit": [("on_accept", part(30)), ("on_approval", None)],
        "two_steps": [("on_approval", part(50)), ("on_approval", None)],
        "deposit_three": [("on_accept", part(20)), ("on_approval", part(40)),
                          ("on_approval", None)],
        # invalid plans
        "wrong_sum": [("on_approval", part(50)), ("on_approval", amount)],
        "deposit_last": [("on_approval", part(50)), ("on_accept", None)],
        "only_deposit": [("on_accept", None)],
    }
    plan = shapes[shape]
    if plan is None:
        return None
    fixed = sum(a for _, a in plan if a is not None)
    return [{"title": f"第{i + 1}阶段", "release": release,
             "amount": a if a is not None else max(1, amount - fixed)}
            for i, (release, a) in enumerate(plan)]


def steps_problem(amount: int, steps: list[dict] | None) -> bool:
    """Whether the contract refuses these milestones (they must sum to the amount; a
    deposit comes first and something must be left to approve)."""
    if not steps:
        return False
    if sum(s["amount"] for s in steps) != amount:
        return True
    releases = [s["release"] for s in steps]
    if "on_approval" not in releases:
        return True  # CHOICE: the code wants at least one step released on approval
    first = releases.index("on_approval")
    return "on_accept" in releases[first:]  # CHOICE: deposits lead, as the code requires


class Market:
    """The whole market as the contract describes it, at the model's clock."""

    def __init__(self, now: datetime, operator: str):
        self.now = now
        self.operator = operator
        self.services: dict[str, Service] = {}
        self.orders: list[Order] = []
        self.balance: dict[str, int] = {}
        self.debt: dict[str, int] = {}  # what each provider owes (a reversed deposit)
        # credit and rating counts: a provider's (GET /providers/{id}) and a buyer's
        # (GET /users/{id}) are separate standings.
        self.provider_standing: dict[str, dict] = {}
        self.user_standing: dict[str, dict] = {}
        # payouts (提现): the approved providers, who has a payout account, the money on
        # its way out per user, and every withdrawal in the order asked.
        self.approved: set[str] = set()
        self.payout_accounts: set[str] = set()
        self.pending_withdrawal: dict[str, int] = {}
        self.withdrawals: list[Withdrawal] = []

    # --- helpers -------------------------------------------------------------
    def add_service(self, service: Service) -> None:
        self.services[service.key] = service
        self.provider_standing.setdefault(service.provider, _standing())

    def standing(self, kind: str, user: str) -> dict:
        book = self.provider_standing if kind == PROVIDER_ROLE else self.user_standing
        return book.get(user, _standing())

    def role(self, actor: str, order: Order) -> str | None:
        if actor == order.buyer:
            return BUYER_ROLE
        if actor == order.provider:
            return PROVIDER_ROLE
        if actor == self.operator:
            return OPERATOR_ROLE
        return None  # a stranger may not even see the order

    def _check(self, actor, order, roles, states) -> Expect | None:
        role = self.role(actor, order)
        if role is None:
            return NOT_FOUND
        if role not in roles:
            return FORBIDDEN  # CHOICE: the wrong actor is 403 whatever the state
        if order.status not in states:
            return INVALID_TRANSITION
        return None

    def _move(self, order: Order, to: str, event: str) -> None:
        order.status = to
        order.events.append(event)
        if to in CLOSED and order.holds_slot:
            order.service.open_orders -= 1

    def _release(self, order: Order, amount: int) -> None:
        order.released += amount
        # A provider in debt repays it before its available balance grows (issue 21).
        repay = min(self.debt.get(order.provider, 0), amount)
        self.debt[order.provider] = self.debt.get(order.provider, 0) - repay
        self.balance[order.provider] = self.balance.get(order.provider, 0) + amount - repay

    def _reverse_deposit(self, order: Order) -> None:
        """全额退款: a deposit released at acceptance comes back from the provider's
        available balance, and what that cannot cover becomes its debt."""
        for step in order.steps:
            if step.release == "on_accept" and step.status == "released":
                taken = min(self.balance.get(order.provider, 0), step.amount)
                self.balance[order.provider] = self.balance.get(order.provider, 0) - taken
                self.debt[order.provider] = self.debt.get(order.provider, 0) + step.amount - taken
                order.released -= step.amount
                step.status = "refunded"

    def _refund_held(self, order: Order) -> None:
        for step in order.steps:
            if step.status == "pending":
                step.status = "refunded"
        order.refunded += order.held

    # --- catalog -------------------------------------------------------------
    def place(self, buyer: str, key: str, price: int | None, steps: list[dict] | None,
              due_at: datetime) -> tuple[Expect, Order | None]:
        service = self.services[key]
        if service.provider == buyer:
            return FORBIDDEN, None
        if service.status != "listed":
            return Expect(409, "SERVICE_NOT_LISTED"), None
        if service.capacity is not None and service.open_orders >= service.capacity:
            return Expect(409, "SERVICE_AT_CAPACITY"), None
        if service.pricing == "fixed" and price is not None and price != service.price:
            return VALIDATION_FAILED, None
        amount = price if service.pricing == "negotiable" and price is not None else service.price
        if steps_problem(amount, steps):
            return VALIDATION_FAILED, None
        plan = [Step(s["amount"], s["release"]) for s in steps] if steps else [
            Step(amount, "on_approval")]
        unpaid = [o for o in self.orders if o.buyer == buyer and o.status == "awaiting_payment"]
        if len(unpaid) >= MAX_UNPAID_ORDERS:
            return Expect(409, "TOO_MANY_UNPAID_ORDERS"), None
        order = Order(buyer, service.provider, service, amount, plan, self.now, due_at,
                      price_agreed=amount == service.price)  # the list price is the provider's
        self.orders.append(order)
        return CREATED, order  # capacity counts money: an unpaid order takes no slot

    def delist(self, actor: str, key: str) -> Expect:
        service = self.services[key]
        may = actor in (service.provider, self.operator)
        if service.status != "listed":
            # CHOICE: a delisted service is invisible to others (404); to its owner and
            # operators, delisting it again is 409 INVALID_STATE.
            return Expect(409, "INVALID_STATE") if may else NOT_FOUND
        if not may:
            return FORBIDDEN
        service.status = "delisted"
        return OK

    def list(self, actor: str, key: str) -> Expect:
        service = self.services[key]
        if service.status != "listed" and actor not in (service.provider, self.operator):
            return NOT_FOUND
        if actor != service.provider:
            return FORBIDDEN
        if service.status == "listed":
            return Expect(409, "INVALID_STATE")
        service.status = "listed"
        return OK

    # --- orders --------------------------------------------------------------
    def pay(self, actor: str, order: Order) -> Expect:
        refused = self._check(actor, order, {BUYER_ROLE}, {"awaiting_payment"})
        if refused:
            return refused
        if self.now >= order.created_at + PAYMENT_WINDOW:
            return INVALID_TRANSITION  # CHOICE: the window ends at pay_by, exclusive
        if not order.price_agreed:
            return PRICE_NOT_AGREED
        service = order.service
        if service.capacity is not None and service.open_orders >= service.capacity:
            return Expect(409, "SERVICE_AT_CAPACITY")  # no money taken
        service.open_orders += 1
        order.holds_slot = True
        order.funded = order.amount
        order.paid_at = self.now
        self._move(order, "awaiting_provider", "paid")
        return OK

    def price(self, actor: str, order: Order, amount) -> Expect:
        """改价 (one step: the model sends no milestones): agreed when the provider sets it."""
        if isinstance(amount, bool) or not isinstance(amount, int) \
                or not 1 <= amount <= MAX_AMOUNT:
            return VALIDATION_FAILED  # the body is checked before anything else
        refused = self._check(actor, order, {BUYER_ROLE, PROVIDER_ROLE}, {"awaiting_payment"})
        if refused:
            return refused
        if order.service.pricing != "negotiable":
            return INVALID_TRANSITION
        order.amount = amount
        order.steps = [Step(amount, "on_approval")]
        order.current_step = 0
        order.price_agreed = actor == order.provider
        order.events.append("price_changed")
        return OK

    def accept(self, actor: str, order: Order) -> Expect:
        refused = self._check(actor, order, {PROVIDER_ROLE}, {"awaiting_provider"})
        if refused:
            return refused
        if self.now >= order.restarted(order.paid_at) + ACCEPT_WINDOW:
            return INVALID_TRANSITION
        for i, step in enumerate(order.steps):
            if step.release != "on_accept":
                order.current_step = i
                break
            step.status = "released"
            self._release(order, step.amount)
        self._move(order, "in_progress", "accepted")
        return OK

    def reject(self, actor: str, order: Order) -> Expect:
        refused = self._check(actor, order, {PROVIDER_ROLE}, {"awaiting_provider"})
        if refused:
            return refused
        self._refund_held(order)
        self._move(order, "rejected", "rejected")
        return OK

    def deliver(self, actor: str, order: Order) -> Expect:
        refused = self._check(actor, order, {PROVIDER_ROLE}, {"in_progress"})
        if refused:
            return refused
        order.delivery_count += 1
        order.delivered_at = self.now  # a new delivery, a new review window
        self._move(order, "in_review", "delivered")
        return OK

    def review_window_passed(self, order: Order) -> bool:
        return self.now >= order.restarted(order.delivered_at) + AUTO_APPROVE_AFTER

    def approve(self, actor: str, order: Order) -> Expect:
        # CHOICE: the buyer's own approval stays welcome after the window: it is what
        # the sweep would do.
        refused = self._check(actor, order, {BUYER_ROLE}, {"in_review"})
        if refused:
            return refused
        self._approve(order)
        return OK

    def _approve(self, order: Order) -> None:
        step = order.steps[order.current_step]
        step.status = "released"
        self._release(order, step.amount)
        order.current_step += 1
        if order.current_step == len(order.steps):
            order.completed_at = self.now
            self._move(order, "completed", "approved")
        else:
            self._move(order, "in_progress", "approved")

    def request_revision(self, actor: str, order: Order) -> Expect:
        refused = self._check(actor, order, {BUYER_ROLE}, {"in_review"})
        if refused:
            return refused
        if self.review_window_passed(order):
            return INVALID_TRANSITION  # the delivery is the auto-approval's now
        order.revision_count += 1
        self._move(order, "in_progress", "revision_requested")
        return OK

    def cancel(self, actor: str, order: Order) -> Expect:
        # The contract's cancel row: "else 409 CANCEL_NOT_ALLOWED", in every other state
        # too. The buyer: unpaid, or in progress (no delivery awaiting review) 15 days
        # past due_at; the provider: work in progress. Both refund what is held.
        role = self.role(actor, order)
        allowed = {BUYER_ROLE: {"awaiting_payment", "in_progress"}, PROVIDER_ROLE: {"in_progress"}}
        refused = self._check(actor, order, {BUYER_ROLE, PROVIDER_ROLE}, allowed.get(role, set()))
        if refused == INVALID_TRANSITION:
            return CANCEL_NOT_ALLOWED
        if refused:
            return refused
        if order.status != "awaiting_payment":
            if role == BUYER_ROLE and not (
                    order.late_flag or self.now >= order.due_at + LATE_CANCEL_AFTER):
                return CANCEL_NOT_ALLOWED
            self._reverse_deposit(order)  # full refund means full (issue 21)
            self._refund_held(order)
        self._move(order, "cancelled", "cancelled")
        return OK

    def dispute(self, actor: str, order: Order) -> Expect:
        refused = self._check(actor, order, {BUYER_ROLE, PROVIDER_ROLE}, set(OPEN_WORK))
        if refused:
            return refused
        if order.status == "in_review" and self.review_window_passed(order):
            return INVALID_TRANSITION  # CHOICE: as a revision request, once it has passed
        order.dispute_by, order.dispute_at, order.dispute_from = actor, self.now, order.status
        order.evidence = {}
        self._move(order, "disputed", "disputed")
        return OK

    # --- disputes the parties end (issue 24) -----------------------------------------
    def evidence(self, actor: str, order: Order) -> Expect:
        """举证: either party while disputed, before evidence_until; a bounded number."""
        refused = self._check(actor, order, {BUYER_ROLE, PROVIDER_ROLE}, {"disputed"})
        if refused:
            return refused
        if self.now >= order.dispute_at + EVIDENCE_WINDOW:
            return EVIDENCE_CLOSED
        if order.evidence.get(actor, 0) >= EVIDENCE_PER_PARTY:
            return VALIDATION_FAILED
        order.evidence[actor] = order.evidence.get(actor, 0) + 1
        return CREATED

    def withdraw_dispute(self, actor: str, order: Order) -> Expect:
        """The opener takes the dispute back: the order returns to the state it left, its
        relative timers (accept window, auto-approval) restarted from now."""
        refused = self._check(actor, order, {BUYER_ROLE, PROVIDER_ROLE}, {"disputed"})
        if refused:
            return refused
        if actor != order.dispute_by:
            return FORBIDDEN
        order.restarted_at = self.now
        self._move(order, order.dispute_from, "dispute_withdrawn")
        return OK

    def propose_settlement(self, actor: str, order: Order, refund: int) -> Expect:
        """While disputed, either party proposes a cancel: `refund` (0..held) to the
        buyer, the rest of what is held to the provider."""
        refused = self._check(actor, order, {BUYER_ROLE, PROVIDER_ROLE}, {"disputed"})
        if refused:
            return refused
        if not 0 <= refund <= order.held:
            return VALIDATION_FAILED
        order.events.append("proposed")
        return CREATED

    def answer_settlement(self, actor: str, order: Order, author: str, verb: str,
                          refund: int) -> Expect:
        """The other party accepts (the order closes `cancelled`, split as proposed) or
        declines (still disputed); its author may only withdraw it."""
        role = self.role(actor, order)
        if role is None:
            return NOT_FOUND
        if role == OPERATOR_ROLE or (verb == "withdraw") != (actor == author):
            return FORBIDDEN
        if verb == "accept":
            release = order.held - refund
            mark = "refunded" if not release else "released" if not refund else "split"
            for step in order.steps:
                if step.status == "pending":
                    step.status = mark
            order.refunded += refund
            if release:
                self._release(order, release)
            self._move(order, "cancelled", "cancelled")
        else:
            order.events.append(f"proposal_{verb}{'n' if verb == 'withdraw' else 'd'}")
        return OK

    def resolve(self, actor: str, order: Order, refund: int, release: int) -> Expect:
        if actor != self.operator:
            return FORBIDDEN  # an operator-only route
        if order.status != "disputed":
            return INVALID_TRANSITION
        if refund + release != order.held:
            return VALIDATION_FAILED
        # CHOICE: the pending steps are marked by what happened to them as a whole.
        mark = "refunded" if not release else "released" if not refund else "split"
        for step in order.steps:
            if step.status == "pending":
                step.status = mark
        order.refunded += refund
        if release:
            self._release(order, release)
        self._move(order, "resolved", "resolved")
        return OK

    def review(self, actor: str, order: Order, rating: str) -> Expect:
        role = self.role(actor, order)
        if role is None:
            return NOT_FOUND
        if role == OPERATOR_ROLE:
            return FORBIDDEN
        if order.status != "completed" or order.reviewed[role]:
            return REVIEW_NOT_ALLOWED
        if self.now > order.completed_at + REVIEW_WINDOW:
            return REVIEW_NOT_ALLOWED  # CHOICE: the 15th day's last instant still counts
        order.reviewed[role] = True
        if role == BUYER_ROLE:
            book, subject = self.provider_standing, order.provider
            order.service.rating_count += 1
        else:
            book, subject = self.user_standing, order.buyer
        entry = book.setdefault(subject, _standing())
        entry["credit"] += POINTS[rating]
        entry[rating] += 1
        return CREATED

    # --- payouts ------------------------------------------------------------------
    def set_payout_account(self, actor: str) -> Expect:
        # CHOICE: payout accounts are for approved (or suspended) providers.
        if actor not in self.approved:
            return PROVIDER_NOT_APPROVED
        self.payout_accounts.add(actor)
        return OK

    def withdraw(self, actor: str, amount: int) -> tuple[Expect, Withdrawal | None]:
        """提现: at most `available`, which drops at once."""
        if amount < MIN_WITHDRAWAL:
            return VALIDATION_FAILED, None
        if actor not in self.payout_accounts:
            return PAYOUT_ACCOUNT_REQUIRED, None
        if amount > self.balance.get(actor, 0):
            return INSUFFICIENT_BALANCE, None
        self.balance[actor] -= amount
        self.pending_withdrawal[actor] = self.pending_withdrawal.get(actor, 0) + amount
        withdrawal = Withdrawal(actor, amount)
        self.withdrawals.append(withdrawal)
        return CREATED, withdrawal

    def pay_out(self, refused: bool) -> None:
        """The scheduled job: every pending withdrawal is paid, or, when the gateway
        refuses, failed with its money back in `available`."""
        for w in self.withdrawals:
            if w.status != "pending":
                continue
            self.pending_withdrawal[w.user] -= w.amount
            if refused:
                w.status = "failed"
                self.balance[w.user] = self.balance.get(w.user, 0) + w.amount
            else:
                w.status = "paid"

    # --- time and the scheduled functions --------------------------------------
    def advance(self, seconds: int) -> None:
        self.now += timedelta(seconds=seconds)

    def sweep_timeouts(self) -> None:
        """Close unpaid orders, expire unaccepted ones (full refund), make late orders
        cancellable and approve deliveries left unanswered; disputed orders have no
        timers. At most one move per order per run (the sweep fires what was due when
        it read the order)."""
        for order in self.orders:
            if order.status == "awaiting_payment" and \
                    self.now >= order.created_at + PAYMENT_WINDOW:
                self._move(order, "cancelled", "payment_window_closed")
            elif order.status == "awaiting_provider" and \
                    self.now >= order.restarted(order.paid_at) + ACCEPT_WINDOW:
                self._refund_held(order)
                self._move(order, "expired", "expired")
            elif order.status == "in_progress" and not order.late_flag and \
                    self.now >= order.due_at + LATE_CANCEL_AFTER:
                # CHOICE: the code records this as an event without a state change.
                order.late_flag = True
                order.events.append("late_cancel_eligible")
            elif order.status == "in_review" and self.review_window_passed(order):
                self._approve(order)  # as the buyer would: event `approved`


def _standing() -> dict:
    return {"credit": 0, "good": 0, "neutral": 0, "bad": 0}
