"""Order use cases: place, pay, and every transition of the life cycle.

Each transition reads the order, asks `domain.orders.decide` what the move means, and
commits it as ONE TransactWrite: the order update (conditional on the status and
version it read, bumping the version), the event (seq = the new version), the money
instructions the move decides, and the service's open-order counter when the order
closes. A refused condition means somebody moved first: the order is read again and the
decision re-made, which turns into the right 409. Instructions are executed right after
the commit (so answers show final money figures); a crash in between leaves them pending
for the `release_escrow` sweep.
"""
import logging
from datetime import datetime, timedelta

from pynamodb.exceptions import DoesNotExist, TransactWriteError

from chalicelib import clock, ids, observability, settings
from chalicelib.domain import escrow as money
from chalicelib.domain import orders as life
from chalicelib.domain.actors import SYSTEM, Caller
from chalicelib.domain.errors import (Conflict, Forbidden, InvalidRequest, InvalidTransition,
                                      NotFound, ServiceAtCapacity, ServiceNotListed,
                                      ServiceUnavailable, ValidationFailed)
from chalicelib.services import escrow, funding, idempotency, payments
from chalicelib.storage.base import cancellation_codes, transact_write
from chalicelib.storage.catalog import ServiceModel
from chalicelib.storage.ledger import InstructionModel, PostingModel
from chalicelib.storage.orders import (TIMER_PK, DeliverableModel, Milestone, OrderEventModel,
                                       OrderModel, ServiceSnapshot)

try:
    from chalicelib.services import notifications
except ImportError:  # pragma: no cover - the inbox is optional to the order flow
    notifications = None

log = logging.getLogger("market.orders")

_ATTEMPTS = 3


# --- reading -----------------------------------------------------------------
def windows() -> life.Windows:
    cfg = settings.get()
    return life.Windows(
        payment=timedelta(seconds=cfg.payment_window_seconds),
        accept=timedelta(seconds=cfg.accept_window_seconds),
        late_cancel=timedelta(seconds=cfg.late_cancel_after_seconds),
        review=timedelta(seconds=cfg.review_window_seconds),
        reminder_before=timedelta(seconds=cfg.reminder_before_seconds))


def _dt(raw):
    return clock.from_key(raw) if raw else None


def timer_inputs(order: OrderModel, **changes) -> dict:
    """The facts `domain.orders.pending_timers` needs, read from an order (plus changes)."""
    values = dict(status=order.status, created_at=_dt(order.created_at),
                  paid_at=_dt(order.paid_at), due_at=_dt(order.due_at),
                  completed_at=_dt(order.completed_at),
                  late_cancel_eligible=bool(order.late_cancel_eligible),
                  reviewed_by_buyer=bool(order.reviewed_by_buyer),
                  reviewed_by_provider=bool(order.reviewed_by_provider),
                  reminders_sent=list(order.reminders_sent or []))
    values.update(changes)
    return values


def timer_actions(order_id: str, inputs: dict) -> list:
    """Keep the sparse due_timers index on the earliest pending timer, or drop out of it."""
    status = inputs.pop("status")
    timer = life.next_timer(status, windows=windows(), **inputs)
    if timer is None:
        return [OrderModel.timer_pk.remove(), OrderModel.timer_due.remove()]
    return [OrderModel.timer_pk.set(TIMER_PK),
            OrderModel.timer_due.set(f"{clock.to_key(timer.at)}#{order_id}")]


def order_deadlines(order: OrderModel) -> dict:
    inputs = timer_inputs(order)
    inputs.pop("reminders_sent")
    status = inputs.pop("status")
    return life.deadlines(status, windows=windows(), **inputs)


def _milestones(order: OrderModel) -> list[dict]:
    return [{"title": m.title, "amount": int(m.amount), "release": m.release,
             "status": m.status} for m in order.milestones or []]


def present(order: OrderModel) -> dict:
    """The contract's order answer."""
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
        "deadlines": {name: clock.to_iso(at) for name, at in order_deadlines(order).items()},
        "milestones": _milestones(order),
        "current_step": int(order.current_step),
        "revision_count": int(order.revision_count),
        "delivery_count": int(order.delivery_count or 0),
        "escrow": {"funded": int(order.escrow_funded), "released": int(order.escrow_released),
                   "refunded": int(order.escrow_refunded), "held": int(order.escrow_held)},
        "late_cancel_eligible": bool(order.late_cancel_eligible),
        "dispute": dict(order.dispute.as_dict()) if order.dispute else None,
        "reviewed_by_buyer": bool(order.reviewed_by_buyer),
        "reviewed_by_provider": bool(order.reviewed_by_provider),
        "version": int(order.version),
        **{name: clock.key_to_iso(getattr(order, name)) for name in (
            "created_at", "updated_at", "paid_at", "accepted_at", "delivered_at",
            "completed_at", "closed_at")},
    }


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


