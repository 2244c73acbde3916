"""Fair deals through the API: agreed prices (改价), the provider giving up accepted
work, the late cancel that no longer reaches a delivery in review, and a suspended
provider who may not take new work until reinstated."""
import pytest

from tests.api.catalog_support import approved_provider, listed
from tests.api.orders_support import (BUYER, OPERATOR, PROVIDER, accepted_order, deliver, due_in,
                                      ledger_clean, listed_service, paid_order, place)
from tests.support import fresh_sandbox

DAY = 24 * 3600


@pytest.fixture(autouse=True)
def sandbox():
    return fresh_sandbox()


def notices(api, user, kind):
    return [n["text"] for n in api.get("/me/notifications?limit=100", user=user).json["items"]
            if n["kind"] == kind]


def negotiable_order(api, price=None, **extra):
    service_id = listed_service(pricing="negotiable", price=80000, title="logo设计")
    body = {"price": price} if price is not None else {}
    reply = place(api, service_id, **body, **extra)
    assert reply.status == 201, reply
    return reply.json


# --- 改价 ---------------------------------------------------------------------
def test_a_buyers_offer_waits_for_the_provider_before_it_can_be_paid(api, sandbox):
    order = negotiable_order(api, price=100)  # 1 元 for an 800 元 service
    assert (order["amount"], order["price_agreed"]) == (100, False)
    # The provider's notice names the amount it is asked to work for.
    assert any("¥1.00" in text for text in notices(api, PROVIDER, "order_placed"))
    refused = api.post(f"/orders/{order['id']}/pay", user=BUYER)
    assert refused.status == 409 and refused.error_code == "PRICE_NOT_AGREED"
    assert sandbox.calls == []  # nothing was charged

    counter = api.post(f"/orders/{order['id']}/price", {"amount": 60000}, user=PROVIDER)
    assert counter.status == 200, counter
    assert (counter.json["amount"], counter.json["price_agreed"]) == (60000, True)
    assert counter.json["milestones"][0]["amount"] == 60000
    assert any("¥600.00" in text for text in notices(api, BUYER, "price_changed"))

    haggle = api.post(f"/orders/{order['id']}/price", {"amount": 55000}, user=BUYER).json
    assert (haggle["amount"], haggle["price_agreed"]) == (55000, False)
    assert any("¥550.00" in text for text in notices(api, PROVIDER, "price_changed"))
    assert api.post(f"/orders/{order['id']}/pay", user=BUYER).error_code == "PRICE_NOT_AGREED"

    # The provider confirms by setting the same amount.
    confirmed = api.post(f"/orders/{order['id']}/price", {"amount": 55000}, user=PROVIDER).json
    assert confirmed["price_agreed"] is True
    paid = api.post(f"/orders/{order['id']}/pay", user=BUYER)
    assert paid.status == 200 and paid.json["escrow"]["funded"] == 55000
    assert sandbox.calls[0][0] == "charge" and sandbox.calls[0][2] == 55000
    assert any("¥550.00" in text for text in notices(api, PROVIDER, "order_paid"))
    events = api.get(f"/orders/{order['id']}/events", user=PROVIDER).json["items"]
    changes = [(e["actor"], e["data"]["amount"], e["data"]["price_agreed"]) for e in events
               if e["type"] == "price_changed"]
    assert changes == [(PROVIDER, 60000, True), (BUYER, 55000, False), (PROVIDER, 55000, True)]
    assert all(e["from"] == e["to"] == "awaiting_payment" for e in events
               if e["type"] == "price_changed")
    ledger_clean(api)


def test_the_list_price_and_fixed_prices_are_agreed_from_the_start(api):
    assert negotiable_order(api)["price_agreed"] is True  # the provider's own offer
    fixed = place(api, listed_service(price=50000, title="客服外包")).json
    assert fixed["price_agreed"] is True
    refused = api.post(f"/orders/{fixed['id']}/price", {"amount": 100}, user=BUYER)
    assert refused.status == 409 and refused.error_code == "INVALID_TRANSITION"
    assert refused.json["error"]["details"]["reason"] == "negotiable"
    assert api.get(f"/orders/{fixed['id']}", user=BUYER).json["amount"] == 50000


@pytest.mark.parametrize("amount", [0, -1, 100_000_001, 10**12, 1.5, "800", True, None])
def test_a_price_outside_1_to_100000000_fen_is_refused(api, amount):
    order = negotiable_order(api)
    reply = api.post(f"/orders/{order['id']}/price", {"amount": amount}, user=PROVIDER)
    assert reply.status == 422 and reply.error_code == "VALIDATION_FAILED"
    assert api.get(f"/orders/{order['id']}", user=BUYER).json["amount"] == 80000


def test_an_order_is_placed_at_most_at_100000000_fen(api):
    service_id = listed_service(pricing="negotiable", price=80000, title="logo设计")
    assert place(api, service_id, price=10**12).status == 422
    assert place(api, service_id, price=100_000_000).json["price_agreed"] is False


