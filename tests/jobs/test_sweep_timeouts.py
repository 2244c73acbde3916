"""Each timer of `sweep_timeouts`, one second before and one second after it fires, on
moto and DynamoDB Local; a sweep run twice does nothing more; a poisoned order is
recorded, pushed back and finally parked without blocking the others."""
import json
import logging
from datetime import datetime, timedelta

import pytest

from chalicelib import clock, settings
from chalicelib.storage.orders import OrderModel, timer_partition
from tests.api.orders_support import (BUYER, OPERATOR, PROVIDER, accepted_order, deliver,
                                      escrow, ledger_clean, listed_service, paid_order, place)
from tests.jobs.sweep_support import (DAY, HOUR, clock_at, deadline, index_key, kinds, status,
                                     sweep, travel)
from tests.support import fresh_sandbox


@pytest.fixture(autouse=True)
def sandbox():
    return fresh_sandbox()


def test_the_payment_window_fires_exactly_at_its_deadline(api):
    order_id = place(api, listed_service()).json["id"]
    clock_at(order_id, "pay_by", -1)
    assert sweep(api)["moved"] == 1  # only the reminder (sent 24 h before)
    assert status(api, order_id) == "awaiting_payment"
    clock_at(order_id, "pay_by", +1)
    assert sweep(api)["moved"] == 1
    assert status(api, order_id) == "cancelled"
    assert "cancelled" in kinds(api, BUYER)
    assert index_key(order_id) is None  # a closed order leaves the due_timers index
    again = sweep(api)
    assert (again["found"], again["moved"]) == (0, 0)


def test_a_reminder_goes_out_24_hours_before_the_deadline_once(api):
    order_id = place(api, listed_service()).json["id"]
    clock_at(order_id, "pay_by", -24 * HOUR - 1)
    sweep(api)
    assert "reminder_pay" not in kinds(api, BUYER)
    clock_at(order_id, "pay_by", -24 * HOUR + 1)
    sweep(api)
    sweep(api)
    assert kinds(api, BUYER).count("reminder_pay") == 1
    stored = OrderModel.get(order_id, consistent_read=True)
    assert stored.reminders_sent == ["reminder:pay_by"]
    # The index now points at the deadline itself, not at the reminder any more.
    pay_by = clock.from_key(stored.created_at) + timedelta(hours=72)
    assert stored.timer_due == f"{clock.to_key(pay_by)}#{order_id}"


def test_an_unaccepted_order_expires_after_7_days_with_a_full_refund(api):
    order_id = paid_order(api, price=80000)
    clock_at(order_id, "accept_by", -HOUR)
    sweep(api)
    assert "reminder_accept" in kinds(api, PROVIDER)
    clock_at(order_id, "accept_by", -1)
    sweep(api)
    assert status(api, order_id) == "awaiting_provider"
    assert escrow(api, order_id)["held"] == 80000
    clock_at(order_id, "accept_by", +1)
    sweep(api)
    assert status(api, order_id) == "expired"
    assert escrow(api, order_id) == {"funded": 80000, "released": 0, "refunded": 80000,
                                     "held": 0}
    assert "refunded" in kinds(api, BUYER)
    sweep(api)
    assert escrow(api, order_id)["refunded"] == 80000  # never refunded twice
    assert api.post(f"/orders/{order_id}/accept", user=PROVIDER).error_code == "INVALID_TRANSITION"
    ledger_clean(api)


