"""上架 and 下架: the listing rules in the contract's order, the 10-slot limit under a
race, duplicate listings, trial listings and the campaign-end sweep."""
import threading
from datetime import timedelta

import pytest

from chalicelib import clock
from chalicelib.domain.actors import Caller
from chalicelib.domain.errors import ListingLimitReached
from chalicelib.services import catalog
from chalicelib.storage.catalog import ProviderModel
from tests.api.catalog_support import (OPERATOR, PROVIDER, PROVIDER_2, approved_provider, draft,
                                       listed, service_body, with_logo)


def list_(api, sid, body=None, user=PROVIDER):
    return api.post(f"/services/{sid}/list", body or {}, user=user)


def profile(api, user=PROVIDER):
    return api.get("/providers/me", user=user).json


def campaign(api, *, starts=-1, ends=24, max_price=100, name="新店体验季"):
    now = clock.now()
    reply = api.post("/admin/campaigns", {
        "name": name, "starts_at": clock.to_iso(now + timedelta(hours=starts)),
        "ends_at": clock.to_iso(now + timedelta(hours=ends)), "max_price": max_price},
        user=OPERATOR, operator=True)
    assert reply.status == 201, reply
    return reply.json["id"]


def test_listing_sets_status_and_counts_a_slot(api):
    approved_provider(api)
    s = draft(api)
    with_logo(api, s["id"])
    reply = list_(api, s["id"])
    assert reply.status == 200
    assert reply.json["status"] == "listed" and reply.json["listed_at"]
    assert profile(api)["listed_count"] == 1
    again = list_(api, s["id"])
    assert again.status == 409 and again.error_code == "INVALID_STATE"
    assert profile(api)["listed_count"] == 1


def test_only_the_owner_lists(api):
    approved_provider(api)
    approved_provider(api, PROVIDER_2)
    s = draft(api)
    with_logo(api, s["id"])
    assert list_(api, s["id"], user=PROVIDER_2).status == 404
    assert api.post(f"/services/{s['id']}/list", {}, user=OPERATOR, operator=True).status == 403
    assert api.post(f"/services/{s['id']}/list", {}).status == 401
    assert list_(api, "svc_missing").status == 404


def test_rule_1_approval_comes_before_completeness(api):
    approved_provider(api)
    s = draft(api)  # no logo: rule 2 would fail too
    api.post(f"/admin/providers/{PROVIDER}/suspend", {"reason": "资质过期"}, user=OPERATOR,
             operator=True)
    reply = list_(api, s["id"])
    assert reply.status == 403 and reply.error_code == "PROVIDER_NOT_APPROVED"


def test_rule_2_missing_logo_and_invalid_fields(api):
    approved_provider(api)
    s = draft(api)
    reply = list_(api, s["id"])
    assert reply.status == 422 and reply.error_code == "SERVICE_INCOMPLETE"
    assert reply.json["error"]["details"]["missing"] == ["logo"]
    # A field made invalid behind the API's back (e.g. a retired category) is caught too.
    from chalicelib.storage.catalog import ServiceModel
    ServiceModel(s["id"]).update(actions=[ServiceModel.category.set("retired")])
    with_logo(api, s["id"])
    reply = list_(api, s["id"])
    assert reply.status == 422 and reply.json["error"]["details"]["missing"] == ["category"]


def test_rule_3_ten_listed_services_at_most(api):
    approved_provider(api)
    for i in range(10):
        listed(api, n=i)
    eleventh = draft(api, n=10)
    with_logo(api, eleventh["id"])
    reply = list_(api, eleventh["id"])
    assert reply.status == 409 and reply.error_code == "LISTING_LIMIT_REACHED"
    assert profile(api)["listed_count"] == 10


def test_rule_3_comes_before_rule_4(api):
    approved_provider(api)
    first = [listed(api, n=i) for i in range(10)]
    copy = draft(api, n=11, title=first[0]["title"])
    with_logo(api, copy["id"])
    assert list_(api, copy["id"]).error_code == "LISTING_LIMIT_REACHED"


