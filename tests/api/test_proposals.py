"""Proposals (协商) through the API, on moto and DynamoDB Local: an extension moves due_at
and its timers, a cancel splits what is held and closes the order, one open proposal per
order, the other party answers, the author withdraws, and a state change lapses it."""
from datetime import datetime, timedelta

import pytest

from chalicelib import clock
from chalicelib.storage.orders import OrderModel
from tests.api.orders_support import (BUYER, OPERATOR, PROVIDER, accepted_order, deliver,
                                      ledger_clean, listed_service, paid_order, place)
from tests.jobs.sweep_support import kinds
from tests.support import fresh_sandbox

DAY = 24 * 3600


@pytest.fixture(autouse=True)
def sandbox():
    return fresh_sandbox()


def later(days: float) -> str:
    return clock.to_iso(clock.now() + timedelta(days=days))


def propose(api, oid, body, user=BUYER, **kw):
    return api.post(f"/orders/{oid}/proposals", body, user=user, **kw)


def answer(api, oid, pid, verb, user):
    return api.post(f"/orders/{oid}/proposals/{pid}/{verb}", user=user)


def order(api, oid):
    return api.get(f"/orders/{oid}", user=BUYER).json


def events(api, oid):
    return [e["type"] for e in api.get(f"/orders/{oid}/events?limit=100", user=BUYER).json["items"]]


def in_review(api, **kw):
    oid = accepted_order(api, **kw)
    assert deliver(api, oid).status == 200
    return oid


# --- extension (延期) ---------------------------------------------------------------
def test_an_agreed_extension_moves_due_at_and_the_late_cancel_timer(api):
    oid = accepted_order(api)
    before = order(api, oid)
    new_due = later(30)
    made = propose(api, oid, {"kind": "extension", "due_at": new_due, "note": "素材晚到了三天"},
                   user=PROVIDER)
    assert made.status == 201, made
    proposal = made.json
    assert (proposal["kind"], proposal["by"], proposal["by_role"], proposal["status"]) == (
        "extension", PROVIDER, "provider", "open")
    assert proposal["due_at"] == new_due and proposal["refund"] is None
    assert order(api, oid)["open_proposal"] == proposal["id"]
    assert "proposal" in kinds(api, BUYER)
    accepted = answer(api, oid, proposal["id"], "accept", BUYER)
    assert accepted.status == 200, accepted
    assert accepted.json["status"] == "accepted" and accepted.json["decided_by"] == BUYER
    after = order(api, oid)
    assert after["status"] == "in_progress" and after["due_at"] == new_due
    assert after["open_proposal"] is None
    moved = datetime.fromisoformat(after["deadlines"]["late_cancel_from"]) - datetime.fromisoformat(
        before["deadlines"]["late_cancel_from"])
    assert moved == datetime.fromisoformat(new_due) - datetime.fromisoformat(before["due_at"])
    # The sweep's index follows: the next timer is the new late-cancel reminder.
    item = OrderModel.get(oid, consistent_read=True)
    reminder = datetime.fromisoformat(after["deadlines"]["late_cancel_from"]) - timedelta(days=1)
    assert item.timer_due == f"{clock.to_key(reminder)}#{oid}"
    assert events(api, oid)[-2:] == ["proposed", "extended"]
    assert "proposal_accepted" in kinds(api, PROVIDER)
    ledger_clean(api)


def test_an_extension_takes_back_an_earned_late_cancel(api):
    oid = accepted_order(api)
    api.post("/_local/clock", {"advance_seconds": 26 * DAY})
    api.invoke("sweep_timeouts")
    assert order(api, oid)["late_cancel_eligible"] is True
    pid = propose(api, oid, {"kind": "extension", "due_at": later(7)}, user=PROVIDER).json["id"]
    assert answer(api, oid, pid, "accept", BUYER).status == 200
    after = order(api, oid)
    assert after["late_cancel_eligible"] is False and "late_cancel_from" in after["deadlines"]
    refused = api.post(f"/orders/{oid}/cancel", user=BUYER)
    assert refused.status == 409 and refused.error_code == "CANCEL_NOT_ALLOWED"


