"""The order life cycle as data: states, their 中文 labels, the transition table
(state, action, actor role) → next state + effects, the one function that applies it,
and the timers (deadlines and reminders) an order has pending in each state.

Pure Python: the services turn an `Outcome` into one conditional DynamoDB transaction.
"""
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from chalicelib.domain import escrow as money
from chalicelib.domain.errors import (CancelNotAllowed, DomainError, Forbidden,
                                      InvalidTransition, PaymentPending, PriceNotAgreed,
                                      ProviderNotApproved, RevisionsExhausted)

AWAITING_PAYMENT = "awaiting_payment"
AWAITING_PROVIDER = "awaiting_provider"
IN_PROGRESS = "in_progress"
IN_REVIEW = "in_review"
COMPLETED = "completed"
REJECTED = "rejected"
EXPIRED = "expired"
CANCELLED = "cancelled"
DISPUTED = "disputed"
RESOLVED = "resolved"

LABELS = {
    AWAITING_PAYMENT: "待付款",
    AWAITING_PROVIDER: "待服务商确认",
    IN_PROGRESS: "等待上传终稿",
    IN_REVIEW: "验收中",
    COMPLETED: "验收通过",
    REJECTED: "已拒绝",
    EXPIRED: "已失效",
    CANCELLED: "已取消",
    DISPUTED: "纠纷处理中",
    RESOLVED: "已裁决",
}
STATES = tuple(LABELS)
# The largest deliverable file (a presigned upload says so to S3).
DELIVERABLE_MAX_BYTES = 50 * 1024 * 1024
CLOSED = frozenset({COMPLETED, REJECTED, EXPIRED, CANCELLED, RESOLVED})

BUYER, PROVIDER, OPERATOR, SYSTEM = "buyer", "provider", "operator", "system"
ROLES = (BUYER, PROVIDER, OPERATOR, SYSTEM)

# Actions. The system ones are what the sweeps (and a payment webhook) do.
PAY, ACCEPT, REJECT, DELIVER, APPROVE, REQUEST_REVISION = (
    "pay", "accept", "reject", "deliver", "approve", "request_revision")
CANCEL, DISPUTE, RESOLVE, SET_PRICE = "cancel", "dispute", "resolve", "set_price"
EXPIRE, CLOSE_UNPAID, MARK_LATE_CANCEL = "expire", "close_unpaid", "mark_late_cancel"
AUTO_APPROVE = "auto_approve"
# Proposals (协商): which party may answer which proposal is `domain.proposals`' rule;
# the states and roles are this table's, like every other action's.
PROPOSE, ACCEPT_EXTENSION, ACCEPT_CANCEL = "propose", "accept_extension", "accept_cancel"
DECLINE_PROPOSAL, WITHDRAW_PROPOSAL = "decline_proposal", "withdraw_proposal"
# After-sale (售后): a partial refund keeps the order open; the sweep grants a refund
# request left unanswered (退款超时) and lapses any other proposal past its expiry.
ACCEPT_PARTIAL_REFUND, EXPIRE_PROPOSAL = "accept_partial_refund", "expire_proposal"
# The party that opened a dispute takes it back: the order returns to the state it left.
WITHDRAW_DISPUTE = "withdraw_dispute"
ACTIONS = (PAY, ACCEPT, REJECT, DELIVER, APPROVE, REQUEST_REVISION, CANCEL, DISPUTE, RESOLVE,
           SET_PRICE, EXPIRE, CLOSE_UNPAID, MARK_LATE_CANCEL, AUTO_APPROVE, PROPOSE,
           ACCEPT_EXTENSION, ACCEPT_CANCEL, DECLINE_PROPOSAL, WITHDRAW_PROPOSAL,
           ACCEPT_PARTIAL_REFUND, EXPIRE_PROPOSAL, WITHDRAW_DISPUTE)

