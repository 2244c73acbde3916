"""小二推荐: operators feature listed services; the market lists them under
featured=true from their own index partition; service answers carry `featured`."""
from chalicelib.services import market
from tests.api.catalog_support import OPERATOR, PROVIDER, approved_provider, draft, listed

AS_OPERATOR = {"user": OPERATOR, "operator": True}


def feature(api, sid, **kw):
    return api.post(f"/admin/services/{sid}/feature", **{**AS_OPERATOR, **kw})


def unfeature(api, sid):
    return api.post(f"/admin/services/{sid}/unfeature", **AS_OPERATOR)


def featured_ids(api, query=""):
    reply = api.get(f"/services?featured=true{query}")
    assert reply.status == 200, reply
    assert all(card["featured"] for card in reply.json["items"])
    return [card["id"] for card in reply.json["items"]]


def test_an_operator_features_a_listed_service_and_the_market_shows_it(api):
    approved_provider(api)
    decoration = listed(api, n=0)["id"]
    logo = listed(api, n=1, category="logo-design")["id"]
    assert api.get(f"/services/{decoration}").json["featured"] is False
    reply = feature(api, decoration)
    assert reply.status == 200 and reply.json["featured"] is True
    assert api.get(f"/services/{decoration}").json["featured"] is True
    assert featured_ids(api) == [decoration]
    cards = {c["id"]: c["featured"] for c in api.get("/services").json["items"]}
    assert cards == {decoration: True, logo: False}
    assert feature(api, logo).status == 200
    assert featured_ids(api) == [logo, decoration]  # newest listed first, as the market
    assert featured_ids(api, "&category=logo-design") == [logo]
    assert featured_ids(api, "&q=LOGO") == [logo]
    assert featured_ids(api, "&sort=price_asc&limit=1") in ([logo], [decoration])
    everything = api.get("/services?featured=false").json["items"]  # false: no filter
    assert {c["id"] for c in everything} == {decoration, logo}


def test_featuring_reads_only_the_featured_partition(moto_aws):
    # The featured list costs what it returns, whatever the size of the market.
    assert market.pick_term("装修", "shop-decoration", "invoice", "provider-1", True) == "FEATURED"
    assert market.pick_term(None, None, None, None, False) == "ALL"


def test_delisting_hides_a_featured_service_and_relisting_brings_it_back(api):
    approved_provider(api)
    sid = listed(api)["id"]
    assert feature(api, sid).status == 200
    assert api.post(f"/services/{sid}/delist", user=PROVIDER).status == 200
    assert featured_ids(api) == []
    assert api.get(f"/services/{sid}", user=PROVIDER).json["featured"] is True
    assert api.post(f"/services/{sid}/list", user=PROVIDER).status == 200
    assert featured_ids(api) == [sid]


def test_unfeaturing_takes_the_recommendation_back(api):
    approved_provider(api)
    sid = listed(api)["id"]
    assert feature(api, sid).status == 200
    reply = unfeature(api, sid)
    assert reply.status == 200 and reply.json["featured"] is False
    assert featured_ids(api) == []
    assert [c["featured"] for c in api.get("/services").json["items"]] == [False]
    again = unfeature(api, sid)  # nothing to take back: the same answer
    assert again.status == 200 and again.json["featured"] is False


def test_only_listed_services_are_featured_and_only_by_operators(api):
    approved_provider(api)
    sid = draft(api)["id"]
    refused = feature(api, sid)
    assert refused.status == 409 and refused.error_code == "SERVICE_NOT_LISTED"
    assert api.get(f"/services/{sid}", user=PROVIDER).json["featured"] is False
    assert feature(api, "svc_nope").status == 404
    live = listed(api, n=2)["id"]
    for user in (PROVIDER, "buyer-1"):
        reply = api.post(f"/admin/services/{live}/feature", user=user)
        assert reply.status == 403 and reply.error_code == "FORBIDDEN"
    assert featured_ids(api) == []
    twice = [feature(api, live, headers={"Idempotency-Key": "推荐-1"}) for _ in range(2)]
    assert [r.status for r in twice] == [200, 200]
    assert twice[1].headers.get("idempotent-replayed") == "true"
    assert feature(api, live).json["featured"] is True  # featuring again changes nothing
    assert featured_ids(api) == [live]
    bad = api.get("/services?featured=yes")
    assert bad.status == 422 and bad.error_code == "VALIDATION_FAILED"
