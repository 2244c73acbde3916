"""Trial campaigns: operators create them, anybody sees the active ones."""
from datetime import timedelta

from chalicelib import clock
from tests.api.catalog_support import BUYER, OPERATOR


def body(starts_h=-1, ends_h=24, **changes):
    now = clock.now()
    return {"name": "新店体验季", "starts_at": clock.to_iso(now + timedelta(hours=starts_h)),
            "ends_at": clock.to_iso(now + timedelta(hours=ends_h)), "max_price": 100, **changes}


def create(api, **kw):
    return api.post("/admin/campaigns", body(**kw), user=OPERATOR, operator=True)


def test_operator_creates_a_campaign(api):
    reply = create(api)
    assert reply.status == 201
    c = reply.json
    assert c["name"] == "新店体验季" and c["max_price"] == 100 and c["active"] is True
    assert c["id"].startswith("cmp_") and c["ends_at"].endswith("+00:00")


def test_only_operators_create_campaigns(api):
    assert api.post("/admin/campaigns", body(), user=BUYER).status == 403
    assert api.post("/admin/campaigns", body()).status == 401


def test_campaign_fields_are_checked(api):
    bad = create(api, starts_h=5, ends_h=5)
    assert bad.status == 422 and bad.json["error"]["details"]["errors"][0]["field"] == "ends_at"
    assert create(api, starts_h=5, ends_h=4).status == 422
    assert create(api, max_price=0).status == 422
    assert create(api, name="").status == 422
    assert create(api, starts_at="tomorrow").status == 422
    assert create(api, starts_at="2026-12-01T00:00:00").status == 422  # no offset


def test_public_list_shows_only_active_campaigns(api):
    running = create(api, starts_h=-1, ends_h=2).json["id"]
    later = create(api, starts_h=3, ends_h=30, name="双十二预热").json["id"]
    create(api, starts_h=-5, ends_h=-1, name="已结束")
    assert [c["id"] for c in api.get("/campaigns").json["items"]] == [running]
    clock.advance(4 * 3600)  # running has ended (exclusive end), later has started
    reply = api.get("/campaigns")
    assert [c["id"] for c in reply.json["items"]] == [later]
    assert reply.json["next_cursor"] is None


def test_campaigns_not_started_yet_are_read_a_bounded_page_at_a_time(api, monkeypatch):
    from chalicelib.storage import base

    monkeypatch.setattr(base, "READ_BUDGET", 3)
    for hours in range(1, 8):
        assert create(api, starts_h=hours, ends_h=hours + 24).status == 201
    running = create(api, starts_h=-1, ends_h=100).json["id"]
    seen, cursor, requests = [], None, 0
    while True:
        reply = api.get("/campaigns" + (f"?cursor={cursor}" if cursor else ""))
        assert reply.status == 200, reply
        seen += [c["id"] for c in reply.json["items"]]
        requests += 1
        cursor = reply.json["next_cursor"]
        if not cursor:
            break
    assert seen == [running] and requests >= 3


def test_operators_see_upcoming_campaigns_as_soon_as_they_are_created(api):
    running = create(api, starts_h=-1, ends_h=2).json["id"]
    upcoming = create(api, starts_h=3, ends_h=30, name="双十二预热")
    assert upcoming.json["phase"] == "upcoming" and upcoming.json["active"] is False
    create(api, starts_h=-5, ends_h=-1, name="已结束")
    listed = api.get("/admin/campaigns", user=OPERATOR, operator=True).json["items"]
    assert [(c["id"], c["phase"]) for c in listed] == [(running, "active"),
                                                       (upcoming.json["id"], "upcoming")]
    # The public list still shows only what runs now.
    assert [c["id"] for c in api.get("/campaigns").json["items"]] == [running]
    assert api.get("/admin/campaigns", user=BUYER).status == 403
    assert api.get("/admin/campaigns").status == 401
    clock.advance(4 * 3600)
    listed = api.get("/admin/campaigns", user=OPERATOR, operator=True).json["items"]
    assert [(c["id"], c["phase"]) for c in listed] == [(upcoming.json["id"], "active")]