def get_order(caller: Caller, order_id: str) -> dict:
    """One order, for its buyer, its provider and operators."""
    order = load(order_id)
    role_of(caller, order)
    return present(order)


def list_orders(caller: Caller, *, as_: str, status: str | None, limit: int, start_key):
    """The caller's orders as buyer or provider, newest first, optionally one status."""
    uid = caller.user_id
    if as_ == "buyer":
        index, key = (OrderModel.by_buyer_status, f"{uid}#{status}") if status else (
            OrderModel.by_buyer, uid)
    else:
        index, key = (OrderModel.by_provider_status, f"{uid}#{status}") if status else (
            OrderModel.by_provider, uid)
    result = index.query(key, scan_index_forward=False, limit=limit,
                         last_evaluated_key=start_key)
    return [present(o) for o in result], result.last_evaluated_key


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


# --- placing -----------------------------------------------------------------
def place_order(caller: Caller, *, service_id: str, requirement: str, due_at: datetime,
                price: int | None, milestones: list[dict] | None, now: datetime) -> dict:
    """Order a listed service: snapshot it, claim a capacity slot, await payment."""
    if due_at <= now:
        raise ValidationFailed("due_at must be in the future",
                               errors=[{"field": "due_at", "problem": "must be in the future"}])
    service = _service_for_order(caller, service_id)
    amount = _order_amount(service, price)
    plan = money.plan_milestones(amount, milestones, service.title)
    at = clock.to_key(now)
    request_key = idempotency.current_request_key()
    order_id = ids.keyed_id("ord", request_key) if request_key else ids.new_id("ord")
    order = OrderModel(
        order_id, buyer_id=caller.user_id, provider_id=service.provider_id,
        service_id=service.id,
        service=ServiceSnapshot(title=service.title, category=service.category,
                                pricing=service.pricing, price=int(service.price),
                                headline=(service.summary or "")[:20] or None,
                                logo_key=service.logo_key),
        requirement=requirement, due_at=clock.to_key(due_at), amount=amount, currency="CNY",
        status=life.AWAITING_PAYMENT, version=1, milestones=[Milestone(**m) for m in plan],
        current_step=0, revision_count=0, delivery_count=0, created_key=f"{at}#{order_id}",
        created_at=at, updated_at=at,
        buyer_status=f"{caller.user_id}#{life.AWAITING_PAYMENT}",
        provider_status=f"{service.provider_id}#{life.AWAITING_PAYMENT}")
    timer = life.next_timer(life.AWAITING_PAYMENT, windows=windows(),
                            **{k: v for k, v in timer_inputs(order).items() if k != "status"})
    order.timer_pk, order.timer_due = TIMER_PK, f"{clock.to_key(timer.at)}#{order.id}"
    event = _event(order.id, 1, "placed", None, life.AWAITING_PAYMENT, caller, at,
                   {"amount": amount, "service_id": service.id})
    for attempt in range(_ATTEMPTS):
        try:
            with transact_write() as tx:
                tx.save(order, condition=OrderModel.id.does_not_exist())
                tx.save(event)
                # The slot is claimed in the same write as the order, so capacity can never
                # be overshot by buyers ordering at the same instant.
                tx.update(ServiceModel(service.id),
                          actions=[ServiceModel.open_orders.add(1)],
                          condition=(ServiceModel.status == "listed") & (
                              ServiceModel.capacity.does_not_exist()
                              | (ServiceModel.open_orders < ServiceModel.capacity)))
            break
        except TransactWriteError as error:
            codes = cancellation_codes(error)
            if codes and codes[0] == "ConditionalCheckFailed":
                # This key's order exists: the first try committed and lost its answer.
                existing = load(order_id)
                if existing.buyer_id != caller.user_id:
                    raise Conflict()
                return present(existing)
            if len(codes) > 2 and codes[2] == "ConditionalCheckFailed":
                fresh = ServiceModel.get(service.id, consistent_read=True)
                if fresh.status != "listed":
                    raise ServiceNotListed()
                raise ServiceAtCapacity(capacity=int(fresh.capacity or 0))
            if "TransactionConflict" not in codes:
                raise
    else:
        raise Conflict()
    observability.order_transition("place", None, life.AWAITING_PAYMENT, order.id)
    _notify(order.provider_id, "order_placed", order, f"新订单：{service.title}", now)
    return present(order)