# Effects: what the service must do in the same transaction as the state change.
FUND = "fund"                      # gateway → escrow posting, escrow counters
RELEASE_DEPOSIT = "release_deposit"  # release every leading on_accept step
RELEASE_STEP = "release_step"      # release the current step, advance to the next
REFUND_HELD = "refund_held"        # refund everything not yet released
# 全额退款: a late cancel or a provider's cancel of work in progress also takes back the
# deposit released at acceptance (from the provider's balance, or as its debt).
REVERSE_DEPOSIT = "reverse_deposit"
SPLIT = "split"                    # the operator's refund/release split of what is held
COUNT_REVISION = "count_revision"
RECORD_DELIVERY = "record_delivery"
RECORD_DISPUTE = "record_dispute"
FLAG_LATE_CANCEL = "flag_late_cancel"
CHANGE_PRICE = "change_price"      # a new amount (and plan); agreed when the provider sets it
CHECK_PROVIDER = "check_provider"  # the provider is still approved when the move commits
SAME_DELIVERY = "same_delivery"    # the delivery whose window passed is still the one in review
CLOSE = "close"                    # the service has one open order fewer
OPEN_PROPOSAL = "open_proposal"    # the order holds the one open proposal (conditional)
EXTEND = "extend"                  # a new due_at, and every timer that depends on it
END_PROPOSAL = "end_proposal"      # the open proposal is accepted, declined or withdrawn
PARTIAL_REFUND = "partial_refund"  # refund part of what is held, off the last steps first
# A withdrawn dispute: the relative timers (accept window, auto-approval, the open
# proposal's expiry) start again from now; the open proposal stays open.
RESUME = "resume"

# Guards: facts about time and steps a move needs besides the state.
LATE_CANCEL_REACHED = "late_cancel_reached"
PAYMENT_WINDOW_PASSED = "payment_window_passed"
ACCEPT_WINDOW_PASSED = "accept_window_passed"
# A buyer may not pay, nor a provider accept, once the sweep is entitled to close the order.
PAYMENT_WINDOW_OPEN = "payment_window_open"
ACCEPT_WINDOW_OPEN = "accept_window_open"
LATE_CANCEL_DUE = "late_cancel_due"  # reached and not yet flagged: the sweep marks it once
PRICE_AGREED = "price_agreed"      # a negotiable price is paid only once the provider agreed
NEGOTIABLE = "negotiable"          # only a negotiable (可议价) order's price can change
PROVIDER_APPROVED = "provider_approved"  # a suspended provider takes no new work
# The plan a buyer pays is the plan the buyer saw: no price or plan change while a
# payment for the current one is open at the gateway.
NO_PAYMENT_PENDING = "no_payment_pending"
# The buyer's review window (自动验收): once it has passed the sweep approves, and a
# revision request or a dispute can no longer take the delivery away from it.
REVIEW_WINDOW_OPEN = "review_window_open"
AUTO_APPROVE_DUE = "auto_approve_due"
# The open proposal's expiry has passed: only then may the sweep grant or lapse it.
PROPOSAL_DUE = "proposal_due"

REVISIONS_LEFT = "revisions_left"  # the chosen package allows one more revision request
# Only the party that opened a dispute may withdraw it (the other one is the wrong actor).
OPENED_BY_BUYER, OPENED_BY_PROVIDER = "opened_by_buyer", "opened_by_provider"
# A rule's `to` that means "the state the dispute left" (the dispute record keeps it).
STATE_BEFORE_DISPUTE = "<state before the dispute>"

# A refused guard is INVALID_TRANSITION unless the contract names it.
_GUARD_ERRORS = {PRICE_AGREED: PriceNotAgreed, PROVIDER_APPROVED: ProviderNotApproved,
                 REVISIONS_LEFT: RevisionsExhausted, NO_PAYMENT_PENDING: PaymentPending,
                 OPENED_BY_BUYER: Forbidden, OPENED_BY_PROVIDER: Forbidden}


