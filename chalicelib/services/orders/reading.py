"""Reading orders: the contract's order answer, one order, the caller's lists, events."""
from chalicelib import clock
from chalicelib.domain import orders as life
from chalicelib.domain import proposals as deals
from chalicelib.domain.errors import DomainError
from chalicelib.domain.actors import Caller
from chalicelib.services.orders.state import plain_map
from chalicelib.services.orders.engine import (facts, load, milestones_of, order_deadlines,
                                               price_agreed, role_of)
from chalicelib.services.orders.state import plan_version
from chalicelib.storage.orders import OrderEventModel, OrderModel, status_key


def present(order: OrderModel, caller: Caller) -> dict:
    """The contract's order answer, for `caller` (a party or an operator)."""
    snap = order.service
    return {
        "id": order.id,
        "status": order.status,
        "status_label": life.LABELS[order.status],
        "buyer_id": order.buyer_id,
        "provider_id": order.provider_id,
        "service_id": order.service_id,
        "service": {"title": snap.title, "category": snap.category, "pricing": snap.pricing,
                    "price": int(snap.price), "headline": snap.headline,
                    "logo_key": snap.logo_key},
        "requirement": order.requirement,
        "due_at": clock.key_to_iso(order.due_at),
        "amount": int(order.amount),
        "currency": order.currency,
        "price_agreed": price_agreed(order),
        "deadlines": {name: clock.to_iso(at) for name, at in order_deadlines(order).items()},
        "milestones": milestones_of(order),
        # The plan's version: a pay naming another one is refused (PLAN_CHANGED), and a
        # payment started for another one never funds the order.
        "plan_version": plan_version(order),
        "payment_pending": bool(order.pending_payment),
        # The buyer's downloads of the delivered files answer 403 DELIVERABLES_WITHDRAWN.
        "deliverables_withdrawn": life.deliverables_withdrawn(order.status,
                                                              milestones_of(order)),
        "current_step": int(order.current_step),
        "revision_count": int(order.revision_count),
        "delivery_count": int(order.delivery_count or 0),
        "escrow": {"funded": int(order.escrow_funded), "released": int(order.escrow_released),
                   "refunded": int(order.escrow_refunded), "held": int(order.escrow_held)},
        "late_cancel_eligible": bool(order.late_cancel_eligible),
        "open_proposal": order.open_proposal,  # the id of the one open proposal, or null
        "allowed_actions": (verbs := allowed_actions(order, caller)),
        # What `propose` may offer now (only a cancel settles a dispute): the rule's verdict.
        "proposal_kinds": proposal_kinds(order, caller) if "propose" in verbs else [],
        "dispute": dict(order.dispute.as_dict()) if order.dispute else None,
        "reviewed_by_buyer": bool(order.reviewed_by_buyer),
        "reviewed_by_provider": bool(order.reviewed_by_provider),
        "version": int(order.version),
        **intake_fields(order),
        **{name: clock.key_to_iso(getattr(order, name)) for name in (
            "created_at", "updated_at", "paid_at", "accepted_at", "delivered_at",
            "completed_at", "closed_at")},
    }


def intake_fields(order: OrderModel) -> dict:
    """What the buyer chose before ordering: the inquiry, package, extras and answers."""
    return {
        "inquiry_id": order.inquiry_id,
        "package": plain_map(order.package),
        "extras": [plain_map(e) for e in order.extras or []],
        "answers": plain_map(order.answers) or {},
    }


def allowed_actions(order: OrderModel, caller: Caller) -> list[str]:
    """What the caller may do to the order now (the table's verdict, not a second rule):
    a client shows these and no other button."""
    verbs = life.allowed_actions(order.status, role_of(caller, order), facts(order, clock.now()))
    # One open proposal at a time: a second is refused (PROPOSAL_PENDING) until it is answered.
    return [v for v in verbs if not (v == "propose" and order.open_proposal)]


def proposal_kinds(order: OrderModel, caller: Caller) -> list[str]:
    role = role_of(caller, order)
    kinds = []
    for kind in deals.KINDS:
        try:
            deals.check_kind(kind, role, order.status)
        except DomainError:
            continue
        kinds.append(kind)
    return kinds


def get_order(caller: Caller, order_id: str) -> dict:
    """One order, for its buyer, its provider and operators."""
    order = load(order_id)
    role_of(caller, order)
    return present(order, caller)


def list_orders(caller: Caller, *, as_: str, status: str | None, limit: int, start_key):
    """The caller's orders as buyer or provider, newest first, optionally one status."""
    uid = caller.user_id
    if as_ == "buyer":
        index, key = (OrderModel.by_buyer_status, status_key(uid, status)) if status else (
            OrderModel.by_buyer, uid)
    else:
        index, key = (OrderModel.by_provider_status, status_key(uid, status)) if status else (
            OrderModel.by_provider, uid)
    result = index.query(key, scan_index_forward=False, limit=limit,
                         last_evaluated_key=start_key)
    return [present(o, caller) for o in result], result.last_evaluated_key


def list_events(caller: Caller, order_id: str, *, limit: int, start_key):
    """The order's state changes, oldest first."""
    order = load(order_id)
    role_of(caller, order)
    result = OrderEventModel.query(order.id, consistent_read=True, limit=limit,
                                   last_evaluated_key=start_key)
    return [present_event(e) for e in result], result.last_evaluated_key


def present_event(event: OrderEventModel) -> dict:
    return {"seq": int(event.seq), "type": event.type, "from": event.from_status,
            "to": event.to_status, "actor": event.actor, "at": clock.key_to_iso(event.at),
            "data": event.data.as_dict() if event.data else {}}
