"""Catalog routes: the taxonomy, services (draft, edit, logo, list, delist, delete) and
the market search."""
import json

from chalice import Blueprint, Response

from chalicelib import lazy
from chalicelib.api import answers
from chalicelib.api.pagination import encode_cursor, page
from chalicelib.api.routing import OPERATOR, PAGING, PUBLIC, USER, route
from chalicelib.api.schema import Bool, Enum, Int, ListOf, Obj, Str
from chalicelib.domain import catalog as catalog_rules
from chalicelib.domain import choices, ranking
from chalicelib.domain import taxonomy
from chalicelib.services import logos  # its upload types name a route's media types

catalog = lazy.module("chalicelib.services.catalog")
market = lazy.module("chalicelib.services.market")

bp = Blueprint(__name__)

CATEGORY_IDS = [c for c, _ in taxonomy.CATEGORIES]
TAG_IDS = [t for t, _ in taxonomy.TAGS]


# The menu (issue 26): packages (套餐), extras (加购) and the requirement form (需求表).
PACKAGE = Obj({
    "name": Str(1, choices.NAME_MAX, example="标准版"),
    "price": Int(minimum=1, maximum=catalog_rules.MAX_PRICE, description="fen"),
    "delivery_days": Int(minimum=choices.DELIVERY_DAYS[0], maximum=choices.DELIVERY_DAYS[1]),
    "revisions": Int(minimum=0, maximum=choices.REVISIONS_MAX, nullable=True,
                     description="revision requests allowed; null: unlimited"),
    "description": Str(0, choices.DESCRIPTION_MAX, multiline=True, required=False),
}, name="PackageInput")
EXTRA = Obj({"name": Str(1, choices.NAME_MAX, example="加急24小时"),
             "price": Int(minimum=1, maximum=catalog_rules.MAX_PRICE, description="fen")},
            name="ExtraInput")
QUESTION = Obj({
    "id": Str(1, 32, example="logo_text"),
    "label": Str(1, choices.LABEL_MAX, example="logo上的文字"),
    "required": Bool(required=False),
    "kind": Enum(list(choices.KINDS), required=False, description="default text"),
}, name="QuestionInput")
MENU_FIELDS = {
    "packages": ListOf(PACKAGE, 0, choices.PACKAGES_MAX, required=False, nullable=True),
    "extras": ListOf(EXTRA, 0, choices.EXTRAS_MAX, required=False, nullable=True),
    "questions": ListOf(QUESTION, 0, choices.QUESTIONS_MAX, required=False, nullable=True),
}


def _service_fields(required: bool) -> dict:
    return {
        "title": Str(1, catalog_rules.TITLE_MAX, required=required, example="旗舰店铺装修"),
        "summary": Str(1, catalog_rules.SUMMARY_MAX, required=required,
                       example="天猫淘宝旗舰店首页装修，三天出稿"),
        "content": Str(1, catalog_rules.CONTENT_MAX, multiline=True, required=required,
                       description="Markdown"),
        "category": Enum(CATEGORY_IDS, required=required),
        "pricing": Enum(list(catalog_rules.PRICINGS), required=required),
        "price": Int(minimum=1, maximum=catalog_rules.MAX_PRICE, required=required,
                     description="fen"),
        "tags": ListOf(Enum(TAG_IDS), 0, catalog_rules.MAX_TAGS, unique=True, required=False),
        "capacity": Int(minimum=1, maximum=catalog_rules.MAX_CAPACITY, required=False, nullable=True,
                        description="most open orders at once; null for no limit"),
        **MENU_FIELDS,
    }


SERVICE_CREATE = Obj(_service_fields(True), name="ServiceCreate")
SERVICE_PATCH = Obj(_service_fields(False), name="ServicePatch")
LISTING = Obj({"campaign_id": Str(1, 128, required=False,
                                  description="list as a trial of this campaign")},
              name="Listing")
EMPTY = Obj({}, name="Empty")
MARKET_QUERY = {
    **PAGING,
    "q": Str(1, 100, required=False,
             description="words in title, summary or tags; at least one of two or more "
                         "letters or digits, or a Chinese character"),
    "category": Enum(CATEGORY_IDS, required=False),
    "tag": Enum(TAG_IDS, required=False),
    "provider_id": Str(1, 128, required=False),
    "sort": Enum(list(ranking.SORTS), required=False,
                 description="default best: 小二推荐 first, then the quality score (a Bayesian "
                             "average of good reviews), ties newest first"),
    "featured": Enum(["true", "false"], required=False,
                     description="true: only services operators recommend (小二推荐)"),
}


