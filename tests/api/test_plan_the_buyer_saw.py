"""The plan a buyer pays is the plan the buyer saw (issue 21): deposits capped at
DEPOSIT_MAX_BPS, no price or plan change while a payment is open at the gateway, a
confirmation for a superseded plan refunded once, and price notices that state the plan.

The attack replayed: on a negotiable order the provider re-posts the same amount with
99,999 of 100,000 fen on_accept while the buyer's Alipay payment is open."""
import pytest

from chalicelib import clock
from chalicelib.domain.actors import Caller
from chalicelib.domain.errors import PlanChanged
from chalicelib.payments import records
from chalicelib.services import orders
from chalicelib.storage.orders import OrderModel
from tests.support import fresh_sandbox
from tests.api.alipay_support import notify
from tests.api.orders_support import (BUYER, OPERATOR, PROVIDER, ledger_clean, listed_service,
                                      place)

AMOUNT = 100000
HONEST_PLAN = [{"title": "首页", "amount": 50000, "release": "on_approval"},
               {"title": "详情页", "amount": 50000, "release": "on_approval"}]
RUG_PULL = [{"title": "定金", "amount": 99999, "release": "on_accept"},
            {"title": "尾款", "amount": 1, "release": "on_approval"}]


def negotiable(api, milestones=HONEST_PLAN):
    sid = listed_service(pricing="negotiable", price=AMOUNT, title="全店装修")
    reply = place(api, sid, milestones=milestones)
    assert reply.status == 201, reply
    return reply.json


def notices(api, user, kind):
    return [n["text"] for n in api.get("/me/notifications?limit=100", user=user).json["items"]
            if n["kind"] == kind]


# --- the deposit cap ------------------------------------------------------------------
def test_deposits_beyond_thirty_percent_are_refused_naming_the_field(api):
    sid = listed_service(pricing="negotiable", price=AMOUNT)
    refused = place(api, sid, milestones=RUG_PULL)
    assert refused.status == 422 and refused.json["error"]["code"] == "VALIDATION_FAILED"
    problem = refused.json["error"]["details"]["errors"][0]
    assert problem["field"] == "milestones" and problem["max_deposit"] == 30000
    at_the_cap = [{"title": "定金", "amount": 30000, "release": "on_accept"},
                  {"title": "尾款", "amount": 70000, "release": "on_approval"}]
    oid = place(api, sid, milestones=at_the_cap).json["id"]
    over = [{"title": "定金", "amount": 30001, "release": "on_accept"},
            {"title": "尾款", "amount": 69999, "release": "on_approval"}]
    changed = api.post(f"/orders/{oid}/price", {"amount": AMOUNT, "milestones": over},
                       user=PROVIDER)
    assert changed.status == 422
    assert changed.json["error"]["details"]["errors"][0]["field"] == "milestones"


def test_the_cap_is_a_setting(api, monkeypatch):
    from chalicelib import settings

    monkeypatch.setenv("DEPOSIT_MAX_BPS", "5000")
    settings.reload()
    try:
        sid = listed_service(pricing="negotiable", price=AMOUNT)
        half = [{"title": "定金", "amount": 50000, "release": "on_accept"},
                {"title": "尾款", "amount": 50000, "release": "on_approval"}]
        assert place(api, sid, milestones=half).status == 201
    finally:
        monkeypatch.delenv("DEPOSIT_MAX_BPS")
        settings.reload()


# --- the attack, on Alipay: no change while the buyer is paying -------------------------
def test_the_providers_rewrite_while_the_buyer_pays_is_refused(api, alipay):
    order = negotiable(api)
    oid = order["id"]
    paying = api.post(f"/orders/{oid}/pay", {"plan_version": order["plan_version"]}, user=BUYER)
    assert paying.json["payment"]["status"] == "pending"
    assert alipay.open(paying.json["payment"]["redirect_url"])[0] == 200
    seen = api.get(f"/orders/{oid}", user=BUYER).json
    assert seen["payment_pending"] is True and "price" not in seen["allowed_actions"]

    for plan in (RUG_PULL, HONEST_PLAN[::-1]):  # the rewrite, or any other plan
        rewrite = api.post(f"/orders/{oid}/price", {"amount": AMOUNT, "milestones": plan},
                           user=PROVIDER)
        assert rewrite.status == 409 and rewrite.json["error"]["code"] == "PAYMENT_PENDING"
    buyer_counter = api.post(f"/orders/{oid}/price", {"amount": 1}, user=BUYER)
    assert buyer_counter.json["error"]["code"] == "PAYMENT_PENDING"

    alipay.pay(oid)
    assert notify(api, alipay.notification(oid)).raw == b"success"
    paid = api.get(f"/orders/{oid}", user=BUYER).json
    assert paid["status"] == "awaiting_provider" and paid["plan_version"] == 1
    assert [(m["amount"], m["release"]) for m in paid["milestones"]] == [
        (50000, "on_approval"), (50000, "on_approval")]
    accepted = api.post(f"/orders/{oid}/accept", user=PROVIDER).json
    assert accepted["escrow"] == {"funded": AMOUNT, "released": 0, "refunded": 0,
                                  "held": AMOUNT}  # nothing reached the provider early
    ledger_clean(api)