def test_a_late_order_becomes_cancellable_but_is_not_cancelled(api):
    order_id = accepted_order(api, price=30000)  # due in 10 days
    clock_at(order_id, "late_cancel_from", -1)
    sweep(api)
    order = api.get(f"/orders/{order_id}", user=BUYER).json
    assert (order["status"], order["late_cancel_eligible"]) == ("in_progress", False)
    assert api.post(f"/orders/{order_id}/cancel", user=BUYER).error_code == "CANCEL_NOT_ALLOWED"
    assert "reminder_late" in kinds(api, PROVIDER)
    clock_at(order_id, "late_cancel_from", +1)
    sweep(api)
    order = api.get(f"/orders/{order_id}", user=BUYER).json
    assert (order["status"], order["late_cancel_eligible"]) == ("in_progress", True)
    assert kinds(api, BUYER).count("late_cancel_eligible") == 1
    assert "late_cancel_from" not in order["deadlines"]
    sweep(api)
    assert kinds(api, BUYER).count("late_cancel_eligible") == 1  # told once
    cancelled = api.post(f"/orders/{order_id}/cancel", user=BUYER)
    assert cancelled.json["status"] == "cancelled"
    assert cancelled.json["escrow"]["refunded"] == 30000
    ledger_clean(api)


def test_a_delivery_under_review_is_never_late_cancellable(api):
    order_id = accepted_order(api)  # due in 10 days
    assert deliver(api, order_id).json["status"] == "in_review"
    order = api.get(f"/orders/{order_id}", user=BUYER).json
    assert set(order["deadlines"]) == {"auto_approve_at"}
    travel(25 * DAY + 1)
    assert api.post(f"/orders/{order_id}/cancel", user=BUYER).error_code == "CANCEL_NOT_ALLOWED"
    assert api.get(f"/orders/{order_id}", user=BUYER).json["late_cancel_eligible"] is False


def test_an_unanswered_delivery_is_approved_by_the_sweep_as_the_buyer_would(api):
    order_id = accepted_order(api, price=70000)
    delivered = deliver(api, order_id).json
    assert delivered["deadlines"]["auto_approve_at"] == clock.to_iso(
        clock.from_key(OrderModel.get(order_id).delivered_at) + timedelta(days=7))
    clock_at(order_id, "auto_approve_at", -24 * HOUR - 1)
    sweep(api)
    assert "reminder_auto_approve" not in kinds(api, BUYER)
    clock_at(order_id, "auto_approve_at", -24 * HOUR + 1)
    sweep(api)
    sweep(api)
    # Both parties hear of it, once each, a day ahead.
    assert kinds(api, BUYER).count("reminder_auto_approve") == 1
    assert kinds(api, PROVIDER).count("reminder_auto_approve") == 1
    clock_at(order_id, "auto_approve_at", -1)
    sweep(api)
    assert status(api, order_id) == "in_review"
    assert escrow(api, order_id)["released"] == 0
    clock_at(order_id, "auto_approve_at", +1)
    assert sweep(api)["moved"] == 1
    order = api.get(f"/orders/{order_id}", user=BUYER).json
    assert order["status"] == "completed"
    assert order["escrow"] == {"funded": 70000, "released": 70000, "refunded": 0, "held": 0}
    assert set(order["deadlines"]) == {"review_until"}  # reviews open as after an approval
    last = api.get(f"/orders/{order_id}/events", user=BUYER).json["items"][-1]
    assert (last["type"], last["actor"], last["from"], last["to"]) == (
        "approved", "system", "in_review", "completed")
    assert "approved" in kinds(api, BUYER) and "approved" in kinds(api, PROVIDER)
    assert api.get("/me/balance", user=PROVIDER).json["available"] == 70000
    sweep(api)
    assert escrow(api, order_id)["released"] == 70000  # never twice
    ledger_clean(api)


