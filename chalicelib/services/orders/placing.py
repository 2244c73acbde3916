"""Placing and paying: order a listed service, charge the buyer, confirm the funding."""
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from pynamodb.exceptions import DoesNotExist, TransactWriteError

from chalicelib import clock, ids, observability, settings
from chalicelib.domain import catalog as catalog_rules
from chalicelib.domain import choices
from chalicelib.domain import escrow as money
from chalicelib.domain import orders as life
from chalicelib.domain.actors import SYSTEM, Caller
from chalicelib.domain.errors import (Conflict, Forbidden, InvalidTransition, NotFound,
                                      PlanChanged, ServiceAtCapacity, ServiceNotListed,
                                      ServiceUnavailable, TooManyUnpaidOrders,
                                      ValidationFailed)
from chalicelib.services import analytics, answer_files
from chalicelib import payments
from chalicelib.payments import records, settling
from chalicelib.services import notifications
from chalicelib.services.catalog.reading import menu_of
from chalicelib.services.optimistic import ATTEMPTS
from chalicelib.services.orders.engine import (facts, load, moved_by_this_request, new_event,
                                               order_deadlines, role_of, timer_inputs,
                                               transition, windows)
from chalicelib.services.orders import returned_payments
from chalicelib.services.orders.reading import present
from chalicelib.services.orders.state import plan_version as current_plan
from chalicelib.storage.base import transaction
from chalicelib.storage import status_shards
from chalicelib.storage.catalog import ServiceModel, UserModel
from chalicelib.storage.orders import (Milestone, OrderModel, ServiceSnapshot, created_key,
                                       status_key, timer_due_key, timer_partition)

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
    """Order a listed service: snapshot it, count it among the buyer's unpaid orders,
    await payment (the capacity slot is taken when the payment starts).

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
    plan = money.plan_milestones(amount, milestones, service.title,
                                 deposit_max_bps=settings.get().deposit_max_bps)
    at = clock.to_key(now)
    order_id = ids.keyed_id("ord", request_key) if request_key else ids.new_id("ord")
    # The form's file answers: the buyer's own completed uploads, claimed with the order.
    file_writes = answer_files.claim(buyer_id, menu_of(service)["questions"], choice.answers,
                                     order_id, at) if choice and choice.answers else []
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
        # Unpaid, it takes no capacity slot (its payment will). It counts among the
        # buyer's unpaid orders, unless it is a provider's offer: that counts only once
        # the buyer starts paying it, so no provider can fill a buyer's unpaid quota.
        holds_slot=False, unpaid_counted=not offer,
        status=life.AWAITING_PAYMENT, status_shard=status_shards.status_key(life.AWAITING_PAYMENT, order_id),
        version=1, plan_version=1,
        milestones=[Milestone(**m) for m in plan],
        current_step=0, revision_count=0, delivery_count=0, created_key=created_key(at, order_id),
        created_at=at, updated_at=at,
        buyer_status=status_key(buyer_id, life.AWAITING_PAYMENT),
        provider_status=status_key(service.provider_id, life.AWAITING_PAYMENT))
    timer = life.next_timer(life.AWAITING_PAYMENT, windows=windows(),
                            **{k: v for k, v in timer_inputs(order).items() if k != "status"})
    order.timer_pk = timer_partition(order.id)
    order.timer_due = timer_due_key(clock.to_key(timer.at), order.id)
    event = new_event(order.id, 1, "placed", None, life.AWAITING_PAYMENT, caller, at,
                      {"amount": amount, "service_id": service.id}, request_key)
    agreed = "" if order.price_agreed else "（买家出价，待您确认或改价）"
    notice = notifications.notification_put(
        order.provider_id, "order_placed", order_id=order.id, service_id=service.id, now=now,
        text=f"新订单：{service.title}，金额 {money.yuan(amount)}，{money.describe_plan(plan)}"
             f"{agreed}")
    if offer:  # the buyer learns of the offer instead: the provider made it
        notice = notifications.notification_put(
            buyer_id, "offer_made", order_id=order.id, service_id=service.id, now=now,
            text=f"定制报价：{service.title}，金额 {money.yuan(amount)}，"
                 f"{money.describe_plan(plan)}，待您付款")
    max_unpaid = settings.get().max_unpaid_orders
    for _ in range(ATTEMPTS):
        tx = transaction()
        try:
            with tx:
                tx.save("order", order, condition=OrderModel.id.does_not_exist())
                tx.save("event", event)
                analytics.order_placed(tx, order, now)  # its day's counters, with it
                notifications.write_in(tx, [notice])  # the provider learns of it, with it
                if offer and offer.writes:
                    offer.writes(tx, order.id)
                for claim_file in file_writes:
                    claim_file(tx)
                # Capacity counts money, not intentions: the slot is claimed when the
                # payment starts (payments.records.start_payment). Placing only needs
                # the listing.
                tx.condition_check("service", ServiceModel, service.id,
                                   condition=ServiceModel.status == catalog_rules.LISTED)
                if order.unpaid_counted:
                    # At most MAX_UNPAID_ORDERS unpaid orders per buyer, counted in the
                    # same write as the order, so buyers placing at once cannot pass it.
                    tx.update("buyer", UserModel(buyer_id),
                              actions=[UserModel.unpaid_orders.add(1)],
                              condition=UserModel.unpaid_orders.does_not_exist()
                              | (UserModel.unpaid_orders < max_unpaid))
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
                raise ServiceNotListed()
            if refusal.failed("answer_file"):
                raise ValidationFailed("an answer's file was used by another order meanwhile",
                                       errors=[{"field": "answers", "problem": "already used"}])
            if refusal.failed("buyer"):
                raise TooManyUnpaidOrders(max_unpaid_orders=max_unpaid)
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
    if service.status == catalog_rules.DRAFT:
        raise NotFound("no such service")  # a draft was never public
    if service.status != catalog_rules.LISTED:
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
              request_key: str | None = None, plan_version: int | None = None) -> dict:
    """Start the buyer's payment at the gateway; the answer's `payment` says whether it
    succeeded (escrow is funded now) or is pending (the buyer pays at `redirect_url`;
    the gateway's confirmation funds escrow later, through confirm_funding).
    `plan_version`, when the buyer names it, must still be the order's."""
    order = load(order_id)
    try:
        life.decide(order.status, life.PAY, role_of(caller, order), facts(order, now))
    except InvalidTransition:
        if moved_by_this_request(order, request_key):  # only a gateway that succeeded at once moves it
            return {**present(order, caller), "payment": {"status": payments.SUCCEEDED}}
        raise
    if plan_version is not None and plan_version != current_plan(order):
        raise PlanChanged(plan_version=current_plan(order))
    # One payment at a time, whatever the client retries: while it is open, the buyer
    # is sent to the same trade.
    try:
        result = records.start_payment(order, now, channel=channel,
                                       expires_at=order_deadlines(order).get("pay_by"))
    except payments.GatewayError:
        log.warning("order %s: the gateway did not start the payment", order.id, exc_info=True)
        raise ServiceUnavailable("the payment gateway is not answering; retry in a moment")
    except Conflict:
        # The order moved while the payment was being opened (a cancel, the sweep, a new
        # price): decided again on what it is now, so a move that no longer holds is
        # answered with its named refusal rather than "retry".
        fresh = load(order_id)
        life.decide(fresh.status, life.PAY, role_of(caller, fresh), facts(fresh, now))
        raise
    if result.status != payments.SUCCEEDED:
        return {**present(order, caller), "payment": records.present_payment(result)}
    # Paid at once: settled by the one path every statement of the gateway takes.
    pid = order.pending_payment
    settling.settle(payments.TradeStatus(pid, payments.SUCCEEDED, ref=result.ref,
                                         amount=int(order.amount)), now,
                    actor=caller, request_key=request_key)
    return {**present(load(order.id), caller), "payment": records.present_payment(result)}


def settle_order_payment(payment, trade: payments.TradeStatus, now: datetime, *,
                         actor: Caller | None = None, request_key: str | None = None) -> str:
    """A succeeded statement of an order's payment (payments.settling): fund the order's
    escrow through its PAY move, exactly once; what settling reports."""
    order = load(payment.order_id)
    # What we asked the gateway for: an amount the gateway states otherwise is for a
    # person to look at. (One that is no longer the order's amount because the plan
    # changed is a superseded payment: confirm_funding refunds it.)
    asked = int(payment.amount) if payment.amount is not None else int(order.amount)
    if trade.amount != asked:
        records.record_problem(payment.id, "amount_mismatch", {
            "gateway_ref": trade.ref, "gateway_amount": trade.amount,
            "order_amount": asked, "gateway_status": trade.raw_status},
            now, order_id=order.id)
        return settling.MISMATCH
    try:
        funded = confirm_funding(
            order.id, trade.ref, trade.amount, now, actor=actor, request_key=request_key,
            read=order, payment_id=payment.id,
            plan_version=int(payment.plan_version) if payment.plan_version is not None else None)
    except InvalidTransition:
        if actor is not None:
            raise  # the paying request is answered the refusal (the money went back)
        return settling.VOIDED  # the order closed meanwhile: confirm_funding sent it back
    if funded.status in life.CLOSED:
        return settling.ALREADY  # voided by a concurrent statement of the same payment
    records.mark_paid(payment.id, trade, now)
    observability.metric("PaymentsSettled", dimensions={"Gateway": payment.gateway})
    observability.money_moved(life.FUND, trade.amount)
    return settling.FUNDED


def confirm_funding(order_id: str, payment_ref: str, amount: int, now: datetime, *,
                    actor: Caller | None = None, request_key: str | None = None,
                    read: OrderModel | None = None, payment_id: str | None = None,
                    plan_version: int | None = None) -> OrderModel:
    """The gateway confirmed `amount` for payment `payment_id` (the order's first, by
    default), started for `plan_version`: fund escrow (idempotent; the webhook entry
    point). A payment that is no longer the order's (the plan or amount changed, a newer
    payment opened) funds nothing and is refunded, as is one for an order that closed.
    `read`: the order as the caller has just read it, if it has."""
    order = read or load(order_id)
    pid = payment_id or order_id
    if order.payment_ref == payment_ref and order.status != life.AWAITING_PAYMENT:
        return order  # already confirmed: a redelivered notification changes nothing

    def still_current(fresh: OrderModel, _role) -> dict:
        # Decided on every attempt's read; the commit is conditional on the same facts
        # (engine `_fund`), so a change landing in between refuses it.
        if not _pays_current_plan(fresh, pid, amount, plan_version):
            raise PlanChanged(plan_version=current_plan(fresh))
        return {}

    try:
        return transition(actor or SYSTEM, order_id, life.PAY, now,
                          params={"payment_ref": payment_ref, "amount": amount,
                                  "payment_id": pid, "plan_version": plan_version},
                          request_key=request_key, read=order, prepare=still_current)
    except InvalidTransition:
        fresh = load(order_id)
        if fresh.payment_ref == payment_ref:
            return fresh
        trade = payments.TradeStatus(pid, payments.SUCCEEDED, ref=payment_ref, amount=amount)
        if fresh.status == life.AWAITING_PAYMENT:
            # Paid for a plan that is no longer the order's: the money goes back, and the
            # buyer pays the plan they now see.
            returned_payments.void_superseded_payment(order_id, pid, trade, now)
            raise PlanChanged(plan_version=current_plan(fresh))
        # The money arrived for an order that closed meanwhile: send it straight back.
        returned_payments.void_late_payment(order_id, trade, now, payment_id=pid)
        raise


def _pays_current_plan(order: OrderModel, pid: str, amount: int,
                       version: int | None) -> bool:
    """Whether payment `pid` of `amount`, started for plan `version`, is what the order
    awaits: its amount, its plan, and its open payment (or, on orders from before
    payments were numbered, its only one)."""
    if order.status != life.AWAITING_PAYMENT:
        return True  # the table refuses it (and closed orders refund it)
    open_one = order.pending_payment == pid or (
        order.pending_payment is None and order.payment_seq is None)
    return (amount == int(order.amount) and open_one
            and (version is None or int(version) == current_plan(order)))


# An order's payments are this module's to settle.
settling.register(settling.ORDER, settle_order_payment)