# --- cancel (协商取消 / 部分退款) ------------------------------------------------------
def test_a_mutual_cancel_with_a_partial_refund_splits_what_is_held(api):
    oid = in_review(api, price=50000)
    made = propose(api, oid, {"kind": "cancel", "refund": 30000}, user=PROVIDER)
    assert made.status == 201, made
    assert (made.json["refund"], made.json["release"]) == (30000, 20000)
    accepted = answer(api, oid, made.json["id"], "accept", BUYER)
    assert accepted.status == 200, accepted
    after = order(api, oid)
    assert after["status"] == "cancelled" and after["closed_at"]
    assert after["escrow"] == {"funded": 50000, "released": 20000, "refunded": 30000, "held": 0}
    assert [m["status"] for m in after["milestones"]] == ["split"]
    assert after["deliverables_withdrawn"] is False  # the provider was paid something
    assert api.get("/me/balance", user=PROVIDER).json["available"] == 20000
    cancelled = api.get(f"/orders/{oid}/events?limit=100", user=BUYER).json["items"][-1]
    assert cancelled["type"] == "cancelled" and cancelled["actor"] == BUYER
    assert cancelled["data"]["refund"] == 30000 and cancelled["data"]["release"] == 20000
    assert "refunded" in kinds(api, BUYER)
    ledger_clean(api)


@pytest.mark.parametrize("refund,released,withdrawn", [(50000, 0, True), (0, 50000, False)])
def test_the_split_may_be_all_to_either_side(api, refund, released, withdrawn):
    oid = in_review(api, price=50000)
    pid = propose(api, oid, {"kind": "cancel", "refund": refund}).json["id"]
    assert answer(api, oid, pid, "accept", PROVIDER).status == 200
    after = order(api, oid)
    assert after["escrow"]["released"] == released
    assert after["escrow"]["refunded"] == 50000 - released
    assert after["deliverables_withdrawn"] is withdrawn
    ledger_clean(api)


def test_a_cancel_before_the_provider_accepts_frees_the_capacity_slot(api):
    service_id = listed_service(capacity=1, price=20000)
    oid = place(api, service_id).json["id"]
    api.post(f"/orders/{oid}/pay", user=BUYER)
    assert place(api, service_id, buyer="buyer-2").error_code == "SERVICE_AT_CAPACITY"
    pid = propose(api, oid, {"kind": "cancel", "refund": 20000}).json["id"]
    assert answer(api, oid, pid, "accept", PROVIDER).status == 200
    assert place(api, service_id, buyer="buyer-2").status == 201
    ledger_clean(api)


def test_the_refund_is_bounded_by_what_is_still_held(api):
    oid = paid_order(api, price=50000)
    plan_oid = place(api, listed_service(price=50000, title="logo设计"), milestones=[
        {"title": "定金", "amount": 10000, "release": "on_accept"},
        {"title": "终稿", "amount": 40000, "release": "on_approval"}]).json["id"]
    api.post(f"/orders/{plan_oid}/pay", user=BUYER)
    api.post(f"/orders/{plan_oid}/accept", user=PROVIDER)
    too_much = propose(api, plan_oid, {"kind": "cancel", "refund": 40001})
    assert too_much.status == 422 and too_much.json["error"]["details"]["held"] == 40000
    made = propose(api, plan_oid, {"kind": "cancel", "refund": 40000})
    assert made.status == 201 and made.json["release"] == 0
    for body in ({"kind": "cancel", "refund": -1}, {"kind": "cancel"},
                 {"kind": "cancel", "refund": 1, "due_at": later(3)},
                 {"kind": "extension"}, {"kind": "extension", "due_at": later(-1)},
                 {"kind": "extension", "due_at": later(3), "refund": 0},
                 {"kind": "refund", "refund": 1}, {"kind": "cancel", "refund": 1.5},
                 {"kind": "cancel", "refund": "100"}):
        reply = propose(api, oid, body)
        assert reply.status == 422 and reply.error_code == "VALIDATION_FAILED", (body, reply)
    assert order(api, oid)["open_proposal"] is None


