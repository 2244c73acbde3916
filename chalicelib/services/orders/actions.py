"""The verb-named actions on an order: the parties', the operator's and the sweeps'."""
from datetime import datetime

from pynamodb.exceptions import DoesNotExist

from chalicelib.domain import orders as life
from chalicelib.domain import proposals as deals
from chalicelib.domain.actors import SYSTEM, Caller
from chalicelib.domain.errors import InvalidTransition, NotFound
from chalicelib.services.orders.engine import transition
from chalicelib.services.orders.reading import present
from chalicelib.storage.orders import OrderModel
from chalicelib.storage.proposals import ProposalModel


def accept_order(caller: Caller, order_id: str, now: datetime, *,
                 request_key: str | None = None) -> dict:
    """The provider takes the order on; deposit steps are released."""
    return present(transition(caller, order_id, life.ACCEPT, now, request_key=request_key),
                   caller)


def reject_order(caller: Caller, order_id: str, reason: str, now: datetime, *,
                 request_key: str | None = None) -> dict:
    """The provider declines; everything held goes back to the buyer."""
    return present(transition(caller, order_id, life.REJECT, now, data={"reason": reason},
                              request_key=request_key), caller)


def approve_order(caller: Caller, order_id: str, now: datetime, *,
                  request_key: str | None = None) -> dict:
    """The buyer accepts the current step; its money goes to the provider."""
    return present(transition(caller, order_id, life.APPROVE, now, request_key=request_key),
                   caller)


def request_revision(caller: Caller, order_id: str, note: str, now: datetime, *,
                     request_key: str | None = None) -> dict:
    """The buyer sends the delivery back with a note; escrow stays held."""
    return present(transition(caller, order_id, life.REQUEST_REVISION, now,
                              data={"note": note}, request_key=request_key), caller)


def cancel_order(caller: Caller, order_id: str, now: datetime, *,
                 request_key: str | None = None) -> dict:
    """The buyer cancels (unpaid, or in progress 15 days past due_at), or the provider
    gives up work in progress; whatever is still held is refunded."""
    return present(transition(caller, order_id, life.CANCEL, now, request_key=request_key),
                   caller)


def set_price(caller: Caller, order_id: str, amount: int, milestones: list[dict] | None,
              now: datetime, *, request_key: str | None = None) -> dict:
    """改价 on a negotiable order awaiting payment: the provider's amount is agreed at once,
    the buyer's waits for the provider to set or confirm it."""
    return present(transition(caller, order_id, life.SET_PRICE, now,
                              params={"amount": amount, "milestones": milestones},
                              request_key=request_key), caller)


def dispute_order(caller: Caller, order_id: str, reason: str, now: datetime, *,
                  request_key: str | None = None, proposal_id: str | None = None) -> dict:
    """Either party freezes the order for an operator; timers stop. `proposal_id` escalates
    a declined refund request: the dispute keeps it."""
    escalated = {} if proposal_id is None else {"proposal_id": proposal_id}

    def prepare(order: OrderModel, _role: str) -> dict:
        # After the caller is known to be a party: a stranger learns nothing of proposals.
        if proposal_id is not None:
            if not 1 <= len(proposal_id) <= 128:
                raise NotFound("no such proposal")
            try:
                asked = ProposalModel.get(order.id, proposal_id, consistent_read=True)
            except DoesNotExist:
                raise NotFound("no such proposal")
            deals.check_escalation(asked.kind, asked.by_role, asked.status)
        return escalated

    return present(transition(caller, order_id, life.DISPUTE, now, params={"reason": reason},
                              data={"reason": reason, **escalated}, request_key=request_key,
                              prepare=prepare), caller)


def resolve_order(caller: Caller, order_id: str, refund: int, release: int, note: str,
                  now: datetime, *, request_key: str | None = None,
                  fault: str | None = None) -> dict:
    """The operator splits what is held between buyer (refund) and provider (release);
    `fault` (buyer, provider, none), when given, counts in the provider's stats."""
    fault_data = {"fault": fault} if fault else {}
    return present(transition(caller, order_id, life.RESOLVE, now,
                              params={"refund": refund, "release": release, **fault_data},
                              data={"note": note, **fault_data}, request_key=request_key),
                   caller)


def _system_action(order_id: str, action: str, now: datetime) -> OrderModel | None:
    try:
        return transition(SYSTEM, order_id, action, now)
    except (InvalidTransition, NotFound):
        return None  # already moved on, or not due yet: a sweep running twice is harmless


def expire_unaccepted(order_id: str, now: datetime) -> OrderModel | None:
    """Sweep: the provider let the accept window pass; expire and refund (None if not due)."""
    return _system_action(order_id, life.EXPIRE, now)


def close_unpaid(order_id: str, now: datetime) -> OrderModel | None:
    """Sweep: the payment window passed; cancel the order (None if not due)."""
    return _system_action(order_id, life.CLOSE_UNPAID, now)


def auto_approve(order_id: str, now: datetime) -> OrderModel | None:
    """Sweep: the buyer's review window passed; approve the current step as the buyer
    would (None if not due, or the buyer acted first)."""
    return _system_action(order_id, life.AUTO_APPROVE, now)


def mark_late_cancel_eligible(order_id: str, now: datetime) -> OrderModel | None:
    """Sweep: 15 days past due_at; the buyer may now cancel (None if not due)."""
    return _system_action(order_id, life.MARK_LATE_CANCEL, now)