@dataclass(frozen=True)
class Rule:
    to: str
    effects: tuple = ()
    guard: str | tuple = ()  # checked in order; the first that fails names the refusal
    to_when_last_step: str | None = None  # approve: the last step completes the order


_OPEN_WORK = (AWAITING_PROVIDER, IN_PROGRESS, IN_REVIEW)

TRANSITIONS: dict[tuple[str, str, str], Rule] = {
    (AWAITING_PAYMENT, PAY, BUYER): Rule(AWAITING_PROVIDER, (FUND,),
                                         (PAYMENT_WINDOW_OPEN, PRICE_AGREED)),
    # A real gateway confirms funding from its webhook, acting as the system.
    (AWAITING_PAYMENT, PAY, SYSTEM): Rule(AWAITING_PROVIDER, (FUND,), PRICE_AGREED),
    (AWAITING_PAYMENT, CANCEL, BUYER): Rule(CANCELLED, (CLOSE,)),
    (AWAITING_PAYMENT, CLOSE_UNPAID, SYSTEM): Rule(CANCELLED, (CLOSE,), PAYMENT_WINDOW_PASSED),
    # 改价: either party; the buyer's amount waits for the provider's agreement.
    **{(AWAITING_PAYMENT, SET_PRICE, role): Rule(AWAITING_PAYMENT, (CHANGE_PRICE,),
                                                 (NEGOTIABLE, NO_PAYMENT_PENDING))
       for role in (BUYER, PROVIDER)},
    (AWAITING_PROVIDER, ACCEPT, PROVIDER): Rule(IN_PROGRESS, (RELEASE_DEPOSIT, CHECK_PROVIDER),
                                                (ACCEPT_WINDOW_OPEN, PROVIDER_APPROVED)),
    (AWAITING_PROVIDER, REJECT, PROVIDER): Rule(REJECTED, (REFUND_HELD, CLOSE)),
    (AWAITING_PROVIDER, EXPIRE, SYSTEM): Rule(EXPIRED, (REFUND_HELD, CLOSE), ACCEPT_WINDOW_PASSED),
    (IN_PROGRESS, DELIVER, PROVIDER): Rule(IN_REVIEW, (RECORD_DELIVERY,)),
    (IN_REVIEW, APPROVE, BUYER): Rule(IN_PROGRESS, (RELEASE_STEP,),
                                      to_when_last_step=COMPLETED),
    # 自动验收: exactly the buyer's approval, once the review window has passed.
    (IN_REVIEW, AUTO_APPROVE, SYSTEM): Rule(IN_PROGRESS, (RELEASE_STEP, SAME_DELIVERY),
                                            AUTO_APPROVE_DUE,
                                            to_when_last_step=COMPLETED),
    (IN_REVIEW, REQUEST_REVISION, BUYER): Rule(IN_PROGRESS, (COUNT_REVISION,),
                                               (REVIEW_WINDOW_OPEN, REVISIONS_LEFT)),
    # Late cancel only while the final delivery is still missing (仍未上传终稿): a
    # delivery waiting in review is the buyer's to approve or send back, not to cancel.
    # Full refund means full: everything but the steps the buyer approved, the deposit
    # released at acceptance included.
    (IN_PROGRESS, CANCEL, BUYER): Rule(CANCELLED, (REVERSE_DEPOSIT, REFUND_HELD, CLOSE),
                                       LATE_CANCEL_REACHED),
    # The provider may give up accepted work, refunding the same.
    (IN_PROGRESS, CANCEL, PROVIDER): Rule(CANCELLED, (REVERSE_DEPOSIT, REFUND_HELD, CLOSE)),
    (IN_PROGRESS, MARK_LATE_CANCEL, SYSTEM): Rule(IN_PROGRESS, (FLAG_LATE_CANCEL,),
                                                  LATE_CANCEL_DUE),
    **{(state, DISPUTE, role): Rule(DISPUTED, (RECORD_DISPUTE,),
                                    REVIEW_WINDOW_OPEN if state == IN_REVIEW else ())
       for state in _OPEN_WORK for role in (BUYER, PROVIDER)},
    (DISPUTED, RESOLVE, OPERATOR): Rule(RESOLVED, (SPLIT, CLOSE)),
    # Either party of open work may propose and answer; a cancel agreed by both splits
    # what is held exactly as a resolution would, without an operator.
    **{(state, action, role): rule
       for state in _OPEN_WORK for role in (BUYER, PROVIDER)
       for action, rule in ((PROPOSE, Rule(state, (OPEN_PROPOSAL,))),
                            (ACCEPT_EXTENSION, Rule(state, (EXTEND, END_PROPOSAL))),
                            (ACCEPT_CANCEL, Rule(CANCELLED, (SPLIT, END_PROPOSAL, CLOSE))),
                            (DECLINE_PROPOSAL, Rule(state, (END_PROPOSAL,))),
                            (WITHDRAW_PROPOSAL, Rule(state, (END_PROPOSAL,))))},
    # 部分退款 keeps the work going; the provider agrees, or the sweep does for it once
    # the answer window passed (退款超时) — as it does for a buyer's cancel request.
    **{(state, ACCEPT_PARTIAL_REFUND, role): Rule(state, (PARTIAL_REFUND, END_PROPOSAL),
                                                  PROPOSAL_DUE if role == SYSTEM else ())
       for state in (IN_PROGRESS, IN_REVIEW) for role in (PROVIDER, SYSTEM)},
    **{(state, ACCEPT_CANCEL, SYSTEM): Rule(CANCELLED, (SPLIT, END_PROPOSAL, CLOSE),
                                            PROPOSAL_DUE)
       for state in (IN_PROGRESS, IN_REVIEW)},
    **{(state, EXPIRE_PROPOSAL, SYSTEM): Rule(state, (END_PROPOSAL,), PROPOSAL_DUE)
       for state in (*_OPEN_WORK, DISPUTED)},
    # The parties may end a dispute themselves: the opener withdraws it (the order goes
    # back to where it was, no money moves), or either settles it with a cancel proposal
    # (only that kind: `domain.proposals`) that the other accepts, split as agreed.
    (DISPUTED, WITHDRAW_DISPUTE, BUYER): Rule(STATE_BEFORE_DISPUTE, (RESUME,), OPENED_BY_BUYER),
    (DISPUTED, WITHDRAW_DISPUTE, PROVIDER): Rule(STATE_BEFORE_DISPUTE, (RESUME,),
                                                 OPENED_BY_PROVIDER),
    **{(DISPUTED, action, role): rule
       for role in (BUYER, PROVIDER)
       for action, rule in ((PROPOSE, Rule(DISPUTED, (OPEN_PROPOSAL,))),
                            (ACCEPT_CANCEL, Rule(CANCELLED, (SPLIT, END_PROPOSAL, CLOSE))),
                            (DECLINE_PROPOSAL, Rule(DISPUTED, (END_PROPOSAL,))),
                            (WITHDRAW_PROPOSAL, Rule(DISPUTED, (END_PROPOSAL,))))},
}

