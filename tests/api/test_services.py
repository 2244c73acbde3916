"""Services: the taxonomy, drafting, reading, editing and deleting, with every field
limit at and past its edge and the 404-versus-403 rule."""
import pytest

from chalicelib.storage.catalog import ServiceModel
from tests.api.catalog_support import (BUYER, OPERATOR, PROVIDER, PROVIDER_2, approved_provider,
                                       draft, listed, service_body)


def test_categories_and_tags_are_public_with_chinese_names(api):
    categories = api.get("/categories")
    assert categories.status == 200
    names = {c["name"] for c in categories.json["items"]}
    assert {"店铺装修", "logo设计", "客服外包", "详情页设计", "代运营", "摄影修图"} <= names
    tags = {t["name"] for t in api.get("/tags").json["items"]}
    assert {"急速交付", "可开发票", "原创设计", "包修改", "7x24小时"} <= tags
    assert all(set(c) == {"id", "name"} for c in categories.json["items"])


def test_only_approved_providers_create_services(api):
    refused = api.post("/services", service_body(), user=BUYER)
    assert refused.status == 403 and refused.error_code == "PROVIDER_NOT_APPROVED"
    api.post("/providers/me/application", {"display_name": "云客服", "company_name": "云客服公司",
                                           "contact": "400-800", "intro": "客服外包"}, user=PROVIDER)
    pending = api.post("/services", service_body(), user=PROVIDER)
    assert pending.status == 403 and pending.error_code == "PROVIDER_NOT_APPROVED"
    assert api.post("/services", service_body()).status == 401


def test_create_answers_a_draft_with_every_field(api):
    approved_provider(api)
    body = service_body(summary="天猫淘宝旗舰店首页装修，三天出稿，风格随心定制，包含两次修改", capacity=3)
    reply = api.post("/services", body, user=PROVIDER)
    assert reply.status == 201
    s = reply.json
    assert s["status"] == "draft" and s["provider_id"] == PROVIDER
    assert s["headline"] == "天猫淘宝旗舰店首页装修，三天出稿，风格随"
    assert len(s["headline"]) == 20
    assert s["currency"] == "CNY" and s["price"] == 88000 and s["capacity"] == 3
    assert s["rating"] is None and s["rating_count"] == 0
    assert s["logo_url"] is None and s["listed_at"] is None and s["trial_campaign_id"] is None
    assert s["created_at"].endswith("+00:00") and s["updated_at"] == s["created_at"]
    for field in ("title", "summary", "content", "category", "pricing", "tags"):
        assert s[field] == body[field]


@pytest.mark.parametrize("field,limit", [("title", 60), ("summary", 200), ("content", 20000)])
def test_text_field_limits(api, field, limit):
    approved_provider(api)
    assert api.post("/services", service_body(**{field: "修" * limit}), user=PROVIDER).status == 201
    past = api.post("/services", service_body(**{field: "修" * (limit + 1)}), user=PROVIDER)
    assert past.status == 422 and past.error_code == "VALIDATION_FAILED"
    assert past.json["error"]["details"]["errors"][0]["field"] == field
    assert api.post("/services", service_body(**{field: ""}), user=PROVIDER).status == 422


@pytest.mark.parametrize("changes", [
    {"price": 0}, {"price": -1}, {"price": 1.5}, {"price": "88000"}, {"price": 100_000_001},
    {"pricing": "auction"}, {"category": "手机维修"}, {"tags": ["包邮"]},
    {"tags": ["invoice", "invoice"]},
    {"tags": ["fast-delivery", "invoice", "original", "free-revision", "always-on",
              "source-files"]},
    {"capacity": 0}, {"capacity": "3"}, {"unknown": 1}, {"title": None},
])
def test_bad_fields_are_refused(api, changes):
    approved_provider(api)
    reply = api.post("/services", service_body(**changes), user=PROVIDER)
    assert reply.status == 422, (changes, reply)


def test_edges_that_are_allowed(api):
    approved_provider(api)
    for changes in ({"price": 1}, {"price": 100_000_000}, {"tags": []}, {"capacity": 1},
                    {"tags": ["fast-delivery", "invoice", "original", "free-revision",
                              "always-on"]}, {"pricing": "negotiable"}):
        assert api.post("/services", service_body(**changes), user=PROVIDER).status == 201, changes


def test_who_sees_a_draft(api):
    approved_provider(api)
    s = draft(api)
    assert api.get(f"/services/{s['id']}", user=PROVIDER).status == 200
    assert api.get(f"/services/{s['id']}", user=OPERATOR, operator=True).status == 200
    assert api.get(f"/services/{s['id']}", user=BUYER).status == 404
    assert api.get(f"/services/{s['id']}").status == 404
    assert api.get("/services/svc_nope").status == 404


def test_a_listed_service_is_public(api):
    approved_provider(api)
    s = listed(api)
    public = api.get(f"/services/{s['id']}")
    assert public.status == 200 and public.json["status"] == "listed"
    assert public.json["logo_url"]


def test_patch_edits_a_draft_partially(api):
    approved_provider(api)
    s = draft(api)
    reply = api.patch(f"/services/{s['id']}", {"price": 66600, "capacity": None,
                                               "summary": "两天出稿的首页装修，含详情页一张，免费修改两次"},
                      user=PROVIDER)
    assert reply.status == 200
    assert reply.json["price"] == 66600 and reply.json["title"] == s["title"]
    assert reply.json["headline"] == "两天出稿的首页装修，含详情页一张，免费修"
    assert reply.json["capacity"] is None
    assert api.get(f"/services/{s['id']}", user=PROVIDER).json["price"] == 66600


