"""Contracts over HTTP: terms, signing, the deposit through the gateway, go-live,
statements through the sweep, payment, termination and the deposit returned."""
from tests.api.contracts_support import (BUYER, OPERATOR, PROVIDER, at_beijing, draft, live,
                                         signed, statements, sweep, terms)
from tests.api.orders_support import ledger_clean
from tests.support import BUYER_2


def test_bad_terms_name_the_field(api):
    from tests.api.orders_support import listed_service
    reply = api.post("/contracts", {"service_id": listed_service(), "requirement": "客服",
                                    "terms": terms(commission_bps=20000)}, user=BUYER)
    assert reply.status == 422
    assert [e["field"] for e in reply.json["error"]["details"]["errors"]] == [
        "terms.commission_bps"]


def test_terms_signatures_and_contract_signed(api):
    contract = draft(api)
    cid = contract["id"]
    assert contract["status"] == "draft" and contract["signed_by"] == []
    assert contract["allowed_actions"] == ["terms", "sign", "terminate"]
    assert api.post(f"/contracts/{cid}/sign", user=PROVIDER).json["signed_by"] == ["provider"]
    # An edit clears the signature already given.
    edited = api.put(f"/contracts/{cid}/terms", {"terms": terms(base=320000)}, user=BUYER)
    assert edited.status == 200 and edited.json["signed_by"] == []
    assert edited.json["terms"]["base"] == 320000
    assert api.post(f"/contracts/{cid}/sign", user=BUYER).json["signed_by"] == ["buyer"]
    again = api.post(f"/contracts/{cid}/sign", user=BUYER)
    assert again.status == 409 and again.error_code == "INVALID_TRANSITION"
    both = api.post(f"/contracts/{cid}/sign", user=PROVIDER)
    assert both.json["status"] == "awaiting_deposit" and both.json["status_label"] == "待付定金"
    late = api.put(f"/contracts/{cid}/terms", {"terms": terms()}, user=PROVIDER)
    assert late.status == 409 and late.error_code == "CONTRACT_SIGNED"


def test_no_deposit_goes_straight_to_onboarding(api):
    assert signed(api, deposit=0)["status"] == "onboarding"


def test_strangers_see_nothing_and_operators_read(api):
    cid = draft(api)["id"]
    assert api.get(f"/contracts/{cid}", user=BUYER_2).status == 404
    assert api.post(f"/contracts/{cid}/sign", user=BUYER_2).status == 404
    assert api.get(f"/contracts/{cid}/statements", user=BUYER_2).status == 404
    seen = api.get(f"/contracts/{cid}", user=OPERATOR, operator=True)
    assert seen.status == 200 and seen.json["allowed_actions"] == []
    assert api.post(f"/contracts/{cid}/go-live", user=PROVIDER).status == 403  # not the buyer
    assert api.get("/contracts", user=BUYER).json["items"][0]["id"] == cid
    assert api.get("/contracts?as=provider", user=PROVIDER).json["items"][0]["id"] == cid
    assert api.get("/contracts", user=BUYER_2).json["items"] == []


def test_cancelled_before_go_live_returns_the_deposit(api):
    contract = signed(api)
    cid = contract["id"]
    paid = api.post(f"/contracts/{cid}/pay", user=BUYER)
    assert paid.json["payment"]["status"] == "succeeded"
    assert paid.json["deposit"] == {"paid": 100000, "held": 100000, "used": 0, "returned": 0}
    gone = api.post(f"/contracts/{cid}/terminate", {"reason": "培训不合格"}, user=BUYER)
    assert gone.json["status"] == "cancelled"
    assert gone.json["deposit"] == {"paid": 100000, "held": 0, "used": 0, "returned": 100000}
    ledger_clean(api)


