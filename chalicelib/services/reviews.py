"""Reviews and credit: a party reviews the other side of a completed order, once.

One TransactWrite does it all, so credit can never move twice or without its review:
put the review (the key order_id + author_role exists once), flag the order
(conditioned on `completed`, the window and the flag), and ADD to the reviewed party's
counters (and, for a buyer's review, to the service's rating).
"""
import logging
from datetime import datetime, timedelta

from pynamodb.exceptions import DoesNotExist, TransactWriteError

from chalicelib import clock
from chalicelib import settings as settings_module
from chalicelib.domain import reviews as rules
from chalicelib.domain.errors import Conflict, NotFound, ReviewNotAllowed
from chalicelib.services import notifications, orders
from chalicelib.storage.base import transaction
from chalicelib.storage.catalog import ProviderModel, ServiceModel, UserModel
from chalicelib.storage.orders import OrderModel
from chalicelib.storage.reviews import ReviewModel

log = logging.getLogger("market.reviews")

MAX_ATTEMPTS = 4
RATING_LABELS = {"good": "好评", "neutral": "中评", "bad": "差评"}
ROLE_LABELS = {rules.BUYER: "买家", rules.PROVIDER: "服务商"}


def submit_review(caller, order_id: str, *, rating: str, comment: str, now: datetime) -> dict:
    """The caller (buyer or provider) reviews the other side of a completed order."""
    order = orders.load(order_id)
    role = rules.role_for_review(caller.user_id, caller.is_operator, order.buyer_id,
                                 order.provider_id)
    window = settings_module.get().review_window_seconds
    _check(order, role, now, window)
    review = ReviewModel(
        order.id, role, author_id=caller.user_id,
        subject_id=order.provider_id if role == rules.BUYER else order.buyer_id,
        service_id=order.service_id, rating=rating, comment=comment or "",
        created_at=clock.to_key(now))
    with_service = role == rules.BUYER
    for _ in range(MAX_ATTEMPTS):
        tx = transaction()
        try:
            _commit(tx, review, order, now, window, with_service)
            break
        except TransactWriteError as error:
            refusal = tx.refusal(error)
            if refusal.failed("review"):
                raise ReviewNotAllowed("this side has already reviewed the order",
                                       reason="already_reviewed")
            if refusal.failed("order"):
                # The order moved under us (or the window closed at this instant): the
                # fresh order says which refusal applies.
                _check(orders.load(order_id), role, now, window)
                raise Conflict()
            if refusal.failed("party"):
                log.error("order %s: reviewed provider %s is missing", order.id,
                          review.subject_id)
                raise ReviewNotAllowed("the reviewed party no longer exists",
                                       reason="subject_missing")
            if refusal.failed("service"):
                # The service was deleted after the order completed: the provider's
                # credit still moves; there is no rating left to update.
                with_service = False
                continue
            # Most often the other side reviewed at the same instant: read again so this
            # commit sees its flag (and can close the review-window timer).
            order = orders.load(order_id)
            _check(order, role, now, window)
    else:
        raise Conflict()
    _after_commit(review, order, now)
    return present(review)


def list_order_reviews(caller, order_id: str) -> list[dict]:
    """Both reviews of an order, for its buyer, its provider and operators."""
    order = orders.load(order_id)
    orders.role_of(caller, order)
    return [present(r) for r in ReviewModel.query(order.id, consistent_read=True)]


def user_profile(user_id: str) -> dict:
    """A user's public credit as a buyer: zeros for one never reviewed."""
    if not 1 <= len(user_id) <= 128 or "#" in user_id:
        raise NotFound("no such user")
    try:
        user = UserModel.get(user_id)
    except DoesNotExist:
        user = UserModel(user_id)
    return {
        "id": user_id,
        "credit": int(user.credit or 0),
        "ratings": {"good": int(user.ratings_good or 0),
                    "neutral": int(user.ratings_neutral or 0),
                    "bad": int(user.ratings_bad or 0)},
    }


