"""Placing and paying: order a listed service, charge the buyer, confirm the funding."""
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from pynamodb.exceptions import DoesNotExist, TransactWriteError

from chalicelib import clock, ids, observability
from chalicelib.domain import catalog as rules
from chalicelib.domain import choices
from chalicelib.domain import escrow as money
from chalicelib.domain import orders as life
from chalicelib.domain.actors import SYSTEM, Caller
from chalicelib.domain.errors import (Conflict, Forbidden, InvalidRequest, InvalidTransition,
                                      NotFound, ServiceAtCapacity, ServiceNotListed,
                                      ServiceUnavailable, ValidationFailed)
from chalicelib.services import funding, notifications, payments
from chalicelib.services.catalog.reading import menu_of
from chalicelib.services.orders.engine import (ATTEMPTS, facts, load, moved_by_this_request,
                                               new_event, order_deadlines, role_of,
                                               timer_inputs, transition, windows)
from chalicelib.services.orders.reading import present
from chalicelib.storage.base import transaction
from chalicelib.storage.catalog import ServiceModel
from chalicelib.storage.orders import (TIMER_PK, Milestone, OrderModel, ServiceSnapshot,
                                       created_key, status_key, timer_due_key)

log = logging.getLogger("market.orders")


@dataclass(frozen=True)
class Offer:
    """A provider's custom offer (定制报价): the caller is the provider, the order is
    `buyer_id`'s, its amount agreed; `writes(tx, order_id)` adds the inquiry's own write."""
    buyer_id: str
    inquiry_id: str
    amount: int
    writes: Callable | None = None


def place_order(caller: Caller, *, service_id: str, requirement: str, due_at: datetime | None,
                price: int | None, milestones: list[dict] | None, now: datetime,
                request_key: str | None = None, offer: Offer | None = None,
                package: str | None = None, extras: list | None = None,
                answers: dict | None = None) -> dict:
    """Order a listed service: snapshot it, claim a capacity slot, await payment.

    With a `request_key` the order's id is derived from it: a retry whose first commit
    landed finds that order instead of placing a second one. With an `offer` the
    provider places it for the buyer at the offered amount, already agreed. `package`,
    `extras` and `answers` are the buyer's choice from the service's menu (choices)."""
    service = _service_for_order(caller, service_id, offer)
    choice = None if offer else _choice(service, price, package, extras, answers)
    due_at = due_at or (choice.default_due(now) if choice else None)
    if due_at is None:
        raise ValidationFailed("due_at is required without a package",
                               errors=[{"field": "due_at", "problem": "required"}])
    if due_at <= now:
        raise ValidationFailed("due_at must be in the future",
                               errors=[{"field": "due_at", "problem": "must be in the future"}])
    amount = offer.amount if offer else choice.amount
    buyer_id = offer.buyer_id if offer else caller.user_id
    plan = money.plan_milestones(amount, milestones, service.title)
    at = clock.to_key(now)
    order_id = ids.keyed_id("ord", request_key) if request_key else ids.new_id("ord")
    order = OrderModel(
        order_id, buyer_id=buyer_id, provider_id=service.provider_id,
        service_id=service.id,
        service=ServiceSnapshot(title=service.title, category=service.category,
                                pricing=service.pricing, price=int(service.price),
                                headline=(service.summary or "")[:20] or None,
                                logo_key=service.logo_key),
        requirement=requirement, due_at=clock.to_key(due_at), amount=amount, currency="CNY",
        # The list price is the provider's own offer; any other amount awaits its answer.
        price_agreed=bool(offer) or amount == choice.list_amount,
        inquiry_id=offer.inquiry_id if offer else None,
        package=choice.package if choice else None, extras=choice.extras if choice else None,
        answers=choice.answers or None if choice else None,
        status=life.AWAITING_PAYMENT, version=1, milestones=[Milestone(**m) for m in plan],
        current_step=0, revision_count=0, delivery_count=0, created_key=created_key(at, order_id),
        created_at=at, updated_at=at,
        buyer_status=status_key(buyer_id, life.AWAITING_PAYMENT),
        provider_status=status_key(service.provider_id, life.AWAITING_PAYMENT))
    timer = life.next_timer(life.AWAITING_PAYMENT, windows=windows(),
                            **{k: v for k, v in timer_inputs(order).items() if k != "status"})
    order.timer_pk, order.timer_due = TIMER_PK, timer_due_key(clock.to_key(timer.at), order.id)
    event = new_event(order.id, 1, "placed", None, life.AWAITING_PAYMENT, caller, at,
                      {"amount": amount, "service_id": service.id}, request_key)
    agreed = "" if order.price_agreed else "（买家出价，待您确认或改价）"
    notice = notifications.notification_put(
        order.provider_id, "order_placed", order_id=order.id, service_id=service.id, now=now,
        text=f"新订单：{service.title}，金额 {money.yuan(amount)}{agreed}")
    if offer:  # the buyer learns of the offer instead: the provider made it
        notice = notifications.notification_put(
            buyer_id, "offer_made", order_id=order.id, service_id=service.id, now=now,
            text=f"定制报价：{service.title}，金额 {money.yuan(amount)}，待您付款")
    for _ in range(ATTEMPTS):
        tx = transaction()
        try:
            with tx:
                tx.save("order", order, condition=OrderModel.id.does_not_exist())
                tx.save("event", event)
                notifications.write_in(tx, [notice])  # the provider learns of it, with it
                if offer and offer.writes:
                    offer.writes(tx, order.id)
                # The slot is claimed in the same write as the order, so capacity can never
                # be overshot by buyers ordering at the same instant.
                tx.update("service", ServiceModel(service.id),
                          actions=[ServiceModel.open_orders.add(1)],
                          condition=(ServiceModel.status == rules.LISTED) & (
                              ServiceModel.capacity.does_not_exist()
                              | (ServiceModel.open_orders < ServiceModel.capacity)))
            break
        except TransactWriteError as error:
            refusal = tx.refusal(error)
            if refusal.failed("order"):
                # This key's order exists: the first try committed and lost its answer.
                existing = load(order_id)
                if (existing.provider_id if offer else existing.buyer_id) != caller.user_id:
                    raise Conflict()
                return present(existing, caller)
            if refusal.failed("service"):
                fresh = ServiceModel.get(service.id, consistent_read=True)
                if fresh.status != rules.LISTED:
                    raise ServiceNotListed()
                raise ServiceAtCapacity(capacity=int(fresh.capacity or 0))
            if not refusal.conflict:
                raise
    else:
        raise Conflict()
    observability.order_transition("place", None, life.AWAITING_PAYMENT, order.id)
    return present(order, caller)