def test_delisting_frees_a_slot(api):
    approved_provider(api)
    services = [listed(api, n=i) for i in range(10)]
    eleventh = draft(api, n=10)
    with_logo(api, eleventh["id"])
    delisted = api.post(f"/services/{services[3]['id']}/delist", user=PROVIDER)
    assert delisted.status == 200 and delisted.json["status"] == "delisted"
    assert profile(api)["listed_count"] == 9
    assert list_(api, eleventh["id"]).status == 200
    assert profile(api)["listed_count"] == 10


def test_rule_4_same_normalized_title(api):
    approved_provider(api)
    first = listed(api, n=0, title="LOGO 设计！")
    copy = draft(api, n=5, title="ｌｏｇｏ设计")  # different text, same normalized title
    with_logo(api, copy["id"])
    reply = list_(api, copy["id"])
    assert reply.status == 409 and reply.error_code == "DUPLICATE_LISTING"
    assert reply.json["error"]["details"]["duplicate_of"] == first["id"]
    # Once the first is delisted its title guard is released.
    api.post(f"/services/{first['id']}/delist", user=PROVIDER)
    assert list_(api, copy["id"]).status == 200


def test_rule_4_nearly_identical_text(api):
    approved_provider(api)
    first = listed(api, n=0)
    body = service_body(0)
    near = draft(api, n=0, title="旗舰店铺装修（新）", content=body["content"] + "。")
    with_logo(api, near["id"])
    reply = list_(api, near["id"])
    assert reply.status == 409 and reply.error_code == "DUPLICATE_LISTING"
    assert reply.json["error"]["details"]["duplicate_of"] == first["id"]
    different = draft(api, n=3)
    with_logo(api, different["id"])
    assert list_(api, different["id"]).status == 200


def test_same_title_by_another_provider_is_fine(api):
    approved_provider(api)
    approved_provider(api, PROVIDER_2)
    listed(api, PROVIDER, n=0)
    assert listed(api, PROVIDER_2, n=0)["status"] == "listed"


def test_delist_by_owner_and_operator_only(api):
    approved_provider(api)
    approved_provider(api, PROVIDER_2)
    s = listed(api)
    other = api.post(f"/services/{s['id']}/delist", user=PROVIDER_2)
    assert other.status == 403  # visible, but not theirs
    by_op = api.post(f"/services/{s['id']}/delist", user=OPERATOR, operator=True)
    assert by_op.status == 200 and by_op.json["status"] == "delisted"
    again = api.post(f"/services/{s['id']}/delist", user=PROVIDER)
    assert again.status == 409 and again.error_code == "INVALID_STATE"
    assert api.post(f"/services/{s['id']}/delist", user=PROVIDER_2).status == 404
    assert profile(api)["listed_count"] == 0
    notes = api.get("/me/notifications", user=PROVIDER).json["items"]
    assert any(n.get("service_id") == s["id"] for n in notes)


# --- trial listings -----------------------------------------------------------
def test_trial_listing_is_outside_the_ten(api):
    approved_provider(api)
    cid = campaign(api)
    for i in range(10):
        listed(api, n=i)
    trial = draft(api, n=10, price=100)
    with_logo(api, trial["id"])
    reply = list_(api, trial["id"], {"campaign_id": cid})
    assert reply.status == 200, reply
    assert reply.json["trial_campaign_id"] == cid
    me = profile(api)
    assert me["listed_count"] == 10 and me["trial_listed_count"] == 1