def _service_for_order(caller: Caller, service_id: str) -> ServiceModel:
    if not isinstance(service_id, str) or not 1 <= len(service_id) <= 128:
        raise NotFound("no such service")
    try:
        service = ServiceModel.get(service_id, consistent_read=True)
    except DoesNotExist:
        raise NotFound("no such service")
    if service.provider_id == caller.user_id:
        raise Forbidden("you cannot order your own service")
    if service.status == "draft":
        raise NotFound("no such service")  # a draft was never public
    if service.status != "listed":
        raise ServiceNotListed()
    if service.capacity is not None and int(service.open_orders or 0) >= int(service.capacity):
        raise ServiceAtCapacity(capacity=int(service.capacity))
    return service


def _order_amount(service: ServiceModel, price: int | None) -> int:
    list_price = int(service.price)
    if service.pricing == "negotiable":
        return price if price is not None else list_price
    if price is not None and price != list_price:
        raise ValidationFailed("a fixed-price service is ordered at its list price",
                               errors=[{"field": "price", "problem": "must equal the list price",
                                        "price": list_price}])
    return list_price


# --- paying ------------------------------------------------------------------
def pay_order(caller: Caller, order_id: str, now: datetime, *, channel: str = "page") -> dict:
    """Start the buyer's payment at the gateway; the answer's `payment` says whether it
    succeeded (escrow is funded now) or is pending (the buyer pays at `redirect_url`;
    the gateway's confirmation funds escrow later, through confirm_funding)."""
    order = load(order_id)
    try:
        life.decide(order.status, life.PAY, role_of(caller, order), facts(order, now))
    except InvalidTransition:
        if _moved_by_this_request(order):  # only a gateway that succeeded at once moves it
            return {**present(order), "payment": {"status": payments.SUCCEEDED}}
        raise
    # One payment per order, whatever the client retries: the gateway's trade is the order's.
    try:
        result = funding.start_payment(order, now, channel=channel,
                                       expires_at=order_deadlines(order).get("pay_by"))
    except payments.GatewayError:
        log.warning("order %s: the gateway did not start the payment", order.id, exc_info=True)
        raise ServiceUnavailable("the payment gateway is not answering; retry in a moment")
    if result.status != payments.SUCCEEDED:
        return {**present(order), "payment": funding.present_payment(result)}
    funded = confirm_funding(order.id, result.ref, int(order.amount), now, actor=caller)
    funding.mark_paid(order.id, payments.TradeStatus(order.id, payments.SUCCEEDED, ref=result.ref,
                                                     amount=int(order.amount)), now)
    return {**present(funded), "payment": funding.present_payment(result)}


def confirm_funding(order_id: str, payment_ref: str, amount: int, now: datetime, *,
                    actor: Caller | None = None) -> OrderModel:
    """The gateway confirmed `amount`: fund escrow (idempotent; the webhook entry point)."""
    order = load(order_id)
    if order.payment_ref == payment_ref and order.status != life.AWAITING_PAYMENT:
        return order  # already confirmed: a redelivered notification changes nothing
    if amount != int(order.amount):
        raise InvalidRequest("the confirmed amount differs from the order's",
                             amount=amount, expected=int(order.amount))
    try:
        return transition(actor or SYSTEM, order_id, life.PAY, now,
                          params={"payment_ref": payment_ref, "amount": amount})
    except InvalidTransition:
        fresh = load(order_id)
        if fresh.payment_ref == payment_ref:
            return fresh
        # The money arrived for an order that closed meanwhile: send it straight back.
        funding.void_late_payment(order_id, payments.TradeStatus(
            order_id, payments.SUCCEEDED, ref=payment_ref, amount=amount), now)
        raise


