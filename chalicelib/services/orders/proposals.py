"""Proposals (协商): a party proposes an extension or a cancel with a refund split, the
other party accepts or declines, the author withdraws; listing them.

Every step is a transition of the order engine (`domain.orders` says who may act in
which state; `domain.proposals` which party answers and what the terms may be), so it
commits in one conditional transaction with its event:
- proposing puts the proposal and sets `orders.open_proposal`, conditional on there
  being none → one open proposal per order (`409 PROPOSAL_PENDING`);
- answering removes `open_proposal`, conditional on it naming this proposal, and marks
  the proposal, conditional on it being open; accepting an extension moves `due_at` and
  re-indexes the timers, accepting a cancel closes the order `cancelled` and records the
  refund and release instructions, all in that one transaction;
- any transition that changes the order's state removes `open_proposal` and marks the
  proposal `lapsed`, in its own transaction (engine `_Change._lapse_proposal`).
"""
from datetime import datetime

from pynamodb.exceptions import DoesNotExist

from chalicelib import clock, ids
from chalicelib.domain import escrow as money
from chalicelib.domain import orders as life
from chalicelib.domain import proposals as deals
from chalicelib.domain.actors import SYSTEM, Caller
from chalicelib.domain.errors import (InvalidTransition, NotFound, ProposalNotOpen,
                                      ProposalPending)
from chalicelib.services.orders.engine import (load, milestones_of, moved_by_this_request,
                                               role_of, transition)
from chalicelib.services.orders.state import proposal_windows
from chalicelib.storage.orders import OrderEventModel, OrderModel
from chalicelib.storage.proposals import ProposalModel

def propose(caller: Caller, order_id: str, *, kind: str, due_at: datetime | None,
            refund: int | None, note: str | None, now: datetime,
            request_key: str | None = None, reason: str | None = None) -> dict:
    """A party of open work proposes an extension, a cancel with a refund split, or (the
    buyer) a partial refund; a buyer's refund request replaces another open proposal."""
    proposal_id = ids.new_id("prop")
    made = {}  # the proposal as the committing attempt wrote it: the answer

    def prepare(order: OrderModel, role: str) -> dict:
        deals.check_kind(kind, role, order.status)
        refund_request = deals.is_refund_request(kind, role, order.status)
        replaces = None
        if order.open_proposal:
            # A buyer's refund request withdraws what is open, unless that is already
            # a refund request: one answer window at a time.
            if not refund_request or order.refund_request_open:
                raise ProposalPending(proposal_id=order.open_proposal)
            replaces = order.open_proposal
        agreed = deals.terms(kind, due_at=due_at, refund=refund, now=now,
                             held=money.undecided_amount(milestones_of(order)), reason=reason)
        answer, ttl = proposal_windows()
        made["proposal"] = ProposalModel(
            order.id, proposal_id, kind=kind, by=caller.user_id, by_role=role,
            status=deals.OPEN, due_at=clock.to_key(agreed["due_at"]) if due_at else None,
            refund=agreed.get("refund"), release=agreed.get("release"), note=note or None,
            reason=reason.strip() if kind == deals.PARTIAL_REFUND else None,
            created_at=clock.to_key(now),
            expires_at=clock.to_key(deals.expires_at(now, refund_request, refund_answer=answer,
                                                     ttl=ttl)))
        return {"proposal": made["proposal"], "refund_request": refund_request,
                "replaces": replaces}

    order = transition(caller, order_id, life.PROPOSE, now, prepare=prepare,
                       request_key=request_key)
    if order.open_proposal != proposal_id:
        # A retry of a proposal that committed and lost its answer: that one is ours.
        latest = OrderEventModel.get(order.id, int(order.version), consistent_read=True)
        return present(_get(order.id, (latest.data.as_dict() if latest.data else {})
                            .get("proposal_id")), order)
    return present(made["proposal"], order)


def accept_proposal(caller: Caller, order_id: str, proposal_id: str, now: datetime, *,
                    request_key: str | None = None) -> dict:
    """The other party agrees: the extension moves due_at, the cancel closes the order."""
    return _answer(caller, order_id, proposal_id, deals.ACCEPT, now, request_key)


def decline_proposal(caller: Caller, order_id: str, proposal_id: str, now: datetime, *,
                     request_key: str | None = None) -> dict:
    """The other party says no; the deal stays as it was."""
    return _answer(caller, order_id, proposal_id, deals.DECLINE, now, request_key)


def withdraw_proposal(caller: Caller, order_id: str, proposal_id: str, now: datetime, *,
                      request_key: str | None = None) -> dict:
    """Its author takes the proposal back."""
    return _answer(caller, order_id, proposal_id, deals.WITHDRAW, now, request_key)