def test_patch_limits_and_owner(api):
    approved_provider(api)
    approved_provider(api, PROVIDER_2)
    s = draft(api)
    assert api.patch(f"/services/{s['id']}", {"title": "修" * 61}, user=PROVIDER).status == 422
    assert api.patch(f"/services/{s['id']}", {"title": "修" * 60}, user=PROVIDER).status == 200
    assert api.patch(f"/services/{s['id']}", {"price": 0}, user=PROVIDER).status == 422
    # Not visible to another provider: 404, not 403.
    assert api.patch(f"/services/{s['id']}", {"price": 1}, user=PROVIDER_2).status == 404
    # An operator may see it but not edit it.
    op = api.patch(f"/services/{s['id']}", {"price": 1}, user=OPERATOR, operator=True)
    assert op.status == 403 and op.error_code == "FORBIDDEN"
    assert api.patch(f"/services/{s['id']}", {"price": 1}).status == 401


def test_patch_of_a_listed_service_is_refused_until_delisted(api):
    approved_provider(api)
    s = listed(api)
    refused = api.patch(f"/services/{s['id']}", {"price": 1000}, user=PROVIDER)
    assert refused.status == 409 and refused.error_code == "SERVICE_LISTED"
    other = api.patch(f"/services/{s['id']}", {"price": 1000}, user=PROVIDER_2)
    assert other.status == 403  # a listed service is visible to everybody
    api.post(f"/services/{s['id']}/delist", user=PROVIDER)
    assert api.patch(f"/services/{s['id']}", {"price": 1000}, user=PROVIDER).json["price"] == 1000


def test_delete_a_draft_and_a_delisted_service(api):
    approved_provider(api)
    d = draft(api)
    assert api.delete(f"/services/{d['id']}", user=PROVIDER_2).status == 404
    assert api.delete(f"/services/{d['id']}", user=OPERATOR, operator=True).status == 403
    assert api.delete(f"/services/{d['id']}", user=PROVIDER).status == 204
    assert api.get(f"/services/{d['id']}", user=PROVIDER).status == 404
    assert api.delete(f"/services/{d['id']}", user=PROVIDER).status == 404

    s = listed(api, n=1)
    refused = api.delete(f"/services/{s['id']}", user=PROVIDER)
    assert refused.status == 409 and refused.error_code == "SERVICE_LISTED"
    api.post(f"/services/{s['id']}/delist", user=PROVIDER)
    assert api.delete(f"/services/{s['id']}", user=PROVIDER).status == 204


def test_delete_with_open_orders_is_refused(api):
    approved_provider(api)
    s = listed(api)
    api.post(f"/services/{s['id']}/delist", user=PROVIDER)
    ServiceModel(s["id"]).update(actions=[ServiceModel.open_orders.add(1)])
    refused = api.delete(f"/services/{s['id']}", user=PROVIDER)
    assert refused.status == 409 and refused.error_code == "SERVICE_HAS_OPEN_ORDERS"
    assert api.get(f"/services/{s['id']}", user=PROVIDER).status == 200


def test_my_services_by_status_newest_first(api):
    approved_provider(api)
    first = draft(api, n=0)
    second = listed(api, n=1)
    third = draft(api, n=2)
    everything = api.get("/providers/me/services", user=PROVIDER).json["items"]
    assert [s["id"] for s in everything] == [third["id"], second["id"], first["id"]]
    only_listed = api.get("/providers/me/services?status=listed", user=PROVIDER).json["items"]
    assert [s["id"] for s in only_listed] == [second["id"]]
    page1 = api.get("/providers/me/services?limit=2", user=PROVIDER).json
    page2 = api.get(f"/providers/me/services?limit=2&cursor={page1['next_cursor']}",
                    user=PROVIDER).json
    assert [s["id"] for s in page1["items"] + page2["items"]] == [s["id"] for s in everything]
    assert api.get("/providers/me/services", user=BUYER).json["items"] == []
    # A cursor is bound to its caller: provider-2 cannot page through provider-1's list.
    stolen = api.get(f"/providers/me/services?limit=2&cursor={page1['next_cursor']}",
                     user=PROVIDER_2)
    assert stolen.status == 400


def _follow(api, path, user):
    """Every item of a list, and how many requests it took."""
    items, cursor, requests = [], None, 0
    while True:
        sep = "&" if "?" in path else "?"
        reply = api.get(path + (f"{sep}cursor={cursor}" if cursor else ""), user=user)
        assert reply.status == 200, reply
        items += reply.json["items"]
        requests += 1
        cursor = reply.json["next_cursor"]
        if not cursor:
            return items, requests


def test_a_status_filter_over_many_drafts_reads_a_bounded_page(api, monkeypatch):
    """The filter runs after the read: a provider's drafts must not all be read to find
    that none is listed."""
    from chalicelib.storage import base

    monkeypatch.setattr(base, "READ_BUDGET", 4)
    approved_provider(api)
    for n in range(10):
        draft(api, n=n)
    items, requests = _follow(api, "/providers/me/services?status=listed", PROVIDER)
    assert items == [] and requests >= 3
    assert len(_follow(api, "/providers/me/services?status=draft", PROVIDER)[0]) == 10
