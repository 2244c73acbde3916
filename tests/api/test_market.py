"""The market (GET /services): listed services only, Chinese and Latin search, filters,
sorts, cursors — and a cost that follows the results, not the catalog."""
from urllib.parse import quote

from chalicelib import clock, ids
from chalicelib.services import market, market_index
from chalicelib.storage.catalog import ServiceModel
from tests.support import catch_up_market
from tests.api.catalog_support import (PROVIDER, PROVIDER_2, approved_provider, draft, listed,
                                       with_logo)


def search(api, **params):
    query = "&".join(f"{k}={quote(str(v))}" for k, v in params.items())
    reply = api.get(f"/services?{query}")
    assert reply.status == 200, reply
    return reply.json


def ids_of(page):
    return [s["id"] for s in page["items"]]


def catalog_of_three(api):
    approved_provider(api)
    approved_provider(api, PROVIDER_2)
    shop = listed(api, PROVIDER, n=0, title="旗舰店铺装修", summary="天猫淘宝旗舰店首页装修，三天出稿",
                  price=88000, category="shop-decoration", tags=["fast-delivery"])
    logo = listed(api, PROVIDER, n=1, title="logo设计", summary="品牌标志原创设计，源文件交付",
                  price=50000, category="logo-design", tags=["original", "invoice"])
    service = listed(api, PROVIDER_2, n=2, title="7x24小时客服外包", summary="专业客服团队全天候在线",
                     price=300000, category="customer-service", tags=["always-on"])
    return shop, logo, service


def test_search_in_chinese_latin_and_tags(api):
    shop, logo, service = catalog_of_three(api)
    assert ids_of(search(api, q="装修")) == [shop["id"]]
    assert ids_of(search(api, q="LOGO")) == [logo["id"]]
    assert ids_of(search(api, q="Log")) == [logo["id"]]
    assert ids_of(search(api, q="logo设计")) == [logo["id"]]
    assert ids_of(search(api, q="可开发票")) == [logo["id"]]  # a tag's name
    assert ids_of(search(api, q="24小时")) == [service["id"]]
    assert ids_of(search(api, q="客")) == [service["id"]]
    assert ids_of(search(api, q="设计 源文件")) == [logo["id"]]  # every part must match
    assert search(api, q="设计 客服")["items"] == []
    assert search(api, q="手机壳")["items"] == []


def test_cards_carry_what_a_market_page_shows(api):
    shop, _, _ = catalog_of_three(api)
    card = search(api, q="装修")["items"][0]
    assert card["title"] == "旗舰店铺装修" and card["headline"] == "天猫淘宝旗舰店首页装修，三天出稿"
    assert card["price"] == 88000 and card["currency"] == "CNY"
    assert card["provider_id"] == PROVIDER and card["logo_url"]
    assert card["rating"] is None and card["rating_count"] == 0
    assert card["listed_at"] == shop["listed_at"]


def test_filters_combine(api):
    shop, logo, service = catalog_of_three(api)
    assert ids_of(search(api, category="logo-design")) == [logo["id"]]
    assert ids_of(search(api, tag="always-on")) == [service["id"]]
    assert set(ids_of(search(api, provider_id=PROVIDER))) == {shop["id"], logo["id"]}
    assert ids_of(search(api, provider_id=PROVIDER, category="shop-decoration")) == [shop["id"]]
    assert search(api, tag="original", category="shop-decoration")["items"] == []
    assert ids_of(search(api, q="设计", tag="invoice", provider_id=PROVIDER)) == [logo["id"]]
    assert api.get("/services?category=手机壳").status == 422
    assert api.get("/services?sort=cheapest").status == 422


def test_sorts(api):
    shop, logo, service = catalog_of_three(api)
    assert ids_of(search(api)) == [service["id"], logo["id"], shop["id"]]  # newest first
    assert ids_of(search(api, sort="price_asc")) == [logo["id"], shop["id"], service["id"]]
    assert ids_of(search(api, sort="price_desc")) == [service["id"], shop["id"], logo["id"]]
    # Reviews move ratings (another engineer's transaction); the services' stream brings
    # them to the entries before the next market read (tests.support.catch_up_market).
    for sid, total, count in ((shop["id"], 2, 2), (logo["id"], -1, 1)):
        ServiceModel(sid).update(actions=[ServiceModel.rating_sum.set(total),
                                          ServiceModel.rating_count.set(count)])
    rated = search(api, sort="rating")
    assert ids_of(rated) == [shop["id"], logo["id"], service["id"]]
    assert [s["rating"] for s in rated["items"]] == [1.0, -1.0, None]