def test_a_new_price_brings_a_new_plan_or_becomes_one_step(api):
    steps = [{"title": "定金", "amount": 24000, "release": "on_accept"},
             {"title": "终稿", "amount": 56000, "release": "on_approval"}]
    order = negotiable_order(api, milestones=steps)
    oid = order["id"]
    # A deposit of at most DEPOSIT_MAX_BPS (30 %) of the amount.
    new_plan = [{"title": "定金", "amount": 27000, "release": "on_accept"},
                {"title": "终稿", "amount": 63000, "release": "on_approval"}]
    replanned = api.post(f"/orders/{oid}/price", {"amount": 90000, "milestones": new_plan},
                         user=PROVIDER).json
    assert [(m["amount"], m["release"]) for m in replanned["milestones"]] == [
        (27000, "on_accept"), (63000, "on_approval")]
    wrong_sum = api.post(f"/orders/{oid}/price", {"amount": 95000, "milestones": new_plan},
                         user=PROVIDER)
    assert wrong_sum.status == 422
    one_step = api.post(f"/orders/{oid}/price", {"amount": 70000}, user=PROVIDER).json
    assert [(m["amount"], m["release"]) for m in one_step["milestones"]] == [
        (70000, "on_approval")]
    api.post(f"/orders/{oid}/pay", user=BUYER)
    accepted = api.post(f"/orders/{oid}/accept", user=PROVIDER).json
    assert accepted["escrow"]["released"] == 0  # the deposit went with the old plan
    ledger_clean(api)


def test_only_the_parties_change_a_price_and_only_before_payment(api):
    order = negotiable_order(api, price=70000)
    oid = order["id"]
    assert api.post(f"/orders/{oid}/price", {"amount": 1}, user="stranger-9").status == 404
    assert api.post(f"/orders/{oid}/price", {"amount": 1}, user=OPERATOR,
                    operator=True).status == 403
    api.post(f"/orders/{oid}/price", {"amount": 70000}, user=PROVIDER)
    api.post(f"/orders/{oid}/pay", user=BUYER)
    late = api.post(f"/orders/{oid}/price", {"amount": 1}, user=BUYER)
    assert late.status == 409 and late.error_code == "INVALID_TRANSITION"
    assert api.get(f"/orders/{oid}", user=BUYER).json["escrow"]["held"] == 70000


def test_a_replayed_price_change_applies_once(api):
    oid = negotiable_order(api, price=70000)["id"]
    key = {"Idempotency-Key": "price-1"}
    first = api.post(f"/orders/{oid}/price", {"amount": 66000}, user=PROVIDER, headers=key)
    again = api.post(f"/orders/{oid}/price", {"amount": 66000}, user=PROVIDER, headers=key)
    assert again.headers.get("idempotent-replayed") == "true" and again.json == first.json
    events = api.get(f"/orders/{oid}/events", user=BUYER).json["items"]
    assert [e["type"] for e in events] == ["placed", "price_changed"]


# --- cancelling ------------------------------------------------------------------
def test_the_provider_may_give_up_work_in_progress_refunding_what_is_held(api, sandbox):
    service_id = listed_service(price=100000)
    steps = [{"title": "定金", "amount": 20000, "release": "on_accept"},
             {"title": "终稿", "amount": 80000, "release": "on_approval"}]
    oid = place(api, service_id, milestones=steps).json["id"]
    api.post(f"/orders/{oid}/pay", user=BUYER)
    api.post(f"/orders/{oid}/accept", user=PROVIDER)
    cancelled = api.post(f"/orders/{oid}/cancel", user=PROVIDER)
    assert cancelled.status == 200 and cancelled.json["status"] == "cancelled"
    # Full refund means full (issue 21): the deposit released on acceptance comes back too.
    assert cancelled.json["escrow"] == {"funded": 100000, "released": 0, "refunded": 100000,
                                        "held": 0}
    assert [c[2] for c in sandbox.calls if c[0] == "refund"] == [100000]
    assert "cancelled" in [n["kind"] for n in api.get("/me/notifications", user=BUYER).json["items"]]
    last = api.get(f"/orders/{oid}/events", user=BUYER).json["items"][-1]
    assert (last["type"], last["actor"], last["from"]) == ("cancelled", PROVIDER, "in_progress")
    assert place(api, service_id, buyer="buyer-2").status == 201
    ledger_clean(api)


def test_the_provider_cancels_only_work_in_progress(api):
    unpaid = place(api, listed_service()).json["id"]
    assert api.post(f"/orders/{unpaid}/cancel", user=PROVIDER).error_code == "CANCEL_NOT_ALLOWED"
    waiting = paid_order(api)
    assert api.post(f"/orders/{waiting}/cancel", user=PROVIDER).error_code == "CANCEL_NOT_ALLOWED"
    in_review = accepted_order(api)
    deliver(api, in_review)
    refused = api.post(f"/orders/{in_review}/cancel", user=PROVIDER)
    assert refused.status == 409 and refused.error_code == "CANCEL_NOT_ALLOWED"
    assert refused.json["error"]["details"]["status"] == "in_review"


