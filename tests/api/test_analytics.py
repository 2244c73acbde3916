"""Daily analytics: the counters the writes keep agree with the same figures recomputed
from the orders, the ledger, the inquiries and the reviews; every day of a range comes
back, zeros included, split on Beijing midnight; replays, sweeps run twice and races
never count twice."""
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib import clock, settings
from chalicelib.domain import analytics as rules
from chalicelib.domain.actors import Caller
from chalicelib.services import analytics, inquiries, orders
from chalicelib.storage import analytics as store
from tests.analytics_support import recomputed_market, recomputed_provider
from tests.api import orders_support as steps
from tests.api.review_support import provider
from tests.support import race

PROVIDER, OPERATOR = "provider-1", {"user": "op-1", "operator": True}
# 23:30 in Beijing on 1 December: an hour later it is the 2nd there (still the 1st in UTC).
LATE_EVENING = datetime(2026, 12, 1, 15, 30, tzinfo=timezone.utc)
DAYS = ["2026-11-30", "2026-12-01", "2026-12-02", "2026-12-03"]


def ok(reply):
    assert reply.status in (200, 201), reply
    return reply.json


def market(api, first=DAYS[0], last=DAYS[-1]):
    return ok(api.get(f"/admin/analytics/daily?from={first}&to={last}", **OPERATOR))["days"]


def mine(api, user=PROVIDER, first=DAYS[0], last=DAYS[-1]):
    return ok(api.get(f"/me/analytics/daily?from={first}&to={last}", user=user))["days"]


def paid(api, service_id, buyer, key=None):
    order_id = ok(steps.place(api, service_id, buyer=buyer))["id"]
    headers = {"Idempotency-Key": key} if key else {}
    ok(api.post(f"/orders/{order_id}/pay", user=buyer, headers=headers))
    return order_id


def ask(api, service_id, buyer, key=None):
    headers = {"Idempotency-Key": key} if key else {}
    return ok(api.post(f"/services/{service_id}/inquiries", {"body": "在吗？能加急吗"},
                       user=buyer, headers=headers))


def test_a_range_is_every_day_in_it_zeros_included(api):
    days = market(api, "2026-02-27", "2026-03-02")
    assert [d["day"] for d in days] == ["2026-02-27", "2026-02-28", "2026-03-01", "2026-03-02"]
    assert all(v == 0 for d in days for k, v in d.items() if k != "day")
    year = mine(api, first="2028-01-01", last="2028-12-31")  # a leap year: 366 days
    assert len(year) == 366 and year[0]["conversion"] is None


BAD_RANGES = [("from=2026-12-02&to=2026-12-01", "to"),
              ("from=2026-01-01&to=2027-01-02", "to"),  # 367 days
              ("from=2026-13-01&to=2026-12-01", "from"),
              ("to=2026-12-01", "from"),
              ("from=2026-12-01&to=tomorrow", "to")]


@pytest.mark.parametrize("aws", ["moto"], indirect=True)
def test_a_bad_range_is_refused_naming_the_field(api):
    for query, field in BAD_RANGES:
        for path, who in (("/admin/analytics/daily", OPERATOR),
                          ("/me/analytics/daily", {"user": PROVIDER})):
            reply = api.get(f"{path}?{query}", **who)
            assert reply.status == 422, (query, reply)
            assert reply.json["error"]["code"] == "VALIDATION_FAILED"
            assert field in str(reply.json["error"]["details"]), (query, reply.json)


@pytest.mark.parametrize("aws", ["moto"], indirect=True)
def test_only_operators_read_the_market(api):
    reply = api.get(f"/admin/analytics/daily?from={DAYS[0]}&to={DAYS[0]}", user=PROVIDER)
    assert reply.status == 403, reply


def test_the_counters_match_the_records_day_by_day(api, monkeypatch):
    monkeypatch.setenv("PLATFORM_FEE_BPS", "1000")  # 10 %
    settings.reload()
    clock.set_now(LATE_EVENING)
    provider(PROVIDER)
    service_id = steps.listed_service()
    ask(api, service_id, "buyer-1")
    ask(api, service_id, "buyer-1")  # two inquiries, one inquiring buyer
    ask(api, service_id, "buyer-2")
    done = paid(api, service_id, "buyer-1")  # inquired and paid the same day: converted
    ok(api.post(f"/orders/{done}/accept", user=PROVIDER))
    clock.advance(3600)  # Beijing midnight has passed
    ok(steps.deliver(api, done))
    ok(api.post(f"/orders/{done}/approve", user="buyer-1"))
    ok(api.post(f"/orders/{done}/reviews", {"rating": "good", "comment": "很满意"},
                user="buyer-1"))
    rejected = paid(api, service_id, "buyer-3")  # paid without asking first
    ok(api.post(f"/orders/{rejected}/reject", {"reason": "档期已满"}, user=PROVIDER))
    disputed = paid(api, service_id, "buyer-2")  # asked yesterday, paid today: not converted
    ok(api.post(f"/orders/{disputed}/dispute", {"reason": "迟迟不联系"}, user="buyer-2"))
    ok(api.post(f"/admin/orders/{disputed}/resolve",
                {"refund": 20000, "release": 30000, "note": "各退一步", "fault": "none"},
                **OPERATOR))

    got = market(api)
    assert got == recomputed_market(DAYS)
    first, second = got[1], got[2]  # in numbers a person can check
    assert (first["inquiries"], first["orders_placed"], first["orders_paid"],
            first["funded"]) == (3, 1, 1, 50000)
    assert (second["orders_placed"], second["orders_paid"], second["orders_completed"],
            second["disputes_opened"], second["funded"], second["refunded"]) == (
        2, 2, 1, 1, 100000, 70000)
    assert (second["released"], second["platform_revenue"]) == (80000, 8000)
    assert got[0] == {"day": DAYS[0], **{f: 0 for f in rules.MARKET_FIELDS}}

    shop = mine(api)
    assert shop == recomputed_provider(PROVIDER, DAYS)
    assert (shop[1]["inquiries"], shop[1]["inquiring_buyers"], shop[1]["paying_buyers"],
            shop[1]["conversion"]) == (3, 2, 1, 0.5)
    assert (shop[2]["inquiring_buyers"], shop[2]["paying_buyers"], shop[2]["conversion"],
            shop[2]["good_reviews"]) == (0, 2, None, 1)
    assert shop[2]["released"] == 72000  # earned: what was released less the fee
    assert mine(api, user="buyer-1")[1]["inquiries"] == 0  # only one's own shop