def _service_for_order(caller: Caller, service_id: str, offer: Offer | None) -> ServiceModel:
    if not isinstance(service_id, str) or not 1 <= len(service_id) <= 128:
        raise NotFound("no such service")
    try:
        service = ServiceModel.get(service_id, consistent_read=True)
    except DoesNotExist:
        raise NotFound("no such service")
    if offer is not None and service.provider_id != caller.user_id:
        raise Forbidden("only the service's provider makes an offer on it")
    if offer is None and service.provider_id == caller.user_id:
        raise Forbidden("you cannot order your own service")
    if service.status == rules.DRAFT:
        raise NotFound("no such service")  # a draft was never public
    if service.status != rules.LISTED:
        raise ServiceNotListed()
    if service.capacity is not None and int(service.open_orders or 0) >= int(service.capacity):
        raise ServiceAtCapacity(capacity=int(service.capacity))
    return service


def _choice(service: ServiceModel, price: int | None, package: str | None,
            extras: list | None, answers: dict | None) -> choices.Choice:
    menu = menu_of(service)
    return choices.choose(packages=menu["packages"], extras=menu["extras"],
                          questions=menu["questions"], pricing=service.pricing,
                          list_price=int(service.price), package=package,
                          extra_names=extras or [], answers=answers or {}, price=price)


def pay_order(caller: Caller, order_id: str, now: datetime, *, channel: str = "page",
              request_key: str | None = None) -> dict:
    """Start the buyer's payment at the gateway; the answer's `payment` says whether it
    succeeded (escrow is funded now) or is pending (the buyer pays at `redirect_url`;
    the gateway's confirmation funds escrow later, through confirm_funding)."""
    order = load(order_id)
    try:
        life.decide(order.status, life.PAY, role_of(caller, order), facts(order, now))
    except InvalidTransition:
        if moved_by_this_request(order, request_key):  # only a gateway that succeeded at once moves it
            return {**present(order, caller), "payment": {"status": payments.SUCCEEDED}}
        raise
    # One payment per order, whatever the client retries: the gateway's trade is the order's.
    try:
        result = funding.start_payment(order, now, channel=channel,
                                       expires_at=order_deadlines(order).get("pay_by"))
    except payments.GatewayError:
        log.warning("order %s: the gateway did not start the payment", order.id, exc_info=True)
        raise ServiceUnavailable("the payment gateway is not answering; retry in a moment")
    if result.status != payments.SUCCEEDED:
        return {**present(order, caller), "payment": funding.present_payment(result)}
    funded = confirm_funding(order.id, result.ref, int(order.amount), now, actor=caller,
                             request_key=request_key, read=order)
    funding.mark_paid(order.id, payments.TradeStatus(order.id, payments.SUCCEEDED, ref=result.ref,
                                                     amount=int(order.amount)), now)
    return {**present(funded, caller), "payment": funding.present_payment(result)}


def confirm_funding(order_id: str, payment_ref: str, amount: int, now: datetime, *,
                    actor: Caller | None = None, request_key: str | None = None,
                    read: OrderModel | None = None) -> OrderModel:
    """The gateway confirmed `amount`: fund escrow (idempotent; the webhook entry point).
    `read`: the order as the caller has just read it, if it has."""
    order = read or load(order_id)
    if order.payment_ref == payment_ref and order.status != life.AWAITING_PAYMENT:
        return order  # already confirmed: a redelivered notification changes nothing
    if amount != int(order.amount):
        # The price changed while the payment was on its way: the money goes back, and
        # the buyer pays again at the new amount.
        payments.gateway().refund(payment_ref, amount, f"{order_id}:void:{payment_ref}")
        raise InvalidRequest("the confirmed amount differs from the order's",
                             amount=amount, expected=int(order.amount))
    try:
        return transition(actor or SYSTEM, order_id, life.PAY, now,
                          params={"payment_ref": payment_ref, "amount": amount},
                          request_key=request_key, read=order)
    except InvalidTransition:
        fresh = load(order_id)
        if fresh.payment_ref == payment_ref:
            return fresh
        # The money arrived for an order that closed meanwhile: send it straight back.
        funding.void_late_payment(order_id, payments.TradeStatus(
            order_id, payments.SUCCEEDED, ref=payment_ref, amount=amount), now)
        raise
