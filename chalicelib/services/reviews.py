"""Reviews and credit: a party reviews the other side of a completed order, once; the
reviews stay sealed from the other side until both reviewed or the window closed; the
provider answers the buyer's review once.

One TransactWrite does it all, so credit can never move twice or without its review:
put the review (the key order_id + author_role exists once), flag the order
(conditioned on `completed`, the window, this side's flag unset and the other side's
flag as read), and ADD to the reviewed party's counters (and, for a buyer's review, to
the service's rating). The write that makes the buyer's review readable — the second
review, or the sweep closing the window — also gives it the keys of the public lists.
"""
import logging
from datetime import datetime, timedelta

from pynamodb.exceptions import DoesNotExist, TransactWriteError

from chalicelib import clock, settings as settings_module
from chalicelib.domain import credit
from chalicelib.domain import orders as life
from chalicelib.domain import reviews as review_rules
from chalicelib.domain.errors import Conflict, NotFound, ReviewNotAllowed
from chalicelib.domain.providers import PUBLIC_STATUSES
from chalicelib.services import analytics, notifications, orders
from chalicelib.services.catalog.reading import load_service
from chalicelib.storage.base import transaction
from chalicelib.storage.catalog import ProviderModel, ServiceModel, UserModel, get_provider
from chalicelib.storage.orders import OrderModel
from chalicelib.storage.reviews import ReviewModel, Reply, cap_key

log = logging.getLogger("market.reviews")

MAX_ATTEMPTS = 4
ROLE_LABELS = {review_rules.BUYER: "买家", review_rules.PROVIDER: "服务商"}


def submit_review(caller, order_id: str, *, rating: str, comment: str, now: datetime) -> dict:
    """The caller (buyer or provider) reviews the other side of a completed order."""
    order = orders.load(order_id)
    role = review_rules.role_for_review(caller.user_id, caller.is_operator, order.buyer_id,
                                 order.provider_id)
    window = settings_module.get().review_window_seconds
    _check(order, role, now, window)
    review = ReviewModel(
        order.id, role, author_id=caller.user_id,
        subject_id=order.provider_id if role == review_rules.BUYER else order.buyer_id,
        service_id=order.service_id, rating=rating, comment=comment or "",
        created_at=clock.to_key(now), counted=True)
    with_service = role == review_rules.BUYER
    for _ in range(MAX_ATTEMPTS + 1):
        tx = transaction()
        try:
            _commit(tx, review, order, now, window, with_service)
            break
        except TransactWriteError as error:
            refusal = tx.refusal(error)
            if refusal.failed("cap"):
                # This month's cap for the pair is used up (maybe by a review that
                # committed a moment ago): the review stands but moves no credit.
                review.counted = False
                continue
            if refusal.failed("review"):
                raise ReviewNotAllowed("this side has already reviewed the order",
                                       reason="already_reviewed")
            if refusal.failed("order"):
                # The order moved under us: the window closed at this instant (the fresh
                # order says which refusal applies), or the other side reviewed since we
                # read it, and this commit must publish the buyer's review.
                order = orders.load(order_id)
                _check(order, role, now, window)
                continue
            if refusal.failed("party"):
                log.error("order %s: reviewed provider %s is missing", order.id,
                          review.subject_id)
                raise ReviewNotAllowed("the reviewed party no longer exists",
                                       reason="subject_missing")
            if with_service and refusal.failed("service"):
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
    # The service's new rating reaches its market cards from the services' stream.
    return present(review)


def list_order_reviews(caller, order_id: str, now: datetime) -> list[dict]:
    """The reviews of an order the caller may read: operators both; a party its own, and
    the other side's once both reviewed or the window closed."""
    order = orders.load(order_id)
    role = orders.role_of(caller, order)
    readable = other_side_readable(order, now)
    return [present(r, reveal=role == life.OPERATOR)
            for r in ReviewModel.query(order.id, consistent_read=True)
            if review_rules.readable_by(role, r.author_role, readable)]


def close_review_window(order: OrderModel) -> bool:
    """Sweep: the window closed. The order leaves the timer index and the buyer's review,
    if there is one, becomes public; False if the order changed since it was read."""
    reviewed = bool(order.reviewed_by_buyer)
    publish = reviewed
    for _ in range(2):
        tx = transaction()
        try:
            with tx:
                # The buyer's flag as read: a review committed at the window's last
                # instant makes this fail, and the next sweep publishes it.
                tx.update("order", OrderModel(order.id),
                          actions=[OrderModel.timer_pk.remove(), OrderModel.timer_due.remove()],
                          condition=(OrderModel.status == life.COMPLETED)
                          & (OrderModel.completed_at == order.completed_at)
                          & OrderModel.timer_pk.exists()
                          & _flag_is(OrderModel.reviewed_by_buyer, reviewed))
                if publish:
                    tx.update("review", ReviewModel(order.id, review_rules.BUYER),
                              actions=_publish(order), condition=ReviewModel.order_id.exists())
            return True
        except TransactWriteError as error:
            refusal = tx.refusal(error)
            if refusal.failed("order"):
                return False
            if not refusal.failed("review"):
                raise
            log.error("order %s: flagged as reviewed by the buyer but no review", order.id)
            publish = False
    return False


