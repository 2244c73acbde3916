"""Order scenarios through the API, on moto and DynamoDB Local: the money figures at each
step, and a clean ledger at the end of every scenario."""
import pytest

from tests.api.orders_support import (BUYER, OPERATOR, PROVIDER, accepted_order, deliver, due_in,
                                      escrow, ledger_clean, listed_service, paid_order, place)
from tests.support import fresh_sandbox

DAY = 24 * 3600


@pytest.fixture(autouse=True)
def sandbox():
    return fresh_sandbox()


def held(funded=0, released=0, refunded=0):
    return {"funded": funded, "released": released, "refunded": refunded,
            "held": funded - released - refunded}


def test_fixed_price_order_from_purchase_to_completion(api):
    service_id = listed_service(price=50000)
    placed = place(api, service_id)
    assert placed.status == 201
    order = placed.json
    assert (order["status"], order["status_label"]) == ("awaiting_payment", "待付款")
    assert order["amount"] == 50000 and order["currency"] == "CNY"
    assert order["service"]["title"] == "店铺首页装修"
    assert set(order["deadlines"]) == {"pay_by"}
    oid = order["id"]

    paid = api.post(f"/orders/{oid}/pay", user=BUYER)
    assert paid.json["status"] == "awaiting_provider"
    assert paid.json["escrow"] == held(funded=50000)
    assert set(paid.json["deadlines"]) == {"accept_by"}

    accepted = api.post(f"/orders/{oid}/accept", user=PROVIDER)
    assert accepted.json["status"] == "in_progress"
    assert set(accepted.json["deadlines"]) == {"late_cancel_from"}

    delivered = deliver(api, oid)
    assert delivered.json["status"] == "in_review" and delivered.json["status_label"] == "验收中"

    approved = api.post(f"/orders/{oid}/approve", user=BUYER)
    assert approved.json["status"] == "completed"
    assert approved.json["escrow"] == held(funded=50000, released=50000)
    assert api.get("/me/balance", user=PROVIDER).json == {
        "available": 50000, "pending_withdrawal": 0, "currency": "CNY"}

    events = api.get(f"/orders/{oid}/events", user=BUYER).json["items"]
    assert [e["type"] for e in events] == ["placed", "paid", "accepted", "delivered", "approved"]
    assert events[-1]["from"] == "in_review" and events[-1]["to"] == "completed"
    assert events[-1]["actor"] == BUYER
    ledger_clean(api)


def test_negotiable_price_is_the_buyers_and_fixed_must_match(api):
    negotiable = listed_service(pricing="negotiable", price=80000, title="logo设计")
    reply = place(api, negotiable, price=66600)
    assert reply.status == 201 and reply.json["amount"] == 66600
    fixed = listed_service(price=50000, title="客服外包")
    assert place(api, fixed, price=40000).status == 422
    assert place(api, fixed, price=50000).json["amount"] == 50000
    ledger_clean(api)


def test_milestones_with_a_deposit_release_step_by_step(api):
    service_id = listed_service(price=100000, title="全店装修")
    steps = [{"title": "定金", "amount": 30000, "release": "on_accept"},
             {"title": "首页", "amount": 40000, "release": "on_approval"},
             {"title": "详情页", "amount": 30000, "release": "on_approval"}]
    oid = place(api, service_id, milestones=steps).json["id"]
    api.post(f"/orders/{oid}/pay", user=BUYER)

    accepted = api.post(f"/orders/{oid}/accept", user=PROVIDER).json
    assert accepted["escrow"] == held(funded=100000, released=30000)
    assert [m["status"] for m in accepted["milestones"]] == ["released", "pending", "pending"]
    assert accepted["current_step"] == 1

    deliver(api, oid)
    first = api.post(f"/orders/{oid}/approve", user=BUYER).json
    assert first["status"] == "in_progress" and first["current_step"] == 2
    assert first["escrow"] == held(funded=100000, released=70000)

    deliver(api, oid)
    last = api.post(f"/orders/{oid}/approve", user=BUYER).json
    assert last["status"] == "completed"
    assert last["escrow"] == held(funded=100000, released=100000)
    assert api.get("/me/balance", user=PROVIDER).json["available"] == 100000
    ledger_clean(api)


def test_milestones_that_do_not_add_up_are_refused(api):
    service_id = listed_service(price=100000)
    reply = place(api, service_id, milestones=[{"title": "首页", "amount": 1000,
                                                 "release": "on_approval"}])
    assert reply.status == 422 and reply.error_code == "VALIDATION_FAILED"