def test_a_new_delivery_starts_a_new_review_window_with_its_own_reminder(api):
    service_id = listed_service(price=100000)
    steps = [{"title": "首页", "amount": 40000, "release": "on_approval"},
             {"title": "详情页", "amount": 60000, "release": "on_approval"}]
    order_id = place(api, service_id, milestones=steps).json["id"]
    api.post(f"/orders/{order_id}/pay", user=BUYER)
    api.post(f"/orders/{order_id}/accept", user=PROVIDER)
    deliver(api, order_id)
    first_window = deadline(order_id, "auto_approve_at")
    clock_at(order_id, "auto_approve_at", -HOUR)
    sweep(api)  # the first window's reminder
    sent_back = api.post(f"/orders/{order_id}/request-revision", {"note": "换成红色"}, user=BUYER)
    assert "auto_approve_at" not in sent_back.json["deadlines"]
    travel(3 * DAY)
    assert deliver(api, order_id).json["delivery_count"] == 2
    # Seven days from the new delivery, not from the first one.
    second_window = deadline(order_id, "auto_approve_at")
    assert second_window == clock.from_key(
        OrderModel.get(order_id).delivered_at) + timedelta(days=7)
    assert second_window > first_window + timedelta(days=2)
    clock_at(order_id, "auto_approve_at", -HOUR)
    sweep(api)
    assert kinds(api, BUYER).count("reminder_auto_approve") == 2
    clock_at(order_id, "auto_approve_at", +1)
    sweep(api)
    # The current step only: the order goes on with the next one.
    order = api.get(f"/orders/{order_id}", user=BUYER).json
    assert (order["status"], order["current_step"]) == ("in_progress", 1)
    assert order["escrow"]["released"] == 40000
    assert set(order["deadlines"]) == {"late_cancel_from"}
    ledger_clean(api)


def test_after_the_window_a_revision_request_or_dispute_is_refused(api):
    order_id = accepted_order(api)
    deliver(api, order_id)
    clock_at(order_id, "auto_approve_at", 0)
    late = api.post(f"/orders/{order_id}/request-revision", {"note": "再改改"}, user=BUYER)
    assert late.status == 409 and late.json["error"]["details"]["reason"] == "review_window_open"
    assert api.post(f"/orders/{order_id}/dispute", {"reason": "不满意"},
                    user=BUYER).error_code == "INVALID_TRANSITION"
    # Approving is what the sweep would do anyway.
    assert api.post(f"/orders/{order_id}/approve", user=BUYER).json["status"] == "completed"
    assert sweep(api)["moved"] == 0
    ledger_clean(api)


def test_the_review_window_closes_15_days_after_completion(api):
    order_id = accepted_order(api)
    deliver(api, order_id)
    assert api.post(f"/orders/{order_id}/approve", user=BUYER).json["status"] == "completed"
    clock_at(order_id, "review_until", -1)
    sweep(api)
    assert index_key(order_id) is not None
    clock_at(order_id, "review_until", +1)
    assert sweep(api)["moved"] == 1
    assert index_key(order_id) is None
    late = api.post(f"/orders/{order_id}/reviews", {"rating": "good", "comment": "很满意"},
                    user=BUYER)
    assert late.error_code == "REVIEW_NOT_ALLOWED"
    assert sweep(api)["found"] == 0


def test_a_disputed_order_has_no_running_timers(api):
    order_id = paid_order(api, price=20000)
    disputed = api.post(f"/orders/{order_id}/dispute", {"reason": "服务商失联"}, user=BUYER)
    assert disputed.json["status"] == "disputed"
    assert index_key(order_id) is None
    travel(30 * DAY)
    assert sweep(api)["found"] == 0
    assert status(api, order_id) == "disputed"
    assert escrow(api, order_id)["held"] == 20000


def test_a_stale_index_entry_is_corrected_without_moving_the_order(api):
    order_id = place(api, listed_service()).json["id"]
    real = index_key(order_id)
    # What a lagging index could show: a key in the past for an order with nothing due.
    OrderModel(order_id).update(actions=[OrderModel.timer_due.set(f"2000-01-01T00:00:00.000000Z#{order_id}")])
    summary = sweep(api)
    assert (summary["found"], summary["moved"], summary["skipped"]) == (1, 0, 1)
    assert index_key(order_id) == real
    assert status(api, order_id) == "awaiting_payment"


def _poisoned_order(order_id: str) -> None:
    bad = OrderModel(order_id, buyer_id=BUYER, provider_id=PROVIDER, service_id="svc_gone",
                     service={"title": "坏数据", "pricing": "fixed", "price": 1},
                     requirement="x", due_at="not-a-time", amount=1, status="awaiting_payment",
                     created_key="x", created_at="not-a-time", updated_at="not-a-time",
                     buyer_status="x", provider_status="x", timer_pk=timer_partition(order_id),
                     timer_due=f"2000-01-01T00:00:00.000000Z#{order_id}")
    bad.save()