def test_a_plan_change_gets_a_new_version_and_a_pay_naming_the_old_one_is_refused(api):
    fresh_sandbox()
    order = negotiable(api)
    oid = order["id"]
    new_plan = [{"title": "定金", "amount": 30000, "release": "on_accept"},
                {"title": "尾款", "amount": 70000, "release": "on_approval"}]
    changed = api.post(f"/orders/{oid}/price", {"amount": AMOUNT, "milestones": new_plan},
                       user=PROVIDER).json
    assert changed["plan_version"] == 2 and changed["price_agreed"] is True
    stale = api.post(f"/orders/{oid}/pay", {"plan_version": 1}, user=BUYER)
    assert stale.status == 409 and stale.json["error"]["code"] == "PLAN_CHANGED"
    assert stale.json["error"]["details"]["plan_version"] == 2
    assert api.get(f"/orders/{oid}", user=BUYER).json["escrow"]["funded"] == 0
    assert api.post(f"/orders/{oid}/pay", {"plan_version": 2}, user=BUYER).status == 200


def test_every_price_notice_states_the_plan(api):
    order = negotiable(api)
    oid = order["id"]
    placed = notices(api, PROVIDER, "order_placed")
    assert "首页 ¥500.00（验收后结算）" in placed[0]
    new_plan = [{"title": "定金", "amount": 30000, "release": "on_accept"},
                {"title": "尾款", "amount": 70000, "release": "on_approval"}]
    api.post(f"/orders/{oid}/price", {"amount": AMOUNT, "milestones": new_plan}, user=PROVIDER)
    told = notices(api, BUYER, "price_changed")[0]
    assert "定金 ¥300.00（接单时结算）" in told and "尾款 ¥700.00（验收后结算）" in told
    event = api.get(f"/orders/{oid}/events", user=BUYER).json["items"][-1]
    assert event["type"] == "price_changed" and event["data"]["plan_version"] == 2
    assert [s["release"] for s in event["data"]["plan"]] == ["on_accept", "on_approval"]


# --- a confirmation for a superseded plan funds nothing and is refunded once ------------
def test_a_confirmation_for_a_superseded_plan_is_refunded_once(api):
    sandbox = fresh_sandbox()
    order = negotiable(api)
    oid = order["id"]
    new_plan = [{"title": "定金", "amount": 30000, "release": "on_accept"},
                {"title": "尾款", "amount": 70000, "release": "on_approval"}]
    api.post(f"/orders/{oid}/price", {"amount": AMOUNT, "milestones": new_plan}, user=PROVIDER)
    # The gateway confirms a payment started for plan 1 (a race the commit refuses).
    for _ in range(2):
        with pytest.raises(PlanChanged):
            orders.confirm_funding(oid, "gw-old-plan", AMOUNT, clock.now(), payment_id=oid,
                                   plan_version=1)
    assert [(k, v[1], v[2]) for k, v in sandbox.refunds.items()] == [
        (f"{oid}:refund:void", "gw-old-plan", AMOUNT)]
    after = orders.get_order(Caller(BUYER), oid)
    assert after["status"] == "awaiting_payment" and after["plan_version"] == 2
    assert after["escrow"] == {"funded": AMOUNT, "released": 0, "refunded": AMOUNT, "held": 0}
    assert records.get(oid).status == "voided"
    assert [n for n in notices(api, BUYER, "refunded") if "付款计划已变更" in n]
    # The buyer pays the plan they now see, as a new trade.
    paid = api.post(f"/orders/{oid}/pay", {"plan_version": 2}, user=BUYER).json
    assert paid["status"] == "awaiting_provider"
    assert paid["escrow"] == {"funded": 2 * AMOUNT, "released": 0, "refunded": AMOUNT,
                              "held": AMOUNT}
    assert records.get(f"{oid}_p2").status == "paid"
    ledger_clean(api)
    # Two payments of one order, one voided and one paid: the gateway agrees with the ledger.
    report = api.get("/admin/reconciliation", user=OPERATOR, operator=True).json
    assert report["mismatches"] == [] and report["payments"] == {"voided": 1, "paid": 1}


def test_a_confirmation_of_an_old_amount_funds_nothing(api):
    sandbox = fresh_sandbox()
    oid = negotiable(api)["id"]
    api.post(f"/orders/{oid}/price", {"amount": 90000}, user=PROVIDER)
    with pytest.raises(PlanChanged):
        orders.confirm_funding(oid, "gw-old-amount", AMOUNT, clock.now())
    assert [v[2] for v in sandbox.refunds.values()] == [AMOUNT]
    assert OrderModel.get(oid).status == "awaiting_payment"
    ledger_clean(api)