def test_revision_loop_keeps_escrow_held_and_counts(api):
    oid = accepted_order(api)
    deliver(api, oid)
    sent_back = api.post(f"/orders/{oid}/request-revision", {"note": "主色调换成红色"}, user=BUYER)
    assert sent_back.json["status"] == "in_progress"
    assert sent_back.json["revision_count"] == 1
    assert sent_back.json["escrow"] == held(funded=50000)
    second = deliver(api, oid, note="已改为红色")
    assert second.json["delivery_count"] == 2
    files = api.get(f"/orders/{oid}/deliverables", user=PROVIDER).json["items"]
    assert sorted(f["version"] for f in files) == [1, 2]
    assert api.post(f"/orders/{oid}/approve", user=BUYER).json["status"] == "completed"
    ledger_clean(api)


def test_reject_refunds_everything_once(api, sandbox):
    oid = paid_order(api)
    rejected = api.post(f"/orders/{oid}/reject", {"reason": "档期已满"}, user=PROVIDER)
    assert rejected.json["status"] == "rejected" and rejected.json["status_label"] == "已拒绝"
    assert rejected.json["escrow"] == held(funded=50000, refunded=50000)
    assert rejected.json["deadlines"] == {}
    refunds = [c for c in sandbox.calls if c[0] == "refund"]
    assert len(refunds) == 1 and refunds[0][2] == 50000
    ledger_clean(api)


def test_cancel_before_paying_moves_no_money(api, sandbox):
    service_id = listed_service(capacity=1)
    oid = place(api, service_id).json["id"]
    cancelled = api.post(f"/orders/{oid}/cancel", user=BUYER)
    assert cancelled.json["status"] == "cancelled"
    assert cancelled.json["escrow"] == held()
    assert sandbox.calls == []
    # The capacity slot came back with the closing.
    assert place(api, service_id, buyer="buyer-2").status == 201
    ledger_clean(api)


def test_late_cancel_only_fifteen_days_after_due_at(api):
    service_id = listed_service(price=100000)
    steps = [{"title": "定金", "amount": 20000, "release": "on_accept"},
             {"title": "终稿", "amount": 80000, "release": "on_approval"}]
    oid = place(api, service_id, milestones=steps, due_at=due_in(days=3)).json["id"]
    api.post(f"/orders/{oid}/pay", user=BUYER)
    api.post(f"/orders/{oid}/accept", user=PROVIDER)

    early = api.post(f"/orders/{oid}/cancel", user=BUYER)
    assert early.status == 409 and early.error_code == "CANCEL_NOT_ALLOWED"

    api.post("/_local/clock", {"advance_seconds": 17 * DAY + 60})
    still_early = api.post(f"/orders/{oid}/cancel", user=BUYER)
    assert still_early.error_code == "CANCEL_NOT_ALLOWED"

    api.post("/_local/clock", {"advance_seconds": 1 * DAY})
    late = api.post(f"/orders/{oid}/cancel", user=BUYER)
    assert late.status == 200 and late.json["status"] == "cancelled"
    # Full refund means full (issue 21): the deposit is taken back from the provider.
    assert late.json["escrow"] == held(funded=100000, released=0, refunded=100000)
    assert api.get("/me/balance", user=PROVIDER).json["available"] == 0
    ledger_clean(api)


def test_dispute_stops_timers_and_the_operator_splits(api):
    oid = accepted_order(api, price=60000)
    deliver(api, oid)
    disputed = api.post(f"/orders/{oid}/dispute", {"reason": "交付与需求不符"}, user=BUYER)
    # The order's timers stop; only the dispute's own evidence window runs (举证).
    assert disputed.json["status"] == "disputed"
    assert set(disputed.json["deadlines"]) == {"evidence_until"}
    assert disputed.json["dispute"]["reason"] == "交付与需求不符"

    assert api.post(f"/orders/{oid}/approve", user=BUYER).error_code == "INVALID_TRANSITION"
    not_operator = api.post(f"/admin/orders/{oid}/resolve", {"refund": 1, "release": 1, "fault": "none"},
                            user=BUYER)
    assert not_operator.status == 403
    wrong_sum = api.post(f"/admin/orders/{oid}/resolve", {"refund": 10000, "release": 10000, "fault": "none"},
                         user=OPERATOR, operator=True)
    assert wrong_sum.status == 422

    resolved = api.post(f"/admin/orders/{oid}/resolve",
                        {"refund": 20000, "release": 40000, "note": "部分交付", "fault": "none"},
                        user=OPERATOR, operator=True)
    assert resolved.json["status"] == "resolved" and resolved.json["status_label"] == "已裁决"
    assert resolved.json["escrow"] == held(funded=60000, released=40000, refunded=20000)
    assert api.get("/me/balance", user=PROVIDER).json["available"] == 40000
    ledger_clean(api)