# --- the transition engine ---------------------------------------------------
def facts(order: OrderModel, now: datetime) -> life.Facts:
    current = order_deadlines(order)
    due = _dt(order.due_at)
    return life.Facts(
        now=now, timers=current,
        is_last_step=int(order.current_step) >= len(order.milestones or []) - 1,
        late_cancel_eligible=bool(order.late_cancel_eligible),
        late_cancel_from=due + windows().late_cancel if due else None)


class _Change:
    """One transition's writes, built from the decided effects, committed together."""

    def __init__(self, order: OrderModel, outcome: life.Outcome, actor: Caller, now: datetime,
                 params: dict, data: dict):
        self.order, self.outcome, self.actor, self.now = order, outcome, actor, now
        self.params, self.data = params, dict(data)
        self.at = clock.to_key(now)
        to = outcome.to
        self.version = int(order.version) + 1
        self.actions = [OrderModel.status.set(to), OrderModel.version.set(self.version),
                        OrderModel.updated_at.set(self.at),
                        OrderModel.buyer_status.set(f"{order.buyer_id}#{to}"),
                        OrderModel.provider_status.set(f"{order.provider_id}#{to}")]
        self.timer_changes = {"status": to}
        self.instructions: list[InstructionModel] = []
        self.extra = []  # writes to other items that belong to this move (tx → None)
        self.close_service = False
        self.milestones = _milestones(order)
        for effect in outcome.effects:
            getattr(self, f"_{effect}")()
        instructed = sum(int(i.amount) for i in self.instructions)
        if instructed:
            self.actions.append(OrderModel.escrow_instructed.add(instructed))

    def _set_step(self, index: int, status: str):
        self.milestones[index]["status"] = status
        self.actions.append(OrderModel.milestones[index].status.set(status))

    def _instruct(self, kind: str, amount: int, step: int | None):
        if amount > 0:
            self.instructions.append(escrow.new_instruction(self.order, kind, amount, step,
                                                            self.now))

    def _fund(self):
        amount, ref = self.params["amount"], self.params["payment_ref"]
        self.actions += [OrderModel.escrow_funded.add(amount), OrderModel.escrow_held.add(amount),
                         OrderModel.payment_ref.set(ref), OrderModel.paid_at.set(self.at)]
        self.timer_changes["paid_at"] = self.now
        self.order.payment_ref = ref
        self.data.update(amount=amount, payment_ref=ref)
        posting = money.posting_for(money.FUND, self.order.id, self.order.provider_id, amount)
        self.extra.append(lambda tx: tx.save(
            PostingModel(money.funding_id(self.order.id), from_account=posting.from_account,
                         to_account=posting.to_account, amount=amount, order_id=self.order.id,
                         kind=money.FUND, at=self.at, account=posting.to_account),
            condition=PostingModel.id.does_not_exist()))

    def _release_deposit(self):
        steps = money.deposit_steps(self.milestones)
        for i in steps:
            self._instruct(money.RELEASE, self.milestones[i]["amount"], i)
            self._set_step(i, money.RELEASED)
        self.actions += [OrderModel.current_step.set(money.first_approval_step(self.milestones)),
                         OrderModel.accepted_at.set(self.at)]
        self.data["released_steps"] = steps

    def _release_step(self):
        i = int(self.order.current_step)
        self._instruct(money.RELEASE, self.milestones[i]["amount"], i)
        self._set_step(i, money.RELEASED)
        self.actions.append(OrderModel.current_step.set(i + 1))
        self.data.update(step=i, amount=self.milestones[i]["amount"])
        if self.outcome.to == life.COMPLETED:
            self.actions.append(OrderModel.completed_at.set(self.at))
            self.timer_changes["completed_at"] = self.now

    def _refund_held(self):
        amount = money.undecided_amount(self.milestones)
        for i, step in enumerate(self.milestones):
            if step["status"] == money.PENDING:
                self._set_step(i, money.REFUNDED)
        self._instruct(money.REFUND, amount, None)
        self.data["refund"] = amount

    def _split(self):
        refund, release = self.params["refund"], self.params["release"]
        money.check_split(money.undecided_amount(self.milestones), refund, release)
        mark = money.REFUNDED if not release else money.RELEASED if not refund else money.SPLIT
        for i, step in enumerate(self.milestones):
            if step["status"] == money.PENDING:
                self._set_step(i, mark)
        self._instruct(money.REFUND, refund, None)
        self._instruct(money.RELEASE, release, None)
        self.data.update(refund=refund, release=release)

    def _count_revision(self):
        self.actions.append(OrderModel.revision_count.add(1))

    def _record_delivery(self):
        number = int(self.order.delivery_count or 0) + 1
        self.actions += [OrderModel.delivery_count.set(number),
                         OrderModel.delivered_at.set(self.at)]
        self.data["version"] = number
        for file_id in self.params["file_ids"]:
            # A file belongs to one delivery: a delivery is a fixed, numbered version.
            self.extra.append(lambda tx, f=file_id: tx.update(
                DeliverableModel(self.order.id, f),
                actions=[DeliverableModel.version.set(number),
                         DeliverableModel.delivered_at.set(self.at)],
                condition=DeliverableModel.file_id.exists()
                & DeliverableModel.version.does_not_exist()))

    def _record_dispute(self):
        self.actions.append(OrderModel.dispute.set(
            {"by": self.actor.user_id, "reason": self.params.get("reason", ""),
             "at": self.at, "from_status": self.order.status}))

    def _flag_late_cancel(self):
        self.actions.append(OrderModel.late_cancel_eligible.set(True))
        self.timer_changes["late_cancel_eligible"] = True

    def _close(self):
        self.actions.append(OrderModel.closed_at.set(self.at))
        self.close_service = True

    def commit(self, include_service: bool = True):
        order = self.order
        actions = self.actions + timer_actions(order.id, timer_inputs(order, **self.timer_changes))
        with transact_write() as tx:
            # status AND version: the state we decided on is exactly the one we read.
            tx.update(OrderModel(order.id), actions=actions,
                      condition=(OrderModel.status == self.outcome.from_status)
                      & (OrderModel.version == int(order.version)))
            tx.save(_event(order.id, self.version, self.outcome.event_type,
                           self.outcome.from_status, self.outcome.to, self.actor, self.at,
                           self.data),
                    condition=OrderEventModel.seq.does_not_exist())
            for ins in self.instructions:
                tx.save(ins, condition=InstructionModel.id.does_not_exist())
            for op in self.extra:
                op(tx)
            if self.close_service and include_service:
                tx.update(ServiceModel(order.service_id),
                          actions=[ServiceModel.open_orders.add(-1)],
                          condition=ServiceModel.open_orders > 0)