def present(review: ReviewModel) -> dict:
    return {
        "order_id": review.order_id,
        "author_role": review.author_role,
        "author_id": review.author_id,
        "subject_id": review.subject_id,
        "rating": review.rating,
        "comment": review.comment or "",
        "created_at": clock.key_to_iso(review.created_at),
    }


def _check(order: OrderModel, role: str, now: datetime, window: int) -> None:
    rules.check_review_allowed(
        status=order.status,
        completed_at=clock.from_key(order.completed_at) if order.completed_at else None,
        already_reviewed=bool(getattr(order, f"reviewed_by_{role}", False)),
        now=now, window_seconds=window)


def _commit(tx, review: ReviewModel, order: OrderModel, now: datetime, window: int,
            with_service: bool) -> None:
    role = review.author_role
    flag = getattr(OrderModel, f"reviewed_by_{role}")
    order_actions = [flag.set(True)]
    other = rules.REVIEWED_ROLE[role]
    if getattr(order, f"reviewed_by_{other}", False):
        # Both sides have spoken: the review-window timer has nothing left to close, so
        # the order leaves the due_timers index. Flags never go back to false, so a
        # stale read can only keep the timer (the sweep then drops it), never lose one.
        order_actions += orders.timer_actions(order.id, orders.timer_inputs(
            order, **{f"reviewed_by_{role}": True}))
    change = rules.credit_change(review.rating)
    counter = f"ratings_{review.rating}"
    with tx:
        # attribute_not_exists on the review key is what makes "once per side" hold
        # under concurrency; the order flag mirrors it for readers of the order.
        tx.save("review", review, condition=ReviewModel.order_id.does_not_exist())
        # The order must still be completed, unreviewed by this side, and completed
        # recently enough: the window is re-checked by DynamoDB at commit time
        # (clock keys sort as strings), not only by the read above.
        earliest = clock.to_key(now - timedelta(seconds=window))
        tx.update("order", OrderModel(review.order_id), actions=order_actions,
                  condition=(OrderModel.status == rules.REVIEWABLE_STATUS)
                  & (OrderModel.completed_at >= earliest)
                  & (flag.does_not_exist() | (flag == False)))  # noqa: E712 - a DynamoDB condition, not a Python test
        if role == rules.BUYER:
            # version moves too, so a catalog write that read the profile before this
            # review fails its version condition instead of saving stale counters.
            tx.update("party", ProviderModel(review.subject_id),
                      actions=[ProviderModel.credit.add(change["credit"]),
                               getattr(ProviderModel, counter).add(1),
                               ProviderModel.version.add(1)],
                      condition=ProviderModel.user_id.exists())
        else:
            # ADD creates the buyer's item the first time anybody reviews them.
            tx.update("party", UserModel(review.subject_id),
                      actions=[UserModel.credit.add(change["credit"]),
                               getattr(UserModel, counter).add(1)])
        if with_service:
            tx.update("service", ServiceModel(review.service_id),
                      actions=[ServiceModel.rating_sum.add(change["credit"]),
                               ServiceModel.rating_count.add(1),
                               getattr(ServiceModel, counter).add(1),
                               ServiceModel.version.add(1)],
                      condition=ServiceModel.id.exists())


def _after_commit(review: ReviewModel, order: OrderModel, now: datetime) -> None:
    if review.author_role == rules.BUYER:
        _refresh_market(review.service_id)
    title = _order_title(order)
    notifications.notify(
        review.subject_id, "reviewed", order_id=order.id, service_id=order.service_id,
        text=f"{ROLE_LABELS[review.author_role]}对订单「{title}」给出了"
             f"{RATING_LABELS[review.rating]}",
        now=now)


def _refresh_market(service_id: str) -> None:
    # The market's search entries carry the rating; refreshing them is best-effort
    # because the review is already committed and the entries are a derived view.
    from chalicelib.services import market  # looked up per call: tests swap the module

    try:
        market.refresh_market_entries(service_id)
    except Exception:
        log.exception("could not refresh market entries of %s", service_id)


def _order_title(order: OrderModel) -> str:
    snapshot = getattr(order, "service", None)
    return getattr(snapshot, "title", None) or order.id