def test_only_listed_services_and_delisting_removes_them(api):
    shop, logo, _ = catalog_of_three(api)
    hidden = draft(api, n=5, title="店铺装修草稿")
    with_logo(api, hidden["id"])
    assert hidden["id"] not in ids_of(search(api, q="装修"))
    api.post(f"/services/{shop['id']}/delist", user=PROVIDER)
    assert search(api, q="装修")["items"] == []
    assert shop["id"] not in ids_of(search(api))
    assert shop["id"] not in ids_of(search(api, provider_id=PROVIDER))
    api.post(f"/services/{shop['id']}/list", user=PROVIDER)
    assert ids_of(search(api, q="装修")) == [shop["id"]]


def test_cursor_pages_through_and_is_bound_to_its_query(api):
    approved_provider(api)
    made = [listed(api, n=i)["id"] for i in range(5)]
    seen, cursor = [], None
    for _ in range(5):
        page = search(api, limit=2, sort="price_asc", **({"cursor": cursor} if cursor else {}))
        seen += ids_of(page)
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(made) and len(seen) == 5
    first = search(api, limit=2)
    wrong = api.get(f"/services?limit=2&sort=price_desc&cursor={first['next_cursor']}")
    assert wrong.status == 400
    assert api.get("/services?cursor=forged").status == 400
    assert api.get("/services?limit=0").status == 422
    assert api.get("/services?limit=101").status == 422


FORGED_START_KEYS = [
    "ALL", 7, ["term"], {"term": "ALL"}, {"term": {"S": "ALL"}},
    {"term": {"S": "ALL"}, "sort_newest": {"N": "1"}},
    {"term": {"S": "ALL"}, "sort_newest": {"S": "x"}, "extra": {"S": "y"}},
    {"nope": {"S": "a"}, "nada": {"S": "b"}}, {"term": {"S": "ALL"}, "sort_newest": {"M": {}}},
    {"term": {"S": ""}, "sort_newest": {"S": "x"}},
]


def test_a_forged_start_key_is_400_not_500(api, aws):
    """Whoever knows the signing key (here, the local stage's) still cannot make a list
    route fail: a start key of the wrong shape is the client's error."""
    import json

    from chalicelib.api.pagination import encode_cursor

    approved_provider(api)
    routes = [
        ("/services?limit=2", "market:" + json.dumps(
            [{"q": None, "category": None, "tag": None, "provider_id": None}, "newest"],
            ensure_ascii=False, sort_keys=True), None),
        ("/orders?as=buyer", f"orders:{PROVIDER}:buyer:", PROVIDER),
        ("/me/notifications", f"notifications:{PROVIDER}", PROVIDER),
    ]
    for path, scope, user in routes:
        for start in FORGED_START_KEYS:
            cursor = encode_cursor(start, scope)
            reply = api.get(f"{path}{'&' if '?' in path else '?'}cursor={cursor}", user=user)
            if aws == "moto" and reply.status == 200:
                continue  # moto accepts a start key without its sort key; DynamoDB does not
            assert (reply.status, reply.error_code) == (400, "INVALID_REQUEST"), (path, start,
                                                                                 reply)


def _bulk_listed(n: int, title: str, summary: str, provider: str = "bulk-provider"):
    """Listed services written straight into storage, with their market entries (the
    consumer's backfill: no stream is read here)."""
    made = []
    for i in range(n):
        now = clock.to_key(clock.now())
        service = ServiceModel(ids.new_id("svc"), provider_id=provider, title=f"{title}{i}",
                               category="customer-service", summary=summary, content="内容",
                               pricing="fixed", price=1000 + i, tags=[], status="listed",
                               created_at=now, updated_at=now, listed_at=now)
        service.save()
        market_index.reindex_service(service.id)
        made.append(service.id)
    return made