def test_trial_price_and_campaign_rules(api):
    approved_provider(api)
    cid = campaign(api, max_price=100)
    dear = draft(api, n=0, price=101)
    with_logo(api, dear["id"])
    reply = list_(api, dear["id"], {"campaign_id": cid})
    assert reply.status == 422 and reply.error_code == "TRIAL_PRICE_TOO_HIGH"
    future = campaign(api, starts=2, ends=24, name="双十二预热")
    cheap = draft(api, n=1, price=100)
    with_logo(api, cheap["id"])
    reply = list_(api, cheap["id"], {"campaign_id": future})
    assert reply.status == 409 and reply.error_code == "CAMPAIGN_NOT_ACTIVE"
    assert list_(api, cheap["id"], {"campaign_id": "cmp_nope"}).status == 404


def test_one_trial_slot_per_campaign_even_after_delisting(api):
    approved_provider(api)
    cid = campaign(api)
    first = draft(api, n=0, price=100)
    with_logo(api, first["id"])
    assert list_(api, first["id"], {"campaign_id": cid}).status == 200
    second = draft(api, n=1, price=50)
    with_logo(api, second["id"])
    reply = list_(api, second["id"], {"campaign_id": cid})
    assert reply.status == 409 and reply.error_code == "TRIAL_SLOT_USED"
    api.post(f"/services/{first['id']}/delist", user=PROVIDER)
    assert profile(api)["trial_listed_count"] == 0
    again = list_(api, second["id"], {"campaign_id": cid})
    assert again.status == 409 and again.error_code == "TRIAL_SLOT_USED"
    # A regular listing of the same service is still fine.
    assert list_(api, second["id"]).json["trial_campaign_id"] is None


def test_the_sweep_delists_trials_of_ended_campaigns(api):
    approved_provider(api)
    approved_provider(api, PROVIDER_2)
    cid = campaign(api, ends=1)
    trial = listed(api, n=0, price=100, list_body={"campaign_id": cid})
    regular = listed(api, n=1)
    other = listed(api, PROVIDER_2, n=2, price=90, list_body={"campaign_id": cid})
    assert catalog.delist_trial_services_of_ended_campaigns(clock.now())["delisted"] == 0

    clock.advance(2 * 3600)
    report = catalog.delist_trial_services_of_ended_campaigns(clock.now())
    assert report["delisted"] == 2
    assert api.get(f"/services/{trial['id']}", user=PROVIDER).json["status"] == "delisted"
    assert api.get(f"/services/{other['id']}", user=PROVIDER_2).json["status"] == "delisted"
    assert api.get(f"/services/{regular['id']}").json["status"] == "listed"
    assert profile(api)["trial_listed_count"] == 0 and profile(api)["listed_count"] == 1
    assert api.get("/campaigns").json["items"] == []
    # Twice is harmless, and the swept campaign drops out of later sweeps.
    again = catalog.delist_trial_services_of_ended_campaigns(clock.now())
    assert again == {"campaigns": 0, "delisted": 0, "more": False}


# --- the tenth slot under a race ---------------------------------------------------
def test_two_racing_listings_for_the_tenth_slot(api, aws):
    if aws != "dynamodb_local":
        pytest.skip("moto never raises TransactionConflict; the race needs DynamoDB Local")
    approved_provider(api)
    for i in range(9):
        listed(api, n=i)
    contenders = []
    for n in (20, 21):
        s = draft(api, n=n)
        with_logo(api, s["id"])
        contenders.append(s["id"])
    caller, now = Caller(PROVIDER), clock.now()
    start, outcomes = threading.Barrier(2), []

    def attempt(sid):
        start.wait()
        try:
            catalog.list_service(caller, sid, now)
            outcomes.append("listed")
        except ListingLimitReached:
            outcomes.append("limit")

    threads = [threading.Thread(target=attempt, args=(sid,)) for sid in contenders]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["limit", "listed"]
    assert ProviderModel.get(PROVIDER, consistent_read=True).listed_count == 10
    statuses = [api.get(f"/services/{sid}", user=PROVIDER).json["status"] for sid in contenders]
    assert sorted(statuses) == ["draft", "listed"]
