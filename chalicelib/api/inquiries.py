"""Inquiry routes (询单): ask a provider before ordering, talk, and the provider's custom
offer (定制报价) that turns an inquiry into an order awaiting the buyer's payment."""
from chalice import Blueprint

from chalicelib import lazy
from chalicelib.api import answers
from chalicelib.api import contracts as contract_routes
from chalicelib.api.orders import MILESTONE
from chalicelib.api.pagination import encode_cursor, page
from chalicelib.api.routing import PAGING, USER, route
from chalicelib.api.schema import DateTime, Enum, Int, ListOf, Obj, Str
from chalicelib.domain import inquiries as inquiry_rules
from chalicelib.domain.catalog import MAX_PRICE
from chalicelib.domain.errors import ValidationFailed

inquiries = lazy.module("chalicelib.services.inquiries")
contract_offers = lazy.module("chalicelib.services.contracts.offers")
offers = lazy.module("chalicelib.services.orders.offers")

bp = Blueprint(__name__)

ASK = Obj({"body": Str(1, inquiry_rules.BODY_MAX, multiline=True,
                       example="您好，想做双十一首页，三天内能交付吗？")}, name="InquiryRequest")
CONTRACT_OFFER = Obj({
    "requirement": Str(1, 5000, multiline=True, example="天猫店售前售后客服，三人两班"),
    "terms": contract_routes.TERMS,
}, name="ContractOffer", required=False,
    description="instead of the order fields: a contract draft, signed by the provider")
OFFER = Obj({
    "amount": Int(minimum=1, maximum=MAX_PRICE, description="the agreed price in fen",
                  required=False),
    "requirement": Str(1, 5000, multiline=True, example="双十一首页+两张详情页，红色主题",
                       required=False),
    "due_at": DateTime(example="2026-12-01T00:00:00+00:00", required=False),
    "milestones": ListOf(MILESTONE, 1, 10, required=False),
    "contract": CONTRACT_OFFER,
}, name="CustomOffer", description="either amount, requirement and due_at (an order), or "
                                   "contract (a contract draft)")
_ORDER_FIELDS = ("amount", "requirement", "due_at")
LIST_QUERY = {**PAGING, "as": Enum([inquiry_rules.BUYER, inquiry_rules.PROVIDER], required=False)}


@route(bp, "/services/{service_id}/inquiries", "POST", auth=USER, body=ASK, status=201,
       response=answers.INQUIRY, tag="inquiries")
def open_inquiry(req):
    """询单: ask the provider of a listed service (no capacity, no money)."""
    return inquiries.open_inquiry(req.caller, req.params["service_id"], body=req.body["body"],
                                  now=req.now, request_key=req.request_key)


@route(bp, "/inquiries/{inquiry_id}/messages", "POST", auth=USER, body=ASK, status=201,
       response=answers.INQUIRY_MESSAGE, tag="inquiries")
def post_inquiry_message(req):
    """Write in an inquiry (its buyer or provider); the other party is notified."""
    return inquiries.post_message(req.caller, req.params["inquiry_id"], body=req.body["body"],
                                  now=req.now)


@route(bp, "/inquiries/{inquiry_id}", "GET", auth=USER, response=answers.INQUIRY,
       tag="inquiries")
def get_inquiry(req):
    """One inquiry and its messages, oldest first (its two parties only)."""
    return inquiries.get_inquiry(req.caller, req.params["inquiry_id"])


@route(bp, "/inquiries", "GET", auth=USER, query=LIST_QUERY,
       response=answers.page_of(answers.INQUIRY_SUMMARY), tag="inquiries")
def list_inquiries(req):
    """The caller's inquiries as buyer (default) or provider, latest activity first."""
    as_ = req.query.get("as", inquiry_rules.BUYER)
    scope = f"inquiries:{req.caller.user_id}:{as_}"
    limit, start_key = req.paging(scope)
    items, last_key = inquiries.list_inquiries(req.caller, as_=as_, limit=limit,
                                               start_key=start_key)
    return page(items, encode_cursor(last_key, scope))


@route(bp, "/inquiries/{inquiry_id}/offer", "POST", auth=USER, body=OFFER, status=201,
       response=answers.OFFER, tag="inquiries")
def make_offer(req):
    """定制报价: the provider offers an agreed price (the buyer gets an order to pay) or a
    contract (the buyer gets a draft the provider signed)."""
    b = req.body
    _check_variant(b)
    if "contract" in b:
        return {"contract": contract_offers.offer_contract(
            req.caller, req.params["inquiry_id"], requirement=b["contract"]["requirement"],
            terms=b["contract"]["terms"], now=req.now, request_key=req.request_key)}
    return {"order": offers.make_offer(req.caller, req.params["inquiry_id"], amount=b["amount"],
                                       requirement=b["requirement"], due_at=b["due_at"],
                                       milestones=b.get("milestones"), now=req.now,
                                       request_key=req.request_key)}


def _check_variant(body: dict) -> None:
    """One variant or the other, each whole: what is missing or mixed in is named."""
    if "contract" in body:
        mixed = [name for name in (*_ORDER_FIELDS, "milestones") if name in body]
        problems = [{"field": name, "problem": "not with contract"} for name in mixed]
    else:
        problems = [{"field": name, "problem": "required"}
                    for name in _ORDER_FIELDS if name not in body]
    if problems:
        raise ValidationFailed("an offer is either an order or a contract", errors=problems)