def test_items_read_follow_results_not_catalog_size(moto_aws):
    matching = _bulk_listed(3, "店铺装修", "首页装修")
    _bulk_listed(150, "客服外包", "在线客服")
    found = market.search(q="装修", limit=20)
    assert sorted(s["id"] for s in found.items) == sorted(matching)
    assert found.scanned <= 3  # the Q#装修 partition holds the matches and nothing else
    by_category = market.search(category="shop-decoration", limit=20)
    assert by_category.items == [] and by_category.scanned == 0
    first_page = market.search(limit=10)
    assert len(first_page.items) == 10 and first_page.scanned <= 20  # one page, not 153


def test_a_query_reads_at_most_the_budget_and_says_so_with_next_cursor(moto_aws, monkeypatch):
    """A filter that matches little on a big partition (here the provider's, filtered by
    another category) stops at the read budget; the next cursor goes on from there."""
    monkeypatch.setattr(market, "READ_BUDGET", 40)
    _bulk_listed(100, "客服外包", "在线客服")
    found = market.search(provider_id="bulk-provider", category="logo-design", limit=20)
    assert found.items == [] and found.scanned <= 40
    assert found.last_key is not None  # not the end: the client asks again
    pages, start = 1, found.last_key
    while start is not None:
        more = market.search(provider_id="bulk-provider", category="logo-design", limit=20,
                             start_key=start)
        assert more.items == [] and more.scanned <= 40
        pages, start = pages + 1, more.last_key
    assert 3 <= pages <= 4  # 100 entries, 40 a request


def test_pages_under_the_budget_still_find_every_match(moto_aws, monkeypatch):
    monkeypatch.setattr(market, "READ_BUDGET", 30)
    made = _bulk_listed(70, "客服外包", "在线客服")
    seen, start, requests = [], None, 0
    while True:
        page = market.search(provider_id="bulk-provider", q="客服", limit=25, start_key=start)
        assert page.scanned <= 30 and len(page.items) <= 25
        seen += [s["id"] for s in page.items]
        requests += 1
        start = page.last_key
        if start is None:
            break
    assert sorted(seen) == sorted(made) and requests >= 3


def test_a_query_with_no_indexable_word_is_refused_not_a_catalog_scan(api):
    for q in ("x", "!", "? ! x", "。"):
        reply = api.get(f"/services?q={quote(q)}")
        assert (reply.status, reply.error_code) == (422, "VALIDATION_FAILED"), (q, reply)
        assert reply.json["error"]["details"]["errors"][0]["field"] == "q"
    assert api.get(f"/services?q={quote('装修 x')}").status == 200  # one indexed word is enough


def test_demo_data_loads_once_through_the_rules(moto_aws):
    from chalicelib.local import demo

    assert demo.load_demo_data(clock.now()) is True
    assert demo.load_demo_data(clock.now()) is False
    catch_up_market()
    everything = market.search(limit=100).items
    assert len(everything) == 5
    assert {s["provider_id"] for s in everything} == {"demo-xiaomei", "demo-yunkefu"}
    assert [s["title"] for s in market.search(q="装修").items] == ["旗舰店铺首页装修"]
    trial = [s for s in everything if s["trial_campaign_id"]]
    assert len(trial) == 1 and trial[0]["price"] == 100
    assert all(s["logo_url"] for s in everything)
    # The 客服外包 listing is sold as a contract: the demo shop's, live in its trial.
    from chalicelib.domain.actors import Caller
    from chalicelib.services.contracts import reading

    shop, _ = reading.list_contracts(Caller("demo-shop"), as_="buyer", status=None, limit=10,
                                     start_key=None, now=clock.now())
    assert [(c["service"]["title"], c["status"], c["signed_by"]) for c in shop] == [
        ("7x24小时客服外包", "trial", ["buyer", "provider"])]
    from chalicelib.services.catalog.reading import get_service

    listing = get_service(None, shop[0]["service_id"])
    assert listing["title"] == "7x24小时客服外包" and "包月合同" in listing["content"]
