"""What is said after a review: the reviewed party's one answer (the provider to the
buyer's review, the buyer to the provider's), the buyer's one follow-up (追评), and an
operator hiding a review's text. None of them moves credit.

Each is one conditional write on the review item, so "once" is said by DynamoDB, not by
the read before it; hiding also writes an order event (the audit trail) in the same
transaction.
"""
from datetime import datetime

from pynamodb.exceptions import TransactWriteError

from chalicelib import clock, settings as settings_module
from chalicelib.domain import orders as life
from chalicelib.domain import reviews as review_rules
from chalicelib.domain.errors import Conflict, Forbidden, NotFound, ReviewNotAllowed
from chalicelib.services import notifications, orders
from chalicelib.services.optimistic import ATTEMPTS
from chalicelib.services.orders.engine import new_event
from chalicelib.services.reviews import (get_review, order_title, other_side_readable,
                                         present)
from chalicelib.storage.base import transaction
from chalicelib.storage.orders import OrderEventModel, OrderModel
from chalicelib.storage.reviews import ReviewModel, Reply

R = ReviewModel
REPLY_NOTICES = {review_rules.BUYER: "服务商回复了您对订单「{}」的评价",
                 review_rules.PROVIDER: "买家回复了您对订单「{}」的评价"}


def reply_to_review(caller, order_id: str, side: str, *, body: str, now: datetime) -> dict:
    """The party `side` reviewed answers that review, once, when it can read it."""
    order = orders.load(order_id)
    if orders.role_of(caller, order) != review_rules.REVIEWED_ROLE[side]:
        raise Forbidden(f"only the party the {side} reviewed answers this review")
    review = get_review(order.id, side)
    if review is not None and review.reply is not None and review.reply.body == body:
        return present(review, reveal=False)  # a retry whose first answer was lost
    review_rules.check_reply_allowed(buyer_reviewed=review is not None,
                              readable=other_side_readable(order, now),
                              replied=review is not None and review.reply is not None,
                              side=side)
    at = clock.to_key(now)
    notice = notifications.notification_put(
        review.author_id, "review_replied", order_id=order.id, service_id=order.service_id,
        now=now, text=REPLY_NOTICES[side].format(order_title(order)))
    # Once: the condition, not the read above, decides between two racing replies.
    _answer(review, R.reply, body, at, notice, ReviewNotAllowed(
        f"the {side}'s review has been answered already", reason="already_replied"))
    review.reply = Reply(body=body, at=at)  # as committed: no read after the write
    return present(review, reveal=False)


def add_follow_up(caller, order_id: str, *, body: str, now: datetime) -> dict:
    """The buyer adds its one 追评 to its own review, within the follow-up window."""
    order = orders.load(order_id)
    if orders.role_of(caller, order) != life.BUYER:
        raise Forbidden("only the order's buyer adds to the buyer's review")
    review = get_review(order.id, review_rules.BUYER)
    if review is not None and review.follow_up is not None and review.follow_up.body == body:
        return present(review, reveal=False)
    review_rules.check_follow_up_allowed(
        reviewed=review is not None,
        completed_at=clock.from_key(order.completed_at) if order.completed_at else None,
        followed_up=review is not None and review.follow_up is not None, now=now,
        window_seconds=settings_module.get().follow_up_window_seconds)
    at = clock.to_key(now)
    notice = notifications.notification_put(
        order.provider_id, "review_followed_up", order_id=order.id,
        service_id=order.service_id, now=now,
        text=f"买家追加了对订单「{order_title(order)}」的评价")
    _answer(review, R.follow_up, body, at, notice, ReviewNotAllowed(
        "your review already has its follow-up", reason="already_followed_up"))
    review.follow_up = Reply(body=body, at=at)
    return present(review, reveal=False)


def hide_review(caller, order_id: str, side: str, *, reason: str, now: datetime) -> dict:
    """An operator hides a review's text from everyone but operators; its credit stays.
    The order's events record who hid it and why."""
    for _ in range(ATTEMPTS):
        order = orders.load(order_id)
        review = get_review(order.id, side)
        if review is None:
            raise NotFound("no such review")
        if review.hidden:
            raise ReviewNotAllowed("the review is hidden already", reason="already_hidden")
        version = int(order.version) + 1
        at = clock.to_key(now)
        tx = transaction()
        try:
            with tx:
                tx.update("review", R(order.id, side),
                          actions=[R.hidden.set(True), R.hidden_reason.set(reason)],
                          condition=R.order_id.exists()
                          & (R.hidden.does_not_exist() | (R.hidden == False)))  # noqa: E712
                # The event's seq is the order's next version: the audit trail is the
                # order's own timeline, ordered with its moves.
                tx.update("order", OrderModel(order.id),
                          actions=[OrderModel.version.set(version)],
                          condition=OrderModel.version == int(order.version))
                tx.save("event", new_event(order.id, version, "review_hidden", order.status,
                                           order.status, caller, at,
                                           {"side": side, "reason": reason}, None),
                        condition=OrderEventModel.seq.does_not_exist())
        except TransactWriteError as error:
            refusal = tx.refusal(error)
            if refusal.failed("review"):
                raise ReviewNotAllowed("the review is hidden already",
                                       reason="already_hidden") from None
            if refusal.failed("order") or refusal.failed("event") or refusal.conflict:
                continue  # the order moved meanwhile: read it again
            raise
        review.hidden, review.hidden_reason = True, reason
        return present(review)
    raise Conflict()


def _answer(review: ReviewModel, attribute, body: str, at: str, notice, once_error) -> None:
    tx = transaction()
    try:
        with tx:
            tx.update("review", R(review.order_id, review.author_role),
                      actions=[attribute.set({"body": body, "at": at})],
                      condition=R.order_id.exists() & attribute.does_not_exist())
            notifications.write_in(tx, [notice])
    except TransactWriteError as error:
        if not tx.refusal(error).failed("review"):
            raise
        raise once_error from None