def list_service_reviews(caller, service_id: str, *, limit: int, start_key):
    """Readable buyer reviews of a service the caller may see, newest first."""
    service = load_service(caller, service_id)
    return _public_page(ReviewModel.by_public_service, service.id, limit, start_key)


def list_provider_reviews(provider_id: str, *, limit: int, start_key):
    """Readable buyer reviews of a provider with a public profile, newest first."""
    profile = get_provider(provider_id) if 1 <= len(provider_id) <= 128 else None
    if profile is None or profile.status not in PUBLIC_STATUSES:
        raise NotFound("no such provider")
    return _public_page(ReviewModel.by_public_provider, provider_id, limit, start_key)


def _public_page(index, key: str, limit: int, start_key):
    # Sparse indexes: only readable buyer reviews carry their keys, so a page reads
    # exactly what it shows.
    result = index.query(key, scan_index_forward=False, limit=limit,
                         last_evaluated_key=start_key)
    return [present_public(r) for r in result], result.last_evaluated_key


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
        "credit_level": credit.credit_level(int(user.credit or 0)),
        "ratings": {"good": int(user.ratings_good or 0),
                    "neutral": int(user.ratings_neutral or 0),
                    "bad": int(user.ratings_bad or 0)},
    }


def present(review: ReviewModel, *, reveal: bool = True) -> dict:
    """A review as the order's parties (and operators) read it; a hidden review's text
    only to operators (`reveal`)."""
    shown = reveal or not review.hidden
    return {
        "order_id": review.order_id,
        "author_role": review.author_role,
        "author_id": review.author_id,
        "subject_id": review.subject_id,
        "rating": review.rating,
        "comment": (review.comment or "") if shown else "",
        "created_at": clock.key_to_iso(review.created_at),
        "reply": _present_answer(review.reply) if shown else None,
        "follow_up": _present_answer(review.follow_up) if shown else None,
        "counted": review.counted is not False,
        "hidden": bool(review.hidden),
        "hidden_reason": review.hidden_reason if reveal else None,
    }


def present_public(review: ReviewModel) -> dict:
    """A buyer's review as the market shows it: no order, no names; a hidden one without
    its text."""
    hidden = bool(review.hidden)
    return {"rating": review.rating, "comment": "" if hidden else review.comment or "",
            "at": clock.key_to_iso(review.created_at),
            "reply": None if hidden else _present_answer(review.reply),
            "follow_up": None if hidden else _present_answer(review.follow_up),
            "counted": review.counted is not False, "hidden": hidden,
            "service_id": review.service_id}


def _present_answer(answer: Reply | None) -> dict | None:
    if answer is None:
        return None
    return {"body": answer.body, "at": clock.key_to_iso(answer.at)}


def get_review(order_id: str, author_role: str) -> ReviewModel | None:
    try:
        return ReviewModel.get(order_id, author_role, consistent_read=True)
    except DoesNotExist:
        return None


def other_side_readable(order: OrderModel, now: datetime) -> bool:
    return review_rules.other_side_readable(
        reviewed_by_buyer=bool(order.reviewed_by_buyer),
        reviewed_by_provider=bool(order.reviewed_by_provider),
        completed_at=clock.from_key(order.completed_at) if order.completed_at else None,
        now=now, window_seconds=settings_module.get().review_window_seconds)


def _publish(order: OrderModel) -> list:
    """The actions that put the buyer's review into the service's and provider's lists."""
    return [ReviewModel.public_service_id.set(order.service_id),
            ReviewModel.public_provider_id.set(order.provider_id)]


def _flag_is(flag, value: bool):
    return (flag == True) if value else (flag.does_not_exist() | (flag == False))  # noqa: E712


def _check(order: OrderModel, role: str, now: datetime, window: int) -> None:
    review_rules.check_review_allowed(
        status=order.status,
        completed_at=clock.from_key(order.completed_at) if order.completed_at else None,
        already_reviewed=bool(getattr(order, f"reviewed_by_{role}", False)),
        now=now, window_seconds=window)


