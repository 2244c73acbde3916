"""Placing and paying: order a listed service, charge the buyer, confirm the funding."""
from datetime import datetime

from pynamodb.exceptions import DoesNotExist, TransactWriteError

from chalicelib import clock, ids, observability
from chalicelib.domain import escrow as money
from chalicelib.domain import orders as life
from chalicelib.domain.actors import SYSTEM, Caller
from chalicelib.domain.errors import (Conflict, Forbidden, InvalidRequest, InvalidTransition,
                                      NotFound, ServiceAtCapacity, ServiceNotListed,
                                      ValidationFailed)
from chalicelib.services import idempotency, payments
from chalicelib.services.orders.engine import (ATTEMPTS, facts, load, moved_by_this_request,
                                               new_event, notify, role_of, timer_inputs,
                                               transition, windows)
from chalicelib.services.orders.reading import present
from chalicelib.storage.base import cancellation_codes, transact_write
from chalicelib.storage.catalog import ServiceModel
from chalicelib.storage.orders import TIMER_PK, Milestone, OrderModel, ServiceSnapshot


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
    event = new_event(order.id, 1, "placed", None, life.AWAITING_PAYMENT, caller, at,
                   {"amount": amount, "service_id": service.id})
    for attempt in range(ATTEMPTS):
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
    notify(order.provider_id, "order_placed", order, f"新订单：{service.title}", now)
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


def pay_order(caller: Caller, order_id: str, now: datetime) -> dict:
    """Charge the buyer through the gateway; with a synchronous gateway, fund escrow now."""
    order = load(order_id)
    try:
        life.decide(order.status, life.PAY, role_of(caller, order), facts(order, now))
    except InvalidTransition:
        if moved_by_this_request(order):
            return present(order)
        raise
    # One charge per order, whatever the client retries: the key is the order's.
    result = payments.gateway().charge(order.id, int(order.amount), f"{order.id}:charge")
    if result.status != "succeeded":
        return present(order)  # the gateway's webhook calls confirm_funding later
    return present(confirm_funding(order.id, result.ref, int(order.amount), now, actor=caller))


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
        payments.gateway().refund(payment_ref, amount, f"{order_id}:void:{payment_ref}")
        raise