def test_a_poisoned_order_is_recorded_and_skipped_then_parked(api, monkeypatch):
    monkeypatch.setenv("INSTRUCTION_MAX_ATTEMPTS", "3")
    settings.reload()
    _poisoned_order("ord_poisoned")
    good = place(api, listed_service()).json["id"]
    travel(72 * HOUR + 1)
    first = sweep(api)
    assert (first["found"], first["moved"], first["failed"]) == (2, 1, 1)
    assert status(api, good) == "cancelled"
    stuck = api.get("/admin/stuck", user=OPERATOR, operator=True).json["items"]
    assert [(s["job"], s["id"], s["status"], s["attempts"]) for s in stuck] == [
        ("sweep_timeouts", "ord_poisoned", "retrying", 1)]
    assert "ValueError" in stuck[0]["last_error"]
    # Pushed back with backoff: the very next run does not trip over it again.
    assert sweep(api)["found"] == 0
    for _attempt in (2, 3):
        travel(HOUR)
        assert sweep(api)["failed"] == 1
    stuck = api.get("/admin/stuck", user=OPERATOR, operator=True).json["items"]
    assert [(s["status"], s["attempts"]) for s in stuck] == [("parked", 3)]
    assert index_key("ord_poisoned") is None
    travel(DAY)
    assert sweep(api)["found"] == 0


def test_only_operators_see_stuck_items(api):
    assert api.get("/admin/stuck", user=BUYER).error_code == "FORBIDDEN"
    assert api.get("/admin/stuck").error_code == "UNAUTHENTICATED"
    assert api.get("/admin/stuck", user=OPERATOR, operator=True).json == {
        "items": [], "next_cursor": None}


def test_each_run_logs_one_json_summary_line(api, caplog):
    place(api, listed_service())
    travel(72 * HOUR + 1)
    with caplog.at_level(logging.INFO, logger="market.jobs"):
        sweep(api)
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "market.jobs"]
    assert len(lines) == 1
    line = lines[0]
    assert line["job"] == "sweep_timeouts"
    assert (line["found"], line["moved"], line["skipped"], line["failed"]) == (1, 1, 0, 0)
    assert isinstance(line["elapsed_ms"], int)


def test_a_user_watches_an_order_expire_through_the_local_routes(api):
    order_id = paid_order(api, price=50000)
    moved = api.post("/_local/clock", {"advance_seconds": 7 * DAY + 1})
    assert moved.status == 200
    ran = api.post("/_local/sweeps")
    assert ran.json["sweep_timeouts"]["moved"] == 1
    order = api.get(f"/orders/{order_id}", user=BUYER).json
    assert (order["status"], order["status_label"]) == ("expired", "已失效")
    assert order["escrow"]["refunded"] == 50000
    assert "refunded" in kinds(api, BUYER)


def test_the_sweep_delists_trial_services_when_their_campaign_ends(api):
    from tests.api.catalog_support import approved_provider, listed

    approved_provider(api)
    now = clock.now()
    campaign = api.post("/admin/campaigns", {
        "name": "新店体验季", "starts_at": clock.to_iso(now - timedelta(hours=1)),
        "ends_at": clock.to_iso(now + timedelta(hours=2)), "max_price": 100},
        user=OPERATOR, operator=True).json
    trial = listed(api, n=0, price=100, list_body={"campaign_id": campaign["id"]})
    regular = listed(api, n=1)
    clock.set_now(datetime.fromisoformat(campaign["ends_at"]) - timedelta(seconds=1))
    assert "campaigns" not in sweep(api)
    assert api.get(f"/services/{trial['id']}").json["status"] == "listed"
    travel(HOUR)
    assert sweep(api)["campaigns"]["delisted"] == 1
    assert api.get(f"/services/{trial['id']}", user=PROVIDER).json["status"] == "delisted"
    assert api.get(f"/services/{regular['id']}").json["status"] == "listed"