def _commit(tx, review: ReviewModel, order: OrderModel, now: datetime, window: int,
            with_service: bool) -> None:
    role = review.author_role
    flag = getattr(OrderModel, f"reviewed_by_{role}")
    order_actions = [flag.set(True)]
    other = review_rules.REVIEWED_ROLE[role]
    other_flag = getattr(OrderModel, f"reviewed_by_{other}")
    second = bool(getattr(order, f"reviewed_by_{other}", False))
    if second:
        # Both sides have spoken: the review-window timer has nothing left to close, so
        # the order leaves the due_timers index.
        order_actions += orders.timer_actions(order.id, orders.timer_inputs(
            order, **{f"reviewed_by_{role}": True}))
    # The second review unseals both: a buyer's review written second is public at once;
    # a provider's review written second publishes the buyer's.
    publishing = second and role == review_rules.PROVIDER
    if role == review_rules.BUYER:
        review.public_service_id = order.service_id if second else None
        review.public_provider_id = order.provider_id if second else None
    change = review_rules.credit_change(review.rating)
    counter = f"ratings_{review.rating}"
    points = change["credit"] if review.counted else 0
    cap = credit.cap_side(points)
    notice = _reviewed_notice(review, order, second, now)
    with tx:
        notifications.write_in(tx, [notice])
        # attribute_not_exists on the review key is what makes "once per side" hold
        # under concurrency; the order flag mirrors it for readers of the order.
        tx.save("review", review, condition=ReviewModel.order_id.does_not_exist())
        # The order must still be completed, unreviewed by this side, and completed
        # recently enough: the window is re-checked by DynamoDB at commit time
        # (clock keys sort as strings), not only by the read above.
        earliest = clock.to_key(now - timedelta(seconds=window))
        tx.update("order", OrderModel(review.order_id), actions=order_actions,
                  condition=(OrderModel.status == review_rules.REVIEWABLE_STATUS)
                  & (OrderModel.completed_at >= earliest)
                  & _flag_is(flag, False)
                  # The other side's flag as read: had it reviewed meanwhile, this commit
                  # fails and is retried knowing it is the second (and so publishes).
                  & _flag_is(other_flag, second))
        if cap is not None:
            # Honest counting: the pair's counter for this month and sign grows with the
            # review, conditioned on staying within the cap. Two reviews of the pair
            # committing at once both write this one item, so DynamoDB lets only one
            # through at a time and the second sees the first's point.
            used = getattr(ReviewModel, f"cap_{cap}")
            tx.update("cap", ReviewModel(
                cap_key(credit.month_of(now), order.buyer_id, order.provider_id), role),
                actions=[used.add(abs(points))],
                condition=used.does_not_exist() | (used <= credit.MONTHLY_CAP - abs(points)))
        if role == review_rules.BUYER:
            analytics.buyer_reviewed(tx, order.provider_id, order.id, review.rating, now)
            # version moves too, so a catalog write that read the profile before this
            # review fails its version condition instead of saving stale counters.
            tx.update("party", ProviderModel(review.subject_id),
                      actions=[ProviderModel.credit.add(points),
                               getattr(ProviderModel, counter).add(1),
                               ProviderModel.version.add(1)],
                      condition=ProviderModel.user_id.exists())
        else:
            # ADD creates the buyer's item the first time anybody reviews them.
            tx.update("party", UserModel(review.subject_id),
                      actions=[UserModel.credit.add(points),
                               getattr(UserModel, counter).add(1)])
        if with_service:
            tx.update("service", ServiceModel(review.service_id),
                      actions=[ServiceModel.rating_sum.add(change["credit"]),
                               ServiceModel.rating_count.add(1),
                               getattr(ServiceModel, counter).add(1),
                               ServiceModel.version.add(1)],
                      condition=ServiceModel.id.exists())
        if publishing:
            tx.update("published", ReviewModel(review.order_id, review_rules.BUYER),
                      actions=_publish(order), condition=ReviewModel.order_id.exists())


def _reviewed_notice(review: ReviewModel, order: OrderModel, second: bool, now: datetime):
    """The reviewed party's notice, written with the review. It never tells the rating:
    that would unseal a blind review."""
    title = order_title(order)
    if second:
        text = f"{ROLE_LABELS[review.author_role]}已评价订单「{title}」，双方的评价现已公开"
    else:
        text = (f"{ROLE_LABELS[review.author_role]}已评价订单「{title}」；"
                "您评价后（或评价期结束后）即可查看")
    return notifications.notification_put(review.subject_id, "reviewed", order_id=order.id,
                                          service_id=order.service_id, text=text, now=now)


def order_title(order: OrderModel) -> str:
    snapshot = getattr(order, "service", None)
    return getattr(snapshot, "title", None) or order.id