def test_replays_and_sweeps_run_twice_count_once(api):
    clock.set_now(LATE_EVENING + timedelta(hours=2))
    provider(PROVIDER)
    service_id = steps.listed_service()
    for _ in range(2):  # the same request twice under one key: one inquiry
        ask(api, service_id, "buyer-1", key="ask-once")
    order_id = ok(steps.place(api, service_id, buyer="buyer-1"))["id"]
    for _ in range(2):
        ok(api.post(f"/orders/{order_id}/pay", user="buyer-1",
                    headers={"Idempotency-Key": "pay-once"}))
    ok(api.post(f"/orders/{order_id}/accept", user=PROVIDER))
    ok(steps.deliver(api, order_id))
    clock.advance(30 * 24 * 3600)  # long past the review window: the sweep approves
    for job in ("sweep_timeouts", "sweep_timeouts", "release_escrow", "release_escrow"):
        api.invoke(job)
    assert ok(api.get(f"/orders/{order_id}", user="buyer-1"))["status"] == "completed"
    days = [rules.day_of(LATE_EVENING + timedelta(hours=2)), rules.day_of(clock.now())]
    got = [market(api, d, d)[0] for d in days]
    assert got == [recomputed_market([d])[0] for d in days]
    assert (got[0]["inquiries"], got[0]["orders_paid"], got[1]["orders_completed"]) == (1, 1, 1)
    assert got[0]["funded"] == got[1]["released"] == 50000
    shop = mine(api, first=days[0], last=days[0])[0]
    assert (shop["inquiring_buyers"], shop["paying_buyers"], shop["conversion"]) == (1, 1, 1.0)


@pytest.mark.parametrize("aws", ["moto"], indirect=True)
def test_a_year_is_read_in_a_few_queries_whatever_its_length(api, monkeypatch):
    calls = []
    original = store.M.query

    def counting(*args, **kwargs):
        calls.append(args[0])
        return original(*args, **kwargs)

    monkeypatch.setattr(store.M, "query", counting)
    assert len(mine(api, first="2026-01-01", last="2026-12-31")) == 365
    assert len(calls) == store.SHARDS


@pytest.mark.parametrize("aws", ["dynamodb_local"], indirect=True)
def test_one_buyer_asking_twice_at_once_is_one_inquiring_buyer(aws):
    """Two inquiries of one buyer at the same instant both read no mark; one transaction
    is refused on the mark, decides again, and counts the inquiry but not the buyer."""
    provider(PROVIDER)
    service_id = steps.listed_service()
    buyer = Caller("buyer-1")
    results = race(*[lambda: inquiries.open_inquiry(buyer, service_id, body="在吗？",
                                                    now=clock.now()) for _ in range(3)])
    assert all(isinstance(r, dict) for r in results), results
    today = rules.day_of(clock.now())
    shop = analytics.provider_daily(PROVIDER, today, today)["days"]
    assert shop == recomputed_provider(PROVIDER, [today])
    assert (shop[0]["inquiries"], shop[0]["inquiring_buyers"]) == (3, 1)
    assert analytics.market_daily(today, today)["days"][0]["inquiries"] == 3


@pytest.mark.parametrize("aws", ["dynamodb_local"], indirect=True)
def test_one_buyer_paying_three_orders_at_once_is_one_paying_buyer(aws):
    """Three pays of one buyer with one provider at the same instant: three orders paid,
    one paying buyer (the pays refused on the buyer's mark decide again and see it)."""
    provider(PROVIDER)
    service_id = steps.listed_service()
    buyer = Caller("buyer-1")
    due_at = clock.now() + timedelta(days=10)
    placed = [orders.place_order(buyer, service_id=service_id, requirement="双十一首页",
                                 due_at=due_at, price=None, milestones=None,
                                 now=clock.now())["id"] for _ in range(3)]
    results = race(*[lambda o=o: orders.pay_order(buyer, o, clock.now()) for o in placed])
    assert all(isinstance(r, dict) for r in results), results
    today = rules.day_of(clock.now())
    shop = analytics.provider_daily(PROVIDER, today, today)["days"]
    assert shop == recomputed_provider(PROVIDER, [today])
    assert (shop[0]["orders_paid"], shop[0]["paying_buyers"]) == (3, 1)
    market = analytics.market_daily(today, today)["days"]
    assert market == recomputed_market([today]) and market[0]["funded"] == 150000