def transition(actor: Caller, order_id: str, action: str, now: datetime, *,
               params: dict | None = None, data: dict | None = None) -> OrderModel:
    """Apply one action to an order: decide, commit conditionally, execute its money."""
    include_service = True
    for _ in range(_ATTEMPTS):
        order = load(order_id)
        try:
            outcome = life.decide(order.status, action, role_of(actor, order), facts(order, now))
        except InvalidTransition:
            if _moved_by_this_request(order):
                return order
            raise
        change = _Change(order, outcome, actor, now, params or {}, data or {})
        try:
            change.commit(include_service)
        except TransactWriteError as error:
            codes = cancellation_codes(error)
            if codes and codes[0] == "ConditionalCheckFailed":
                continue  # the order moved: the next read decides again (→ 409 if now wrong)
            if change.close_service and codes and codes[-1] == "ConditionalCheckFailed":
                # The service's counter is gone or already zero: closing must not wait on it.
                log.error("order %s: service %s open_orders not decremented", order.id,
                          order.service_id)
                include_service = False
                continue
            if action == life.DELIVER and "ConditionalCheckFailed" in codes:
                raise ValidationFailed("a file is unknown or already part of a delivery",
                                       errors=[{"field": "file_ids",
                                                "problem": "already delivered or unknown"}])
            if "TransactionConflict" in codes:
                continue
            raise
        observability.order_transition(action, outcome.from_status, outcome.to, order.id)
        escrow.execute_quietly([i.id for i in change.instructions], now)
        fresh = load(order_id)
        _after(fresh, action, change, now)
        return fresh
    raise Conflict()


def _event(order_id, seq, type_, from_status, to_status, actor, at, data) -> OrderEventModel:
    return OrderEventModel(order_id, seq, type=type_, from_status=from_status,
                           to_status=to_status, actor=actor.user_id, at=at, data=data or {},
                           request_key=idempotency.current_request_key())


def _moved_by_this_request(order: OrderModel) -> bool:
    """Whether the order's latest change was made by the request being served: a retry,
    with the same Idempotency-Key, of a commit whose answer was lost. Read only when an
    action is refused for the state, so it costs nothing on the normal path."""
    key = idempotency.current_request_key()
    if key is None:
        return False
    try:
        latest = OrderEventModel.get(order.id, int(order.version), consistent_read=True)
    except DoesNotExist:
        return False
    return latest.request_key == key