def test_the_provider_may_dispute_too(api):
    oid = accepted_order(api)
    reply = api.post(f"/orders/{oid}/dispute", {"reason": "买家不回复"}, user=PROVIDER)
    assert reply.json["status"] == "disputed"


def test_capacity_and_listing_are_enforced_when_ordering(api):
    service_id = listed_service(capacity=1)
    first = place(api, service_id)
    assert first.status == 201
    # An unpaid order takes no slot (issue 21); a paid one does.
    assert place(api, service_id, buyer="buyer-3").status == 201
    assert api.post(f"/orders/{first.json['id']}/pay", user=BUYER).status == 200
    full = place(api, service_id, buyer="buyer-2")
    assert full.status == 409 and full.error_code == "SERVICE_AT_CAPACITY"
    delisted = listed_service(status="delisted", title="已下架服务")
    assert place(api, delisted).error_code == "SERVICE_NOT_LISTED"
    assert place(api, "svc_nope").status == 404
    own = place(api, listed_service(provider=BUYER, title="自己的服务"))
    assert own.status == 403 and own.error_code == "FORBIDDEN"


def test_due_at_must_be_in_the_future(api):
    service_id = listed_service()
    reply = place(api, service_id, due_at="2020-01-01T00:00:00+00:00")
    assert reply.status == 422


def test_wrong_actor_is_403_stranger_404_wrong_state_409(api):
    oid = paid_order(api)
    assert api.post(f"/orders/{oid}/accept", user=BUYER).status == 403
    assert api.post(f"/orders/{oid}/approve", user=PROVIDER).status == 403
    stranger = api.post(f"/orders/{oid}/accept", user="stranger-9")
    assert stranger.status == 404 and stranger.error_code == "NOT_FOUND"
    assert api.get(f"/orders/{oid}", user="stranger-9").status == 404
    assert api.get(f"/orders/{oid}", user=OPERATOR, operator=True).status == 200
    again = api.post(f"/orders/{oid}/pay", user=BUYER)
    assert again.status == 409 and again.error_code == "INVALID_TRANSITION"
    assert again.json["error"]["details"]["status"] == "awaiting_provider"


def test_lists_filter_by_status_newest_first_with_a_cursor(api):
    service_id = listed_service()
    ids = [place(api, service_id).json["id"] for _ in range(3)]
    api.post(f"/orders/{ids[0]}/pay", user=BUYER)
    first = api.get("/orders?as=buyer&limit=2", user=BUYER).json
    assert [o["id"] for o in first["items"]] == [ids[2], ids[1]]
    rest = api.get(f"/orders?as=buyer&limit=2&cursor={first['next_cursor']}", user=BUYER).json
    assert [o["id"] for o in rest["items"]] == [ids[0]]
    waiting = api.get("/orders?as=provider&status=awaiting_provider", user=PROVIDER).json
    assert [o["id"] for o in waiting["items"]] == [ids[0]]
    assert api.get("/orders?as=buyer", user="buyer-2").json["items"] == []
    stolen = api.get(f"/orders?as=buyer&limit=2&cursor={first['next_cursor']}", user="buyer-2")
    assert stolen.status == 400


def test_replayed_pay_and_approve_move_money_once(api, sandbox):
    service_id = listed_service()
    oid = place(api, service_id).json["id"]
    key = {"Idempotency-Key": "pay-once"}
    first = api.post(f"/orders/{oid}/pay", user=BUYER, headers=key)
    again = api.post(f"/orders/{oid}/pay", user=BUYER, headers=key)
    assert again.headers.get("idempotent-replayed") == "true" and again.json == first.json
    assert [c[0] for c in sandbox.calls] == ["charge"]
    api.post(f"/orders/{oid}/accept", user=PROVIDER)
    deliver(api, oid)
    approve_key = {"Idempotency-Key": "approve-once"}
    api.post(f"/orders/{oid}/approve", user=BUYER, headers=approve_key)
    api.post(f"/orders/{oid}/approve", user=BUYER, headers=approve_key)
    assert escrow(api, oid) == held(funded=50000, released=50000)
    assert api.get("/me/balance", user=PROVIDER).json["available"] == 50000
    ledger_clean(api)


def test_each_party_hears_about_the_moves_that_concern_them(api):
    oid = accepted_order(api)
    deliver(api, oid)
    api.post(f"/orders/{oid}/approve", user=BUYER)
    provider_kinds = [n["kind"] for n in api.get("/me/notifications", user=PROVIDER).json["items"]]
    buyer_kinds = [n["kind"] for n in api.get("/me/notifications", user=BUYER).json["items"]]
    assert provider_kinds == ["approved", "order_paid", "order_placed"]
    assert buyer_kinds == ["delivered", "accepted"]
    assert all(n["order_id"] == oid for n in
               api.get("/me/notifications", user=BUYER).json["items"])
