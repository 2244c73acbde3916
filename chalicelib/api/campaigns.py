"""Campaign routes: operators create trial campaigns; anybody sees the active ones."""
from chalice import Blueprint

from chalicelib import lazy
from chalicelib.api import answers
from chalicelib.api.pagination import encode_cursor, page
from chalicelib.api.routing import OPERATOR, PAGING, PUBLIC, route
from chalicelib.api.schema import DateTime, Int, Obj, Str
from chalicelib.domain import catalog as catalog_rules

campaigns = lazy.module("chalicelib.services.campaigns")

bp = Blueprint(__name__)

CAMPAIGN = Obj({
    "name": Str(1, 60, example="新店体验季"),
    "starts_at": DateTime(example="2026-12-01T00:00:00+08:00"),
    "ends_at": DateTime(example="2026-12-31T00:00:00+08:00"),
    "max_price": Int(minimum=1, maximum=catalog_rules.MAX_PRICE, example=100,
                     description="highest price (fen) a trial listing may have"),
}, name="Campaign")


@route(bp, "/admin/campaigns", "POST",
       response=answers.CAMPAIGN, auth=OPERATOR, body=CAMPAIGN, status=201, tag="admin")
def create_campaign(req):
    """Create a trial campaign."""
    return campaigns.create_campaign(req.caller, now=req.now, **req.body)


@route(bp, "/campaigns", "GET",
       response=answers.page_of(answers.CAMPAIGN), auth=PUBLIC, query=PAGING, tag="campaigns")
def active_campaigns(req):
    """Campaigns running now, ending soonest first."""
    limit, start_key = req.paging("campaigns")
    items, last_key = campaigns.active_campaigns(req.now, limit, start_key)
    return page(items, encode_cursor(last_key, "campaigns"))


@route(bp, "/admin/campaigns", "GET", response=answers.page_of(answers.CAMPAIGN),
       auth=OPERATOR, query=PAGING, tag="admin")
def current_campaigns(req):
    """Operators: campaigns running and scheduled (not yet started), ending soonest first."""
    limit, start_key = req.paging("admin-campaigns")
    items, last_key = campaigns.current_campaigns(req.now, limit, start_key)
    return page(items, encode_cursor(last_key, "admin-campaigns"))