# --- one open proposal; who answers -----------------------------------------------
def test_one_open_proposal_per_order(api):
    oid = accepted_order(api)
    first = propose(api, oid, {"kind": "extension", "due_at": later(20)}).json
    second = propose(api, oid, {"kind": "cancel", "refund": 0}, user=PROVIDER)
    assert second.status == 409 and second.error_code == "PROPOSAL_PENDING"
    assert second.json["error"]["details"]["proposal_id"] == first["id"]
    assert answer(api, oid, first["id"], "decline", PROVIDER).json["status"] == "declined"
    assert "proposal_declined" in kinds(api, BUYER)
    again = propose(api, oid, {"kind": "cancel", "refund": 100}, user=PROVIDER)
    assert again.status == 201
    assert answer(api, oid, again.json["id"], "withdraw", PROVIDER).json["status"] == "withdrawn"
    assert "proposal_withdrawn" in kinds(api, BUYER)
    listed = api.get(f"/orders/{oid}/proposals", user=OPERATOR, operator=True).json
    assert [(p["kind"], p["status"]) for p in listed["items"]] == [
        ("extension", "declined"), ("cancel", "withdrawn")]
    assert order(api, oid)["status"] == "in_progress"
    assert events(api, oid)[-4:] == ["proposed", "proposal_declined", "proposed",
                                     "proposal_withdrawn"]


def test_the_other_party_answers_and_only_the_author_withdraws(api):
    oid = accepted_order(api)
    pid = propose(api, oid, {"kind": "cancel", "refund": 100}).json["id"]
    for verb, user in (("accept", BUYER), ("decline", BUYER), ("withdraw", PROVIDER)):
        refused = answer(api, oid, pid, verb, user)
        assert refused.status == 403 and refused.error_code == "FORBIDDEN", (verb, refused)
    operator = api.post(f"/orders/{oid}/proposals/{pid}/accept", user=OPERATOR, operator=True)
    assert operator.status == 403
    assert propose(api, oid, {"kind": "cancel", "refund": 1}, user=OPERATOR,
                   operator=True).status == 403
    assert answer(api, oid, pid, "accept", "stranger-9").status == 404
    assert api.get(f"/orders/{oid}/proposals", user="stranger-9").status == 404
    assert api.get(f"/orders/{oid}/proposals/{pid}", user=PROVIDER).json["status"] == "open"
    assert answer(api, oid, "prop_nope", "accept", PROVIDER).status == 404
    assert order(api, oid)["status"] == "in_progress"


def test_an_answered_proposal_cannot_be_answered_again(api):
    oid = accepted_order(api)
    pid = propose(api, oid, {"kind": "extension", "due_at": later(20)}).json["id"]
    assert answer(api, oid, pid, "decline", PROVIDER).status == 200
    again = answer(api, oid, pid, "accept", PROVIDER)
    assert again.status == 409 and again.error_code == "PROPOSAL_NOT_OPEN"
    assert again.json["error"]["details"]["proposal_status"] == "declined"


@pytest.mark.parametrize("state", ["awaiting_payment", "completed", "cancelled"])
def test_only_open_work_takes_proposals(api, state):
    if state == "awaiting_payment":
        oid = place(api, listed_service()).json["id"]
    elif state == "completed":
        oid = in_review(api)
        api.post(f"/orders/{oid}/approve", user=BUYER)
    else:
        oid = place(api, listed_service()).json["id"]
        api.post(f"/orders/{oid}/cancel", user=BUYER)
    refused = propose(api, oid, {"kind": "extension", "due_at": later(20)})
    assert refused.status == 409 and refused.error_code == "INVALID_TRANSITION"
    assert refused.json["error"]["details"]["status"] == state