def test_the_worked_example_from_terms_to_ended(api):
    contract = live(api, "2027-01-16")
    cid = contract["id"]
    assert contract["status"] == "trial" and contract["live_on"] == "2027-01-16"
    assert contract["deadlines"] == {"trial_ends_on": "2027-01-22",
                                     "next_statement_on": "2027-01-23"}
    at_beijing("2027-01-23", 0)
    sweep(api)
    again = sweep(api)  # idempotent: nothing more to do
    assert again["moved"] == 0
    assert api.get(f"/contracts/{cid}", user=BUYER).json["status"] == "active"
    [trial] = statements(api, cid)
    assert (trial["kind"], trial["status"], trial["base"]) == ("trial", "open", 50000)
    sid = trial["id"]
    submitted = api.post(f"/contracts/{cid}/statements/{sid}/submit",
                         {"sales": 0, "kpis": {"响应时间": "25秒"}}, user=PROVIDER)
    assert submitted.status == 200 and submitted.json["amount"] == 50000, submitted
    payable = api.post(f"/contracts/{cid}/statements/{sid}/confirm", user=BUYER)
    assert payable.json["status"] == "payable"
    paid = api.post(f"/contracts/{cid}/statements/{sid}/pay", user=BUYER)
    assert paid.json["status"] == "paid" and paid.json["payment"]["status"] == "succeeded"
    # January's rest: 9 of 31 days, plus 2 % of 1,000,000 sales.
    at_beijing("2027-02-01", 1)
    sweep(api)
    jan = statements(api, cid)[1]
    assert (jan["period_start"], jan["period_end"], jan["base"]) == ("2027-01-23", "2027-01-31",
                                                                     90000)
    sub = api.post(f"/contracts/{cid}/statements/{jan['id']}/submit",
                   {"sales": 1000000}, user=PROVIDER)
    assert sub.json["amount"] == 110000 and sub.json["commission"] == 20000
    api.post(f"/contracts/{cid}/statements/{jan['id']}/confirm", user=BUYER)
    api.post(f"/contracts/{cid}/statements/{jan['id']}/pay", user=BUYER)
    # Terminated on 03-10: ends 03-20; February opens 03-01, March (cut) 03-21.
    at_beijing("2027-03-10")
    sweep(api)
    ending = api.post(f"/contracts/{cid}/terminate", {"reason": "店铺转型"}, user=BUYER)
    assert ending.json["status"] == "ending" and ending.json["ends_on"] == "2027-03-20"
    at_beijing("2027-03-21", 1)
    sweep(api)
    body = api.get(f"/contracts/{cid}", user=BUYER).json
    assert body["status"] == "ended"
    items = statements(api, cid)
    assert [(s["period_start"], s["period_end"], s["base"]) for s in items[2:]] == [
        ("2027-02-01", "2027-02-28", 310000), ("2027-03-01", "2027-03-20", 200000)]
    feb, mar = items[2], items[3]
    # February opened when the sweep first ran in March (03-10); nobody submitted it by
    # its submit_by, so the sweep did, with no sales.
    assert (feb["status"], feb["sales"], feb["amount"]) == ("submitted", 0, 310000)
    assert mar["status"] == "open"
    sub = api.post(f"/contracts/{cid}/statements/{mar['id']}/submit", {"sales": 1000000},
                   user=PROVIDER)
    assert sub.json["amount"] == 220000  # 20 of 31 days' base, the whole commission
    for s in (feb, mar):
        assert api.post(f"/contracts/{cid}/statements/{s['id']}/confirm",
                        user=BUYER).json["status"] == "payable"
    assert body["deposit"]["held"] == 100000
    api.post(f"/contracts/{cid}/statements/{feb['id']}/pay", user=BUYER)
    done = api.post(f"/contracts/{cid}/statements/{mar['id']}/pay", user=BUYER)
    assert done.json["amount"] == 220000
    final = api.get(f"/contracts/{cid}", user=BUYER).json
    assert final["deposit"] == {"paid": 100000, "held": 0, "used": 0, "returned": 100000}
    assert final["owed"] == 0
    ledger_clean(api)