def test_a_buyer_cannot_late_cancel_a_delivery_waiting_for_review(api):
    service_id = listed_service(price=50000)
    oid = place(api, service_id, due_at=due_in(days=2)).json["id"]
    api.post(f"/orders/{oid}/pay", user=BUYER)
    api.post(f"/orders/{oid}/accept", user=PROVIDER)
    api.post("/_local/clock", {"advance_seconds": 16 * DAY})
    assert deliver(api, oid).json["status"] == "in_review"  # delivered late, but delivered
    api.post("/_local/clock", {"advance_seconds": 2 * DAY})
    refused = api.post(f"/orders/{oid}/cancel", user=BUYER)
    assert refused.status == 409 and refused.error_code == "CANCEL_NOT_ALLOWED"
    order = api.get(f"/orders/{oid}", user=BUYER).json
    assert (order["status"], order["escrow"]["held"]) == ("in_review", 50000)


# --- suspension ------------------------------------------------------------------
def test_a_suspended_provider_cannot_accept_until_reinstated(api):
    approved_provider(api, PROVIDER)
    service = listed(api, PROVIDER)
    oid = place(api, service["id"]).json["id"]
    assert api.post(f"/orders/{oid}/pay", user=BUYER).status == 200
    suspended = api.post(f"/admin/providers/{PROVIDER}/suspend", {"reason": "多次投诉"},
                         user=OPERATOR, operator=True)
    assert suspended.json["status"] == "suspended"
    refused = api.post(f"/orders/{oid}/accept", user=PROVIDER)
    assert refused.status == 403 and refused.error_code == "PROVIDER_NOT_APPROVED"
    assert api.get(f"/orders/{oid}", user=BUYER).json["status"] == "awaiting_provider"

    reinstated = api.post(f"/admin/providers/{PROVIDER}/reinstate", {}, user=OPERATOR,
                          operator=True)
    assert reinstated.status == 200 and reinstated.json["status"] == "approved"
    # Its services stay delisted until it lists them again.
    assert api.get(f"/services/{service['id']}", user=PROVIDER).json["status"] == "delisted"
    assert api.get(f"/providers/{PROVIDER}").json["listed_count"] == 0
    assert api.post(f"/orders/{oid}/accept", user=PROVIDER).json["status"] == "in_progress"
    ledger_clean(api)


def test_a_suspended_provider_may_still_reject_and_refund(api):
    approved_provider(api, PROVIDER)
    oid = paid_order(api)
    api.post(f"/admin/providers/{PROVIDER}/suspend", {"reason": "多次投诉"}, user=OPERATOR,
             operator=True)
    rejected = api.post(f"/orders/{oid}/reject", {"reason": "账号被暂停"}, user=PROVIDER)
    assert rejected.json["status"] == "rejected" and rejected.json["escrow"]["held"] == 0
    ledger_clean(api)


def test_only_a_suspended_provider_is_reinstated_and_only_by_an_operator(api):
    approved_provider(api, PROVIDER)
    not_suspended = api.post(f"/admin/providers/{PROVIDER}/reinstate", {}, user=OPERATOR,
                             operator=True)
    assert not_suspended.status == 409 and not_suspended.error_code == "INVALID_STATE"
    api.post(f"/admin/providers/{PROVIDER}/suspend", {"reason": "多次投诉"}, user=OPERATOR,
             operator=True)
    assert api.post(f"/admin/providers/{PROVIDER}/reinstate", {}, user=PROVIDER).status == 403
    assert api.post("/admin/providers/nobody/reinstate", {}, user=OPERATOR,
                    operator=True).status == 404
    assert api.get(f"/providers/{PROVIDER}").json["status"] == "suspended"


def test_the_accepting_transaction_itself_refuses_a_suspended_provider(api):
    """Nothing reads the provider's standing before deciding: the condition in the
    accepting transaction is what refuses, however late the suspension landed."""
    approved_provider(api, PROVIDER)
    oid = paid_order(api)
    api.post(f"/admin/providers/{PROVIDER}/suspend", {"reason": "多次投诉"}, user=OPERATOR,
             operator=True)
    refused = api.post(f"/orders/{oid}/accept", user=PROVIDER)
    assert refused.status == 403 and refused.error_code == "PROVIDER_NOT_APPROVED"
    order = api.get(f"/orders/{oid}", user=BUYER).json
    assert (order["status"], order["escrow"]["released"]) == ("awaiting_provider", 0)
    assert [e["type"] for e in api.get(f"/orders/{oid}/events", user=BUYER).json["items"]][-1] \
        == "paid"


def test_the_openapi_document_describes_the_new_routes(api):
    paths = api.get("/openapi.json").json["paths"]
    price = paths["/orders/{order_id}/price"]["post"]["requestBody"]["content"][
        "application/json"]["schema"]
    assert price["required"] == ["amount"]
    assert (price["properties"]["amount"]["minimum"],
            price["properties"]["amount"]["maximum"]) == (1, 100_000_000)
    assert "milestones" in price["properties"]
    assert "post" in paths["/admin/providers/{provider_id}/reinstate"]
    placing = paths["/orders"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert placing["properties"]["price"]["maximum"] == 100_000_000