# Which roles may ever take an action: anyone else is the wrong actor (403), whatever
# the state; a right actor in the wrong state is a 409.
ACTORS = {action: frozenset(role for (_, a, role) in TRANSITIONS if a == action)
          for action in ACTIONS}

EVENT_TYPES = {
    PAY: "paid", ACCEPT: "accepted", REJECT: "rejected", DELIVER: "delivered",
    APPROVE: "approved", REQUEST_REVISION: "revision_requested", CANCEL: "cancelled",
    DISPUTE: "disputed", RESOLVE: "resolved", EXPIRE: "expired",
    CLOSE_UNPAID: "payment_window_closed", MARK_LATE_CANCEL: "late_cancel_eligible",
    SET_PRICE: "price_changed", AUTO_APPROVE: "approved",
    PROPOSE: "proposed", ACCEPT_EXTENSION: "extended", ACCEPT_CANCEL: "cancelled",
    DECLINE_PROPOSAL: "proposal_declined", WITHDRAW_PROPOSAL: "proposal_withdrawn",
    ACCEPT_PARTIAL_REFUND: "partially_refunded", EXPIRE_PROPOSAL: "proposal_expired",
    WITHDRAW_DISPUTE: "dispute_withdrawn",
}


@dataclass(frozen=True)
class Facts:
    """What a guard may look at, read from the order and the clock by the caller."""

    now: datetime
    is_last_step: bool = False
    timers: dict = field(default_factory=dict)  # deadline name → datetime (pending ones)
    late_cancel_eligible: bool = False
    late_cancel_from: datetime | None = None
    price_agreed: bool = True
    negotiable: bool = False
    provider_approved: bool = False  # read only for an order awaiting its provider
    revisions_left: bool = True  # the chosen package's revisions (none chosen: unlimited)
    payment_pending: bool = False  # a payment for the current plan is open at the gateway
    dispute_opened_by: str | None = None  # buyer | provider, while disputed
    dispute_from: str | None = None  # the state the open dispute left


