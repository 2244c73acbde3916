"""Proposals (协商): the rules, pure. A party of open work proposes a change to the deal —
an `extension` (a new due_at) or a `cancel` with a `refund` split — and the other party
accepts or declines it; its author may withdraw it. One proposal is open per order; an
open proposal lapses when the order changes state.

Which states and roles may act at all is the transition table's (`domain.orders`);
this module says which party answers which proposal, what the terms may be, and how a
proposal's status reads.
"""
from datetime import datetime, timedelta

from chalicelib.domain import orders as life
from chalicelib.domain.errors import Forbidden, InvalidTransition, ValidationFailed

EXTENSION, CANCEL, PARTIAL_REFUND = "extension", "cancel", "partial_refund"
KINDS = (EXTENSION, CANCEL, PARTIAL_REFUND)
OPEN, ACCEPTED, DECLINED, WITHDRAWN, LAPSED = "open", "accepted", "declined", "withdrawn", "lapsed"
EXPIRED = "expired"  # left unanswered past its expires_at (PROPOSAL_TTL_SECONDS)
STATUSES = (OPEN, ACCEPTED, DECLINED, WITHDRAWN, LAPSED, EXPIRED)
REASON_MAX = 500
# 退款申请: the buyer's refund proposals while the work is under way; the sweep grants one
# the provider leaves unanswered (退款超时) instead of letting it lapse.
_REFUND_STATES = (life.IN_PROGRESS, life.IN_REVIEW)
ACCEPT, DECLINE, WITHDRAW = "accept", "decline", "withdraw"
NOTE_MAX = 500


def is_refund_request(kind: str, by_role: str, state: str) -> bool:
    """A buyer's cancel or partial refund on work under way: the provider must answer it
    within REFUND_ANSWER_SECONDS or the sweep grants it. (A buyer's cancel while the order
    awaits its provider is not one: it lapses like any other proposal.)"""
    return by_role == life.BUYER and kind in (CANCEL, PARTIAL_REFUND) and state in _REFUND_STATES


def expires_at(created_at: datetime, refund_request: bool, *, refund_answer: timedelta,
               ttl: timedelta) -> datetime:
    """When the sweep ends an unanswered proposal: grants a refund request, lapses the rest."""
    return created_at + (refund_answer if refund_request else ttl)


def check_kind(kind: str, role: str, state: str) -> None:
    """部分退款 is the buyer's, and only while the work is under way (the order stays open).
    A disputed order is settled by the parties only with a cancel (a split of what is
    held that closes it); nothing else is negotiated while an operator may decide."""
    if state == life.DISPUTED and kind in KINDS and kind != CANCEL:
        raise InvalidTransition(f"only a cancel settles a dispute, not a {kind}",
                                status=state, reason="only_cancel_while_disputed")
    if kind != PARTIAL_REFUND:
        return
    if role != life.BUYER:
        raise Forbidden("only the buyer asks for a partial refund")
    if state not in _REFUND_STATES:
        raise InvalidTransition(f"a partial refund cannot be asked while {state}",
                                status=state)


def terms(kind: str, *, due_at: datetime | None, refund: int | None, now: datetime,
          held: int, reason: str | None = None) -> dict:
    """The proposal's terms, checked against the order now: an extension's due_at lies
    in the future; a cancel's refund is 0..held and the rest of what is held is released
    to the provider; a partial refund's is 1..held-1 (the order goes on with the rest)."""
    if kind == PARTIAL_REFUND:
        problems = []
        if due_at is not None:
            problems.append({"field": "due_at", "problem": "only for an extension"})
        if refund is None:
            problems.append({"field": "refund", "problem": "required for a partial refund"})
        if not reason or not reason.strip():
            problems.append({"field": "reason", "problem": "required for a partial refund"})
        if problems:
            raise ValidationFailed("a partial refund names a refund and a reason",
                                   errors=problems)
        if not 1 <= refund <= held - 1:
            raise ValidationFailed("a partial refund is between 1 and what escrow holds - 1",
                                   errors=[{"field": "refund", "problem": "out of range",
                                            "minimum": 1, "maximum": held - 1}], held=held)
        return {"refund": refund}
    if kind == EXTENSION:
        if due_at is None or refund is not None:
            raise ValidationFailed("an extension names a due_at and no refund", errors=[
                {"field": "due_at", "problem": "required for an extension"}] if due_at is None
                else [{"field": "refund", "problem": "only for a cancel"}])
        if due_at <= now:
            raise ValidationFailed("the new due_at must be in the future",
                                   errors=[{"field": "due_at", "problem": "must be in the future"}])
        return {"due_at": due_at}
    if kind == CANCEL:
        if refund is None or due_at is not None:
            raise ValidationFailed("a cancel names a refund and no due_at", errors=[
                {"field": "refund", "problem": "required for a cancel"}] if refund is None
                else [{"field": "due_at", "problem": "only for an extension"}])
        if not 0 <= refund <= held:
            raise ValidationFailed("the refund must be between 0 and what escrow holds",
                                   errors=[{"field": "refund", "problem": "out of range",
                                            "minimum": 0, "maximum": held}], held=held)
        return {"refund": refund, "release": held - refund}
    raise ValidationFailed("unknown kind", errors=[{"field": "kind", "problem": "unknown",
                                                    "allowed": list(KINDS)}])


def action_for(verb: str, kind: str) -> str:
    """The transition-table action that answering (`verb`) a proposal of `kind` is."""
    if verb == ACCEPT:
        return {EXTENSION: life.ACCEPT_EXTENSION, CANCEL: life.ACCEPT_CANCEL,
                PARTIAL_REFUND: life.ACCEPT_PARTIAL_REFUND}[kind]
    return life.DECLINE_PROPOSAL if verb == DECLINE else life.WITHDRAW_PROPOSAL


def check_answer(verb: str, author_role: str, role: str) -> None:
    """The other party accepts or declines; only the author withdraws."""
    if role not in (life.BUYER, life.PROVIDER):
        raise Forbidden("only the order's parties answer proposals")
    if verb == WITHDRAW and role != author_role:
        raise Forbidden("only its author may withdraw a proposal")
    if verb in (ACCEPT, DECLINE) and role == author_role:
        raise Forbidden("the other party answers a proposal, not its author")


def shown_status(stored: str, is_the_open_one: bool) -> str:
    """A proposal stored as open that the order no longer holds has lapsed: the order
    changed state (the transition that moved it also marks it, in its transaction)."""
    return LAPSED if stored == OPEN and not is_the_open_one else stored


def outcome_of(verb: str) -> str:
    return {ACCEPT: ACCEPTED, DECLINE: DECLINED, WITHDRAW: WITHDRAWN}[verb]


def check_escalation(kind: str, by_role: str, status: str) -> None:
    """A dispute may name (escalate) a refund request the provider declined (小二介入)."""
    if by_role != life.BUYER or kind not in (CANCEL, PARTIAL_REFUND) or status != DECLINED:
        raise InvalidTransition("only a declined refund request can be escalated",
                                reason="not_a_declined_refund_request", proposal_status=status)
