"""Reviews: each side of a completed order reviews the other once, blind until both did
or the window closed; the provider answers the buyer's review once; the market reads a
service's and a provider's buyer reviews."""
from chalice import Blueprint

from chalicelib import lazy
from chalicelib.api import answers
from chalicelib.api.pagination import encode_cursor, page
from chalicelib.api.routing import OPERATOR, PAGING, PUBLIC, USER, route
from chalicelib.api.schema import Bool, DateTime, Enum, Obj, Str
from chalicelib.domain import reviews as review_rules
from chalicelib.domain.errors import NotFound

review_answers = lazy.module("chalicelib.services.review_answers")
reviews = lazy.module("chalicelib.services.reviews")

bp = Blueprint(__name__)

REVIEW_REQUEST = Obj({
    "rating": Enum(review_rules.RATINGS, description="good +1, neutral 0, bad -1 on the reviewed "
                                              "party's credit"),
    "comment": Str(0, review_rules.COMMENT_MAX, multiline=True, required=False,
                   example="沟通顺畅，交付准时"),
}, name="ReviewRequest")
REPLY_REQUEST = Obj({
    "body": Str(1, review_rules.REPLY_MAX, multiline=True, example="感谢您的反馈，修改意见我们已记录，下次会更快响应"),
}, name="ReplyRequest")
_AT = {"example": "2026-11-22T08:00:00+00:00"}
REPLY = Obj({"body": Str(1, review_rules.REPLY_MAX, multiline=True), "at": DateTime(**_AT)},
            name="ReviewReply", nullable=True,
            description="the reviewed party's answer, if any (the provider's to a buyer's "
                        "review, the buyer's to a provider's)")
FOLLOW_UP = Obj({"body": Str(1, review_rules.FOLLOW_UP_MAX, multiline=True), "at": DateTime(**_AT)},
                name="ReviewFollowUp", nullable=True,
                description="追评: the buyer's one addition to its own review, if any")
FOLLOW_UP_REQUEST = Obj({
    "body": Str(1, review_rules.FOLLOW_UP_MAX, multiline=True, example="用了一个月，转化率明显提升"),
}, name="FollowUpRequest")
HIDE_REQUEST = Obj({
    "reason": Str(1, 500, multiline=True, example="含有联系方式，违反平台规则"),
}, name="HideReviewRequest")
_TRUST = {
    "counted": Bool(description="whether the review moved the reviewed party's credit: "
                                "false beyond the pair's monthly cap of +6 / -6"),
    "hidden": Bool(description="an operator hid the review's text (its credit stays)"),
}
REVIEW = Obj({
    "order_id": Str(1, 128), "author_role": Enum(list(review_rules.AUTHOR_ROLES)),
    "author_id": Str(1, 128), "subject_id": Str(1, 128), "rating": Enum(review_rules.RATINGS),
    "comment": Str(0, review_rules.COMMENT_MAX, multiline=True), "created_at": DateTime(**_AT),
    "reply": REPLY, "follow_up": FOLLOW_UP, **_TRUST,
    "hidden_reason": Str(1, 500, multiline=True, nullable=True,
                         description="why an operator hid it (operators only)"),
}, name="Review")
PUBLIC_REVIEW = Obj({
    "rating": Enum(review_rules.RATINGS), "comment": Str(0, review_rules.COMMENT_MAX, multiline=True),
    "at": DateTime(**_AT), "reply": REPLY, "follow_up": FOLLOW_UP, **_TRUST,
    "service_id": Str(1, 128),
}, name="PublicReview")
REVIEW_ERRORS = ["REVIEW_NOT_ALLOWED", "FORBIDDEN", "NOT_FOUND"]


@route(bp, "/orders/{order_id}/reviews", "POST", auth=USER, body=REVIEW_REQUEST, status=201,
       response=REVIEW, tag="reviews", errors_=REVIEW_ERRORS)
def review_order(req):
    """Review the other side of a completed order (buyer or provider, once each)."""
    return reviews.submit_review(req.caller, req.params["order_id"], rating=req.body["rating"],
                                 comment=req.body.get("comment") or "", now=req.now)


@route(bp, "/orders/{order_id}/reviews", "GET", auth=USER,
       response=answers.page_of(REVIEW), tag="reviews")
def order_reviews(req):
    """The order's reviews: a party sees the other side's once both reviewed or the
    window closed; operators see both."""
    return page(reviews.list_order_reviews(req.caller, req.params["order_id"], req.now), None)


@route(bp, "/orders/{order_id}/reviews/buyer/reply", "POST", auth=USER, body=REPLY_REQUEST,
       status=201, response=REVIEW, tag="reviews", errors_=REVIEW_ERRORS)
def reply_to_review(req):
    """The provider answers the buyer's review, once it can read it (once)."""
    return review_answers.reply_to_review(req.caller, req.params["order_id"], review_rules.BUYER,
                                          body=req.body["body"], now=req.now)


@route(bp, "/orders/{order_id}/reviews/provider/reply", "POST", auth=USER, body=REPLY_REQUEST,
       status=201, response=REVIEW, tag="reviews", errors_=REVIEW_ERRORS)
def reply_to_provider_review(req):
    """The buyer answers the provider's review, once it can read it (once)."""
    return review_answers.reply_to_review(req.caller, req.params["order_id"], review_rules.PROVIDER,
                                          body=req.body["body"], now=req.now)


@route(bp, "/orders/{order_id}/reviews/buyer/follow-up", "POST", auth=USER,
       body=FOLLOW_UP_REQUEST, status=201, response=REVIEW, tag="reviews",
       errors_=REVIEW_ERRORS)
def follow_up_review(req):
    """追评: the buyer adds to its own review once, within 180 days of completion."""
    return review_answers.add_follow_up(req.caller, req.params["order_id"],
                                        body=req.body["body"], now=req.now)


@route(bp, "/admin/orders/{order_id}/reviews/{side}/hide", "POST", auth=OPERATOR,
       body=HIDE_REQUEST, response=REVIEW, tag="admin", errors_=REVIEW_ERRORS)
def hide_review(req):
    """An operator hides a review's text from the public lists (its credit stays)."""
    side = req.params["side"]
    if side not in review_rules.AUTHOR_ROLES:
        raise NotFound("no such review side: buyer or provider")
    return review_answers.hide_review(req.caller, req.params["order_id"], side,
                                      reason=req.body["reason"], now=req.now)


@route(bp, "/services/{service_id}/reviews", "GET", auth=PUBLIC, query=PAGING,
       response=answers.page_of(PUBLIC_REVIEW), tag="reviews")
def service_reviews(req):
    """Buyers' reviews of a service, newest first (those no longer sealed)."""
    scope = f"service-reviews:{req.params['service_id']}"
    limit, start_key = req.paging(scope)
    items, last_key = reviews.list_service_reviews(req.caller, req.params["service_id"],
                                                   limit=limit, start_key=start_key)
    return page(items, encode_cursor(last_key, scope))


@route(bp, "/providers/{provider_id}/reviews", "GET", auth=PUBLIC, query=PAGING,
       response=answers.page_of(PUBLIC_REVIEW), tag="reviews")
def provider_reviews(req):
    """Buyers' reviews of a provider's services, newest first (those no longer sealed)."""
    scope = f"provider-reviews:{req.params['provider_id']}"
    limit, start_key = req.paging(scope)
    items, last_key = reviews.list_provider_reviews(req.params["provider_id"], limit=limit,
                                                    start_key=start_key)
    return page(items, encode_cursor(last_key, scope))