@dataclass(frozen=True)
class Outcome:
    from_status: str
    to: str
    effects: tuple
    event_type: str


def decide(state: str, action: str, role: str, facts: Facts) -> Outcome:
    """Apply the table: the next state and effects, or the named refusal."""
    if role not in ACTORS.get(action, ()):
        raise Forbidden(f"a {role} may not {action} an order", status=state)
    rule = TRANSITIONS.get((state, action, role))
    if rule is None:
        if action == CANCEL:  # the contract names every refused cancellation
            raise CancelNotAllowed(f"an order that is {state} cannot be cancelled",
                                   status=state)
        raise InvalidTransition(f"cannot {action} an order that is {state}", status=state)
    guards = (rule.guard,) if isinstance(rule.guard, str) else rule.guard
    for guard in guards:
        if _guard_holds(guard, facts):
            continue
        if action == CANCEL:
            raise CancelNotAllowed(
                "cancellation is possible 15 days after due_at", status=state,
                late_cancel_from=facts.late_cancel_from.isoformat()
                if facts.late_cancel_from else None)
        error = _GUARD_ERRORS.get(guard, InvalidTransition)
        raise error(f"cannot {action} this order now", status=state, reason=guard)
    to = rule.to_when_last_step if (rule.to_when_last_step and facts.is_last_step) else rule.to
    if to == STATE_BEFORE_DISPUTE:
        if facts.dispute_from not in _OPEN_WORK:
            raise InvalidTransition("the dispute does not say where the order was",
                                    status=state)
        to = facts.dispute_from
    effects = rule.effects + ((CLOSE,) if to in CLOSED and CLOSE not in rule.effects else ())
    return Outcome(state, to, effects, EVENT_TYPES[action])


# The moves a client offers a party, by the verb of their route (POST /orders/{id}/<verb>;
# `price` is 改价, `propose` opens a proposal). Answering a proposal is the proposal's.
CLIENT_VERBS = {PAY: "pay", ACCEPT: "accept", REJECT: "reject", DELIVER: "deliver",
                APPROVE: "approve", REQUEST_REVISION: "request-revision", CANCEL: "cancel",
                DISPUTE: "dispute", RESOLVE: "resolve", SET_PRICE: "price", PROPOSE: "propose",
                WITHDRAW_DISPUTE: "withdraw-dispute"}


EVIDENCE = "evidence"  # POST /orders/{id}/evidence: not a move, but a client's button


