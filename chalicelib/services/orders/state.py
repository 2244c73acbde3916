"""What a decision about an order needs: the order itself, the caller's role in it, the
facts (deadlines, provider standing, agreed price) and the due-timer index that turns
deadlines into sweep work."""
from datetime import datetime, timedelta

from pynamodb.exceptions import DoesNotExist

from chalicelib import clock, settings
from chalicelib.domain import choices
from chalicelib.domain import orders as life
from chalicelib.domain.actors import Caller
from chalicelib.domain.errors import NotFound
from chalicelib.storage.orders import (OrderModel, timer_due_key, timer_partition)



# --- timers ------------------------------------------------------------------
def windows() -> life.Windows:
    cfg = settings.get()
    return life.Windows(
        payment=timedelta(seconds=cfg.payment_window_seconds),
        accept=timedelta(seconds=cfg.accept_window_seconds),
        late_cancel=timedelta(seconds=cfg.late_cancel_after_seconds),
        review=timedelta(seconds=cfg.review_window_seconds),
        reminder_before=timedelta(seconds=cfg.reminder_before_seconds),
        auto_approve=timedelta(seconds=cfg.auto_approve_seconds),
        evidence=timedelta(seconds=cfg.evidence_seconds))


def proposal_windows() -> tuple[timedelta, timedelta]:
    """(REFUND_ANSWER_SECONDS, PROPOSAL_TTL_SECONDS): how long a proposal stays open."""
    cfg = settings.get()
    return (timedelta(seconds=cfg.refund_answer_seconds),
            timedelta(seconds=cfg.proposal_ttl_seconds))


def _dt(raw):
    return clock.from_key(raw) if raw else None


def timer_inputs(order: OrderModel, **changes) -> dict:
    """The facts `domain.orders.pending_timers` needs, read from an order (plus changes)."""
    values = dict(status=order.status, created_at=_dt(order.created_at),
                  paid_at=_dt(order.paid_at), due_at=_dt(order.due_at),
                  completed_at=_dt(order.completed_at), delivered_at=_dt(order.delivered_at),
                  late_cancel_eligible=bool(order.late_cancel_eligible),
                  reviewed_by_buyer=bool(order.reviewed_by_buyer),
                  reviewed_by_provider=bool(order.reviewed_by_provider),
                  reminders_sent=list(order.reminders_sent or []),
                  proposal_expires_at=_dt(order.proposal_expires_at),
                  refund_request_open=bool(order.refund_request_open),
                  restarted_at=_dt(order.timers_restarted_at),
                  dispute_at=_dt(dispute_field(order, "at")))
    values.update(changes)
    return values


def timer_values(order_id: str, inputs: dict) -> dict:
    """The sparse due_timers index's keys for the earliest pending timer (None: out of it)."""
    inputs = dict(inputs)
    status = inputs.pop("status")
    timer = life.next_timer(status, windows=windows(), **inputs)
    if timer is None:
        return {"timer_pk": None, "timer_due": None}
    return {"timer_pk": timer_partition(order_id),
            "timer_due": timer_due_key(clock.to_key(timer.at), order_id)}


def timer_actions(order_id: str, inputs: dict) -> list:
    """Keep the sparse due_timers index on the earliest pending timer, or drop out of it."""
    values = timer_values(order_id, inputs)
    return [getattr(OrderModel, name).set(value) if value is not None
            else getattr(OrderModel, name).remove() for name, value in values.items()]


def dispute_field(order: OrderModel, name: str):
    """One field of the order's dispute record (None without one)."""
    return plain_map(order.dispute).get(name) if order.dispute else None


def order_deadlines(order: OrderModel) -> dict:
    inputs = timer_inputs(order)
    inputs.pop("reminders_sent")
    status = inputs.pop("status")
    return life.deadlines(status, windows=windows(), **inputs)


def milestones_of(order: OrderModel) -> list[dict]:
    return [{"title": m.title, "amount": int(m.amount), "release": m.release,
             "status": m.status} for m in order.milestones or []]


def load(order_id: str) -> OrderModel:
    # An id no order could have is answered like an unknown one, before DynamoDB
    # would refuse it with a validation error.
    if not isinstance(order_id, str) or not 1 <= len(order_id) <= 128:
        raise NotFound("no such order")
    try:
        return OrderModel.get(order_id, consistent_read=True)
    except DoesNotExist:
        raise NotFound("no such order")


def role_of(caller: Caller, order: OrderModel) -> str:
    """The caller's part in this order; a stranger may not even see it (404)."""
    if caller.user_id == order.buyer_id:
        return life.BUYER
    if caller.user_id == order.provider_id:
        return life.PROVIDER
    if "system" in caller.roles:
        return life.SYSTEM
    if caller.is_operator:
        return life.OPERATOR
    raise NotFound("no such order")


# --- the transition engine ---------------------------------------------------
def price_agreed(order: OrderModel) -> bool:
    # Orders placed before prices could be negotiated carry no flag: their price stood.
    return order.price_agreed is not False


def plain_map(value) -> dict | None:
    # A map read back from DynamoDB is a MapAttribute; one just placed is still a dict.
    if value is None:
        return None
    return value.as_dict() if hasattr(value, "as_dict") else dict(value)


def facts(order: OrderModel, now: datetime) -> life.Facts:
    current = order_deadlines(order)
    due = _dt(order.due_at)
    return life.Facts(
        now=now, timers=current,
        # The last step still to settle: later ones a partial refund took whole are not.
        is_last_step=not any(m.status == "pending"
                             for m in (order.milestones or [])[int(order.current_step) + 1:]),
        late_cancel_eligible=bool(order.late_cancel_eligible),
        late_cancel_from=due + windows().late_cancel if due else None,
        price_agreed=price_agreed(order),
        negotiable=order.service.pricing == "negotiable",
        # Accepting is the one move a suspended provider may not make; the accepting
        # transaction checks the provider's standing itself (engine `_check_provider`),
        # so deciding needs no read of it.
        provider_approved=True,
        revisions_left=choices.revisions_left(
            plain_map(order.package), int(order.revision_count)),
        payment_pending=bool(order.pending_payment),
        dispute_opened_by=_opener_role(order) if order.status == life.DISPUTED else None,
        dispute_from=dispute_field(order, "from_status"))


def _opener_role(order: OrderModel) -> str | None:
    by = dispute_field(order, "by")
    return life.BUYER if by == order.buyer_id else life.PROVIDER if by == order.provider_id \
        else None


def plan_version(order: OrderModel) -> int:
    """The order's plan version (orders placed before versions were counted are at 1)."""
    return int(order.plan_version or 1)
