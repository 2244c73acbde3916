"""Reviews of an order: each side reviews the other once after completion."""
from chalice import Blueprint

from chalicelib.api import answers
from chalicelib.api.pagination import page
from chalicelib.api.routing import USER, route
from chalicelib.api.schema import Enum, Obj, Str
from chalicelib.domain import reviews as rules
from chalicelib.services import reviews

bp = Blueprint(__name__)

REVIEW_REQUEST = Obj({
    "rating": Enum(rules.RATINGS, description="good +1, neutral 0, bad -1 on the reviewed "
                                              "party's credit"),
    "comment": Str(0, rules.COMMENT_MAX, multiline=True, required=False,
                   example="沟通顺畅，交付准时"),
}, name="ReviewRequest")


@route(bp, "/orders/{order_id}/reviews", "POST",
       response=answers.REVIEW, auth=USER, body=REVIEW_REQUEST, status=201,
       tag="reviews", errors_=["REVIEW_NOT_ALLOWED", "FORBIDDEN", "NOT_FOUND"])
def review_order(req):
    """Review the other side of a completed order (buyer or provider, once each)."""
    return reviews.submit_review(req.caller, req.params["order_id"], rating=req.body["rating"],
                                 comment=req.body.get("comment") or "", now=req.now)


@route(bp, "/orders/{order_id}/reviews", "GET",
       response=answers.page_of(answers.REVIEW), auth=USER, tag="reviews")
def order_reviews(req):
    """Both reviews of an order (its buyer, its provider, operators)."""
    return page(reviews.list_order_reviews(req.caller, req.params["order_id"]), None)