@route(bp, "/categories", "GET", response=answers.TAXONOMY, auth=PUBLIC, tag="catalog")
def categories(req):
    """The system's service categories."""
    return {"items": taxonomy.as_items(taxonomy.CATEGORIES)}


@route(bp, "/tags", "GET", response=answers.TAXONOMY, auth=PUBLIC, tag="catalog")
def tags(req):
    """The system's service tags."""
    return {"items": taxonomy.as_items(taxonomy.TAGS)}


@route(bp, "/services", "POST",
       response=answers.SERVICE, auth=USER, body=SERVICE_CREATE, status=201, tag="catalog")
def create_service(req):
    """Draft a service (approved providers)."""
    return catalog.create_service(req.caller, req.body, req.now)


@route(bp, "/services", "GET",
       response=answers.page_of(answers.SERVICE_CARD), auth=PUBLIC, query=MARKET_QUERY,
       tag="catalog")
def search_market(req):
    """The market: listed services, filtered and sorted (a bounded read per page)."""
    filters = {k: req.query.get(k) for k in ("q", "category", "tag", "provider_id")}
    filters["featured"] = req.query.get("featured") == "true"
    sort = req.query.get("sort", ranking.DEFAULT_SORT)
    scope = "market:" + json.dumps([filters, sort], ensure_ascii=False, sort_keys=True)
    limit, start_key = req.paging(scope)
    result = market.search(**filters, sort=sort, limit=limit, start_key=start_key)
    return page(result.items, encode_cursor(result.last_key, scope))


@route(bp, "/services/{service_id}", "GET", response=answers.SERVICE, auth=PUBLIC, tag="catalog")
def get_service(req):
    """A service (public while listed; always to its provider and operators)."""
    return catalog.get_service(req.caller, req.params["service_id"])


@route(bp, "/services/{service_id}", "PATCH",
       response=answers.SERVICE, auth=USER, body=SERVICE_PATCH, tag="catalog")
def update_service(req):
    """Edit a draft or delisted service."""
    return catalog.update_service(req.caller, req.params["service_id"], req.body, req.now)


@route(bp, "/services/{service_id}", "DELETE", auth=USER, status=204, tag="catalog")
def delete_service(req):
    """Delete a draft or delisted service with no open orders."""
    catalog.delete_service(req.caller, req.params["service_id"])
    return Response(body="", status_code=204)


@route(bp, "/services/{service_id}/logo", "PUT", response=answers.SERVICE, auth=USER,
       content_types=logos.UPLOAD_TYPES, tag="catalog")
def put_logo(req):
    """Upload the logo: raw 80x80 jpeg, png or bmp of at most 50 KB (Content-Type its image
    type, or application/octet-stream)."""
    return catalog.set_logo(req.caller, req.params["service_id"], req.raw_body,
                            req.content_type, req.now)


@route(bp, "/services/{service_id}/list", "POST",
       response=answers.SERVICE, auth=USER, body=LISTING, tag="catalog")
def list_service(req):
    """上架 (with campaign_id: a trial listing)."""
    return catalog.list_service(req.caller, req.params["service_id"], req.now,
                                campaign_id=req.body.get("campaign_id"))


@route(bp, "/services/{service_id}/delist", "POST",
       response=answers.SERVICE, auth=USER, body=EMPTY, tag="catalog")
def delist_service(req):
    """下架 (the provider or an operator); open orders go on."""
    return catalog.delist_service(req.caller, req.params["service_id"], req.now)


@route(bp, "/admin/services/{service_id}/feature", "POST", response=answers.SERVICE, auth=OPERATOR, body=EMPTY,
       tag="admin")
def feature_service(req):
    """小二推荐: recommend a listed service (GET /services?featured=true)."""
    return catalog.feature_service(req.caller, req.params["service_id"], req.now)


@route(bp, "/admin/services/{service_id}/unfeature", "POST", response=answers.SERVICE, auth=OPERATOR, body=EMPTY,
       tag="admin")
def unfeature_service(req):
    """Take a recommendation back."""
    return catalog.unfeature_service(req.caller, req.params["service_id"], req.now)