# --- the use cases -----------------------------------------------------------
def accept_order(caller: Caller, order_id: str, now: datetime) -> dict:
    """The provider takes the order on; deposit steps are released."""
    return present(transition(caller, order_id, life.ACCEPT, now))


def reject_order(caller: Caller, order_id: str, reason: str, now: datetime) -> dict:
    """The provider declines; everything held goes back to the buyer."""
    return present(transition(caller, order_id, life.REJECT, now, data={"reason": reason}))


def approve_order(caller: Caller, order_id: str, now: datetime) -> dict:
    """The buyer accepts the current step; its money goes to the provider."""
    return present(transition(caller, order_id, life.APPROVE, now))


def request_revision(caller: Caller, order_id: str, note: str, now: datetime) -> dict:
    """The buyer sends the delivery back with a note; escrow stays held."""
    return present(transition(caller, order_id, life.REQUEST_REVISION, now,
                              data={"note": note}))


def cancel_order(caller: Caller, order_id: str, now: datetime) -> dict:
    """The buyer cancels: unpaid, or 15 days past due_at (refunding what is held)."""
    return present(transition(caller, order_id, life.CANCEL, now))


def dispute_order(caller: Caller, order_id: str, reason: str, now: datetime) -> dict:
    """Either party freezes the order for an operator; timers stop."""
    return present(transition(caller, order_id, life.DISPUTE, now, params={"reason": reason},
                              data={"reason": reason}))


def resolve_order(caller: Caller, order_id: str, refund: int, release: int, note: str,
                  now: datetime) -> dict:
    """The operator splits what is held between buyer (refund) and provider (release)."""
    return present(transition(caller, order_id, life.RESOLVE, now,
                              params={"refund": refund, "release": release},
                              data={"note": note}))


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


def mark_late_cancel_eligible(order_id: str, now: datetime) -> OrderModel | None:
    """Sweep: 15 days past due_at; the buyer may now cancel (None if not due)."""
    return _system_action(order_id, life.MARK_LATE_CANCEL, now)


# --- after a commit ----------------------------------------------------------
_NOTICES = {
    life.PAY: ("provider", "order_paid", "买家已付款，等待您确认"),
    life.ACCEPT: ("buyer", "accepted", "服务商已接单"),
    life.REJECT: ("buyer", "rejected", "服务商拒绝了订单，款项将原路退回"),
    life.DELIVER: ("buyer", "delivered", "服务商已上传终稿，请验收"),
    life.APPROVE: ("provider", "approved", "买家已验收，款项已结算"),
    life.REQUEST_REVISION: ("provider", "revision_requested", "买家要求修改"),
    life.CANCEL: ("provider", "cancelled", "买家取消了订单"),
    life.DISPUTE: ("other", "disputed", "订单进入纠纷处理"),
    life.RESOLVE: ("both", "resolved", "平台已裁决"),
    life.EXPIRE: ("provider", "cancelled", "订单超时未确认，已失效"),
    life.CLOSE_UNPAID: ("buyer", "cancelled", "订单超时未付款，已关闭"),
}


def _after(order: OrderModel, action: str, change: _Change, now: datetime) -> None:
    notice = _NOTICES.get(action)
    if notice:
        who, kind, text = notice
        if who == "other":
            who = "provider" if change.actor.user_id == order.buyer_id else "buyer"
        targets = {"buyer": [order.buyer_id], "provider": [order.provider_id],
                   "both": [order.buyer_id, order.provider_id]}[who]
        for user in targets:
            _notify(user, kind, order, f"{order.service.title}：{text}", now)
    refunds = [i for i in change.instructions if i.kind == money.REFUND]
    if refunds:
        _notify(order.buyer_id, "refunded", order,
                f"{order.service.title}：已退款 {sum(int(i.amount) for i in refunds)} 分", now)


def _notify(user_id: str, kind: str, order: OrderModel, text: str, now: datetime) -> None:
    if notifications is None:
        return
    try:
        notifications.notify(user_id, kind, order_id=order.id, service_id=order.service_id,
                             text=text, now=now)
    except Exception:  # noqa: BLE001 - a lost notice must never fail the transition
        log.exception("notify %s of %s failed", user_id, kind)