def allowed_actions(state: str, role: str, facts: Facts) -> list[str]:
    """The verbs `role` may use on an order in `state` now: exactly those `decide` would
    let through (and `evidence` while a party may still give it), so a client shows what
    the API will accept and nothing else."""
    out = [EVIDENCE] if state == DISPUTED and role in (BUYER, PROVIDER) \
        and evidence_open(facts.timers, facts.now) else []
    for action, verb in CLIENT_VERBS.items():
        try:
            decide(state, action, role, facts)
        except DomainError:
            continue
        out.append(verb)
    return out


def _guard_holds(guard: str, facts: Facts) -> bool:
    if guard == LATE_CANCEL_REACHED:
        return facts.late_cancel_eligible or (
            facts.late_cancel_from is not None and facts.now >= facts.late_cancel_from)
    if guard == LATE_CANCEL_DUE:
        return not facts.late_cancel_eligible and facts.late_cancel_from is not None \
            and facts.now >= facts.late_cancel_from
    if guard == PAYMENT_WINDOW_PASSED:
        return "pay_by" in facts.timers and facts.now >= facts.timers["pay_by"]
    if guard == ACCEPT_WINDOW_PASSED:
        return "accept_by" in facts.timers and facts.now >= facts.timers["accept_by"]
    if guard == PAYMENT_WINDOW_OPEN:
        return "pay_by" not in facts.timers or facts.now < facts.timers["pay_by"]
    if guard == ACCEPT_WINDOW_OPEN:
        return "accept_by" not in facts.timers or facts.now < facts.timers["accept_by"]
    if guard == REVIEW_WINDOW_OPEN:
        return "auto_approve_at" not in facts.timers or facts.now < facts.timers["auto_approve_at"]
    if guard == PROPOSAL_DUE:
        return any(name in facts.timers and facts.now >= facts.timers[name]
                   for name in PROPOSAL_DEADLINES)
    if guard == AUTO_APPROVE_DUE:
        return "auto_approve_at" in facts.timers and facts.now >= facts.timers["auto_approve_at"]
    if guard == PRICE_AGREED:
        return facts.price_agreed
    if guard == NEGOTIABLE:
        return facts.negotiable
    if guard == PROVIDER_APPROVED:
        return facts.provider_approved
    if guard == REVISIONS_LEFT:
        return facts.revisions_left
    if guard == NO_PAYMENT_PENDING:
        return not facts.payment_pending
    if guard == OPENED_BY_BUYER:
        return facts.dispute_opened_by == BUYER
    if guard == OPENED_BY_PROVIDER:
        return facts.dispute_opened_by == PROVIDER
    raise ValueError(f"unknown guard {guard}")


def deliverables_withdrawn(status: str, milestones: list[dict]) -> bool:
    """The buyer loses the delivered files when the order closed with nothing released to
    the provider (rejected, expired, cancelled, or resolved all to the buyer): whoever
    got all the money back does not keep the work too. The provider and operators still
    read them."""
    return status in CLOSED and not money.anything_released(milestones)


# --- timers ------------------------------------------------------------------
@dataclass(frozen=True)
class Windows:
    payment: timedelta
    accept: timedelta
    late_cancel: timedelta
    review: timedelta
    reminder_before: timedelta
    auto_approve: timedelta = timedelta(days=7)
    evidence: timedelta = timedelta(days=3)  # EVIDENCE_SECONDS: 举证 after a dispute opens


@dataclass(frozen=True)
class Timer:
    name: str  # a DEADLINE_NAMES entry, or reminder:<deadline>
    at: datetime
    deadline: str  # the deadline this timer belongs to


DEADLINE_NAMES = ("pay_by", "accept_by", "late_cancel_from", "auto_approve_at", "review_until",
                  "refund_answer_by", "proposal_expires_at", "evidence_until")
# The open proposal's expiry: a refund request is granted then, any other one lapses.
PROPOSAL_DEADLINES = ("refund_answer_by", "proposal_expires_at")
_NO_REMINDER = ("review_until", "proposal_expires_at")
# Shown to the parties but nothing fires then: evidence is refused by the clock itself.
_NOT_FIRED = ("evidence_until",)