# --- lapsing ----------------------------------------------------------------------
@pytest.mark.parametrize("move", ["deliver", "dispute"])
def test_a_state_change_lapses_the_open_proposal(api, move):
    oid = accepted_order(api)
    pid = propose(api, oid, {"kind": "cancel", "refund": 10000}, user=PROVIDER).json["id"]
    if move == "deliver":
        assert deliver(api, oid).status == 200
    else:
        assert api.post(f"/orders/{oid}/dispute", {"reason": "沟通不畅"}, user=BUYER).status == 200
    shown = api.get(f"/orders/{oid}/proposals/{pid}", user=BUYER).json
    assert shown["status"] == "lapsed" and shown["decided_by"] == "system"
    late = answer(api, oid, pid, "accept", BUYER)
    assert late.status == 409 and late.error_code == "PROPOSAL_NOT_OPEN"
    assert order(api, oid)["escrow"]["refunded"] == 0
    last = api.get(f"/orders/{oid}/events?limit=100", user=BUYER).json["items"][-1]
    assert last["data"]["lapsed_proposal"] == pid
    if move == "deliver":  # still open work: a new proposal may be made at once
        assert propose(api, oid, {"kind": "extension", "due_at": later(20)}).status == 201


def test_a_note_from_the_sweep_does_not_lapse_it(api):
    oid = accepted_order(api)
    api.post("/_local/clock", {"advance_seconds": 26 * DAY})
    pid = propose(api, oid, {"kind": "extension", "due_at": later(5)}, user=PROVIDER).json["id"]
    api.invoke("sweep_timeouts")  # flags late-cancel eligibility: the state stays in_progress
    assert order(api, oid)["late_cancel_eligible"] is True
    assert answer(api, oid, pid, "accept", BUYER).status == 200


# --- idempotency and lists ----------------------------------------------------------
def test_writes_honour_idempotency_keys(api):
    oid = accepted_order(api)
    body = {"kind": "cancel", "refund": 5000}
    first = propose(api, oid, body, headers={"Idempotency-Key": "prop-1"})
    replay = propose(api, oid, body, headers={"Idempotency-Key": "prop-1"})
    assert replay.status == 201 and replay.json == first.json
    assert replay.headers.get("idempotent-replayed") == "true"
    reused = propose(api, oid, {"kind": "cancel", "refund": 1}, headers={"Idempotency-Key": "prop-1"})
    assert reused.status == 422 and reused.error_code == "IDEMPOTENCY_KEY_REUSED"
    path = f"/orders/{oid}/proposals/{first.json['id']}/accept"
    one = api.post(path, user=PROVIDER, headers={"Idempotency-Key": "acc-1"})
    two = api.post(path, user=PROVIDER, headers={"Idempotency-Key": "acc-1"})
    assert one.status == two.status == 200 and one.json == two.json
    assert order(api, oid)["escrow"]["refunded"] == 5000
    ledger_clean(api)


def test_the_list_pages_oldest_first(api):
    oid = accepted_order(api)
    made = []
    for days in (20, 21, 22):
        pid = propose(api, oid, {"kind": "extension", "due_at": later(days)}).json["id"]
        answer(api, oid, pid, "withdraw", BUYER)
        made.append(pid)
    first = api.get(f"/orders/{oid}/proposals?limit=2", user=PROVIDER).json
    assert [p["id"] for p in first["items"]] == made[:2] and first["next_cursor"]
    rest = api.get(f"/orders/{oid}/proposals?limit=2&cursor={first['next_cursor']}",
                   user=PROVIDER).json
    assert [p["id"] for p in rest["items"]] == made[2:] and rest["next_cursor"] is None