def _answer(caller: Caller, order_id: str, proposal_id: str, verb: str, now: datetime,
            request_key: str | None) -> dict:
    order = load(order_id)
    role = role_of(caller, order)
    proposal = _get(order.id, proposal_id)
    deals.check_answer(verb, proposal.by_role, role)
    if order.open_proposal != proposal.id:
        # Said before the state's refusal: "this proposal is over" is the better answer
        # to a party answering one that lapsed when the order moved on.
        if moved_by_this_request(order, request_key):  # our earlier answer, its reply lost
            return present(proposal, order)
        raise ProposalNotOpen(proposal_id=proposal.id,
                              proposal_status=_status_now(order, proposal.id))
    action = deals.action_for(verb, proposal.kind)

    def prepare(fresh: OrderModel, _role: str) -> dict:
        if fresh.open_proposal != proposal.id:
            raise ProposalNotOpen(proposal_id=proposal.id,
                                  proposal_status=_status_now(fresh, proposal.id))
        more = {"proposal_id": proposal.id, "proposal_status": deals.outcome_of(verb),
                "proposal": proposal}
        if action == life.ACCEPT_EXTENSION:
            more["due_at"] = clock.from_key(proposal.due_at)
        elif action == life.ACCEPT_CANCEL:
            # The split as proposed: nothing held can have changed since, because any
            # move that changes it changes the state too, and that lapses the proposal.
            held = money.undecided_amount(milestones_of(fresh))
            more.update(refund=int(proposal.refund), release=held - int(proposal.refund))
        elif action == life.ACCEPT_PARTIAL_REFUND:
            more["refund"] = int(proposal.refund)
        return more

    fresh = transition(caller, order.id, action, now, prepare=prepare, request_key=request_key,
                       read=order)
    # As committed: the answer and the order's update carry the same moment (also when
    # this is a retry whose first run committed).
    proposal.status = deals.outcome_of(verb)
    proposal.decided_at, proposal.decided_by = fresh.updated_at, caller.user_id
    return present(proposal, fresh)


def end_due_proposal(order_id: str, now: datetime) -> OrderModel | None:
    """Sweep: the open proposal's expiry passed. A buyer's refund request is granted
    (退款超时, actor system); any other proposal lapses (`expired`). None when the order
    or the proposal moved on first (the provider answered, a second sweep got there)."""
    try:
        order = load(order_id)
        if not order.open_proposal:
            return None
        proposal = _get(order.id, order.open_proposal)
    except NotFound:
        return None
    grant = bool(order.refund_request_open)
    action = deals.action_for(deals.ACCEPT, proposal.kind) if grant else life.EXPIRE_PROPOSAL

    def prepare(fresh: OrderModel, _role: str) -> dict:
        if fresh.open_proposal != proposal.id:
            raise ProposalNotOpen(proposal_id=proposal.id)
        more = {"proposal_id": proposal.id, "proposal": proposal,
                "proposal_status": deals.ACCEPTED if grant else deals.EXPIRED}
        if action == life.ACCEPT_CANCEL:
            held = money.undecided_amount(milestones_of(fresh))
            more.update(refund=int(proposal.refund), release=held - int(proposal.refund))
        elif action == life.ACCEPT_PARTIAL_REFUND:
            more["refund"] = int(proposal.refund)
        return more

    try:
        return transition(SYSTEM, order.id, action, now, prepare=prepare, read=order,
                          data={"granted": grant} if grant else None)
    except (InvalidTransition, NotFound):
        return None


def list_proposals(caller: Caller, order_id: str, *, limit: int, start_key):
    """The order's proposals, oldest first, for its parties and operators."""
    order = load(order_id)
    role_of(caller, order)
    result = ProposalModel.query(order.id, consistent_read=True, limit=limit,
                                 last_evaluated_key=start_key)
    return [present(p, order) for p in result], result.last_evaluated_key


def get_proposal(caller: Caller, order_id: str, proposal_id: str) -> dict:
    """One proposal of the order."""
    order = load(order_id)
    role_of(caller, order)
    return present(_get(order.id, proposal_id), order)


def present(proposal: ProposalModel, order: OrderModel) -> dict:
    """The proposal answer; its status as it stands for this order now."""
    return {
        "id": proposal.id, "order_id": proposal.order_id, "kind": proposal.kind,
        "by": proposal.by, "by_role": proposal.by_role,
        "status": deals.shown_status(proposal.status, order.open_proposal == proposal.id),
        "due_at": clock.key_to_iso(proposal.due_at),
        "refund": None if proposal.refund is None else int(proposal.refund),
        "release": None if proposal.release is None else int(proposal.release),
        "note": proposal.note, "reason": proposal.reason,
        "created_at": clock.key_to_iso(proposal.created_at),
        "expires_at": clock.key_to_iso(proposal.expires_at),
        # What the sweep does at expires_at to the open proposal (None once it is over).
        "on_expiry": None if order.open_proposal != proposal.id
        else "accept" if order.refund_request_open else "lapse",
        "decided_at": clock.key_to_iso(proposal.decided_at),
        "decided_by": proposal.decided_by,
    }


def _get(order_id: str, proposal_id) -> ProposalModel:
    if not isinstance(proposal_id, str) or not 1 <= len(proposal_id) <= 128:
        raise NotFound("no such proposal")
    try:
        return ProposalModel.get(order_id, proposal_id, consistent_read=True)
    except DoesNotExist:
        raise NotFound("no such proposal")


def _status_now(order: OrderModel, proposal_id: str) -> str:
    try:
        stored = ProposalModel.get(order.id, proposal_id, consistent_read=True).status
    except DoesNotExist:
        return deals.LAPSED
    return deals.shown_status(stored, order.open_proposal == proposal_id)