def dispute_clock(opened_at: datetime, now: datetime, *, evidence: timedelta,
                  sla: timedelta) -> dict:
    """The dispute queue's view of one dispute: until when evidence is taken, and whether
    it has waited longer than the operators promise (DISPUTE_SLA_SECONDS)."""
    return {"evidence_until": opened_at + evidence, "overdue": now - opened_at > sla}


def reminder_name(deadline: str) -> str:
    return f"reminder:{deadline}"


def deadlines(status: str, *, created_at: datetime, paid_at: datetime | None,
              due_at: datetime, completed_at: datetime | None, late_cancel_eligible: bool,
              reviewed_by_buyer: bool, reviewed_by_provider: bool,
              windows: Windows, delivered_at: datetime | None = None,
              proposal_expires_at: datetime | None = None,
              refund_request_open: bool = False, restarted_at: datetime | None = None,
              dispute_at: datetime | None = None) -> dict[str, datetime]:
    """The deadlines still pending for an order in `status`.

    In review the buyer's window runs from the latest delivery, so a new delivery starts
    a new one; the late-cancel clock only matters while the delivery is missing. While a
    buyer's refund request is open, auto-approval waits (the money is being argued over).
    While disputed the order's own timers stop: only the evidence window (举证) and a
    settlement proposal's expiry run. A withdrawn dispute restarts the relative windows
    (accept, auto-approval) from `restarted_at`; late_cancel_from stays due_at-based.
    """
    out = {}
    if status == AWAITING_PAYMENT:
        out["pay_by"] = created_at + windows.payment
    elif status == AWAITING_PROVIDER and paid_at is not None:
        out["accept_by"] = _latest(paid_at, restarted_at) + windows.accept
    elif status == IN_PROGRESS and not late_cancel_eligible:
        out["late_cancel_from"] = due_at + windows.late_cancel
    elif status == IN_REVIEW and delivered_at is not None and not refund_request_open:
        out["auto_approve_at"] = _latest(delivered_at, restarted_at) + windows.auto_approve
    elif status == DISPUTED and dispute_at is not None:
        out["evidence_until"] = dispute_at + windows.evidence
    elif status == COMPLETED and completed_at is not None and not (
            reviewed_by_buyer and reviewed_by_provider):
        out["review_until"] = completed_at + windows.review
    if status in (*_OPEN_WORK, DISPUTED) and proposal_expires_at is not None:
        out["refund_answer_by" if refund_request_open else "proposal_expires_at"] = \
            proposal_expires_at
    return out


def _latest(at: datetime, restarted_at: datetime | None) -> datetime:
    return at if restarted_at is None or at >= restarted_at else restarted_at


def evidence_open(deadlines_now: dict, now: datetime) -> bool:
    """Evidence (举证) is taken while disputed, until evidence_until."""
    return "evidence_until" in deadlines_now and now < deadlines_now["evidence_until"]


def pending_timers(status: str, *, reminders_sent=(), windows: Windows, **order) -> list[Timer]:
    """Every timer still to fire, earliest first: each deadline and, 24 h before it, a
    reminder (unless already sent). The sweep fires what is due and re-indexes the rest."""
    timers = []
    for name, at in deadlines(status, windows=windows, **order).items():
        if name in _NOT_FIRED:
            continue
        timers.append(Timer(name, at, name))
        if name not in _NO_REMINDER and reminder_name(name) not in reminders_sent:
            timers.append(Timer(reminder_name(name), at - windows.reminder_before, name))
    return sorted(timers, key=lambda t: (t.at, t.name))


def next_timer(status: str, **kwargs) -> Timer | None:
    """The earliest pending timer (what the sparse due_timers index is keyed on), or None."""
    timers = pending_timers(status, **kwargs)
    return timers[0] if timers else None
