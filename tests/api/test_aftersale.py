"""After-sale (售后) through the API, on moto and DynamoDB Local: a buyer's partial refund
keeps the order open and comes off the last steps; every proposal carries expires_at; the
sweep grants a refund request the provider left unanswered (退款超时) exactly once and
lapses any other proposal; a refund request replaces another open proposal and holds
auto-approval while it is open."""
from datetime import datetime, timedelta

import pytest

from chalicelib import clock
from tests.api.orders_support import (BUYER, PROVIDER, accepted_order, deliver, escrow,
                                      ledger_clean)
from tests.jobs.sweep_support import DAY, HOUR, kinds, sweep, travel
from tests.support import fresh_sandbox

PLAN = [{"title": "首页", "amount": 30000, "release": "on_approval"},
        {"title": "详情页", "amount": 20000, "release": "on_approval"}]


@pytest.fixture(autouse=True)
def sandbox():
    return fresh_sandbox()


def propose(api, oid, body, user=BUYER):
    return api.post(f"/orders/{oid}/proposals", body, user=user)


def answer(api, oid, pid, verb, user):
    return api.post(f"/orders/{oid}/proposals/{pid}/{verb}", user=user)


def order(api, oid):
    return api.get(f"/orders/{oid}", user=BUYER).json


def proposal(api, oid, pid):
    return api.get(f"/orders/{oid}/proposals/{pid}", user=BUYER).json


def events(api, oid):
    return api.get(f"/orders/{oid}/events?limit=100", user=BUYER).json["items"]


def test_an_accepted_partial_refund_keeps_the_order_open_and_takes_the_last_step_first(api):
    from tests.api.orders_support import listed_service, place
    service_id = listed_service(price=50000)
    oid = place(api, service_id, milestones=PLAN).json["id"]
    assert api.post(f"/orders/{oid}/pay", user=BUYER).status == 200
    assert api.post(f"/orders/{oid}/accept", user=PROVIDER).status == 200
    made = propose(api, oid, {"kind": "partial_refund", "refund": 25000, "reason": "详情页只做一半"})
    assert made.status == 201, made
    assert made.json["reason"] == "详情页只做一半" and made.json["on_expiry"] == "accept"
    expires = datetime.fromisoformat(made.json["expires_at"])
    assert abs((expires - clock.now()).total_seconds() - 2 * DAY) < 5
    assert order(api, oid)["deadlines"]["refund_answer_by"] == made.json["expires_at"]
    accepted = answer(api, oid, made.json["id"], "accept", PROVIDER)
    assert accepted.status == 200, accepted
    assert (accepted.json["status"], accepted.json["decided_by"]) == ("accepted", PROVIDER)
    after = order(api, oid)
    assert after["status"] == "in_progress" and after["amount"] == 50000
    assert after["escrow"]["refunded"] == 25000 and after["escrow"]["held"] == 25000
    # 20000 off the last step (taken whole), 5000 off the first.
    assert [(m["amount"], m["status"]) for m in after["milestones"]] == [
        (25000, "pending"), (0, "refunded")]
    assert "refund_answer_by" not in after["deadlines"]
    assert [e["type"] for e in events(api, oid)][-1] == "partially_refunded"
    # The work goes on: approving the one step left completes the order.
    assert deliver(api, oid).status == 200
    approved = api.post(f"/orders/{oid}/approve", user=BUYER)
    assert approved.status == 200 and approved.json["status"] == "completed", approved
    assert escrow(api, oid)["released"] == 25000
    ledger_clean(api)


@pytest.mark.parametrize("body,user,code", [
    ({"kind": "partial_refund", "refund": 50000, "reason": "x"}, BUYER, 422),
    ({"kind": "partial_refund", "refund": 0, "reason": "x"}, BUYER, 422),
    ({"kind": "partial_refund", "refund": 100}, BUYER, 422),
    ({"kind": "partial_refund", "refund": 100, "reason": "x"}, PROVIDER, 403),
])
def test_a_partial_refund_is_the_buyers_and_leaves_something_held(api, body, user, code):
    oid = accepted_order(api, price=50000)
    refused = propose(api, oid, body, user=user)
    assert refused.status == code, refused
    assert order(api, oid)["escrow"]["refunded"] == 0


def test_no_partial_refund_before_the_provider_accepts(api):
    from tests.api.orders_support import paid_order
    oid = paid_order(api)
    refused = propose(api, oid, {"kind": "partial_refund", "refund": 100, "reason": "x"})
    assert refused.status == 409 and refused.json["error"]["code"] == "INVALID_TRANSITION"


def test_an_unanswered_refund_request_is_granted_by_the_sweep_exactly_once(api):
    oid = accepted_order(api, price=50000)
    made = propose(api, oid, {"kind": "partial_refund", "refund": 10000, "reason": "少一页"}).json
    travel(DAY + HOUR)  # 24 h before: the provider is told
    sweep(api)
    assert "reminder_refund_answer" in kinds(api, PROVIDER)
    assert proposal(api, oid, made["id"])["status"] == "open"
    travel(DAY)
    sweep(api)
    sweep(api)  # a second run finds nothing left to do
    granted = proposal(api, oid, made["id"])
    assert (granted["status"], granted["decided_by"]) == ("accepted", "system")
    after = order(api, oid)
    assert after["status"] == "in_progress"
    assert after["escrow"]["refunded"] == 10000 and after["escrow"]["held"] == 40000
    done = [e for e in events(api, oid) if e["type"] == "partially_refunded"]
    assert len(done) == 1 and done[0]["actor"] == "system"
    ledger_clean(api)


def test_an_unanswered_cancel_request_closes_the_order_with_its_split(api):
    oid = accepted_order(api, price=50000)
    made = propose(api, oid, {"kind": "cancel", "refund": 30000}).json
    travel(2 * DAY + 60)
    sweep(api)
    after = order(api, oid)
    assert after["status"] == "cancelled"
    assert after["escrow"]["refunded"] == 30000 and after["escrow"]["released"] == 20000
    assert proposal(api, oid, made["id"])["decided_by"] == "system"
    ledger_clean(api)


def test_any_other_proposal_lapses_as_expired_after_its_ttl(api):
    oid = accepted_order(api)
    made = propose(api, oid, {"kind": "extension", "due_at": clock.to_iso(
        clock.now() + timedelta(days=30))}, user=PROVIDER).json
    assert abs((datetime.fromisoformat(made["expires_at"]) - clock.now()).total_seconds()
               - 3 * DAY) < 5
    assert made["on_expiry"] == "lapse"
    travel(2 * DAY + HOUR)
    sweep(api)
    assert proposal(api, oid, made["id"])["status"] == "open"
    travel(DAY)
    sweep(api)
    lapsed = proposal(api, oid, made["id"])
    assert (lapsed["status"], lapsed["decided_by"]) == ("expired", "system")
    assert order(api, oid)["status"] == "in_progress"
    assert order(api, oid)["open_proposal"] is None
    late = answer(api, oid, made["id"], "accept", BUYER)
    assert late.status == 409 and late.json["error"]["code"] == "PROPOSAL_NOT_OPEN"


def test_a_refund_request_withdraws_the_open_proposal(api):
    oid = accepted_order(api, price=50000)
    other = propose(api, oid, {"kind": "extension", "due_at": clock.to_iso(
        clock.now() + timedelta(days=30))}, user=PROVIDER).json
    asked = propose(api, oid, {"kind": "partial_refund", "refund": 100, "reason": "少一页"})
    assert asked.status == 201, asked
    assert proposal(api, oid, other["id"])["status"] == "withdrawn"
    assert order(api, oid)["open_proposal"] == asked.json["id"]
    # But a refund request is not replaced by another one, nor by the provider's proposal.
    again = propose(api, oid, {"kind": "cancel", "refund": 0})
    assert again.status == 409 and again.json["error"]["code"] == "PROPOSAL_PENDING"


def test_auto_approval_waits_while_a_refund_request_is_open(api):
    oid = accepted_order(api, price=50000)
    assert deliver(api, oid).status == 200
    travel(6 * DAY)
    made = propose(api, oid, {"kind": "partial_refund", "refund": 100, "reason": "少一页"}).json
    assert "auto_approve_at" not in order(api, oid)["deadlines"]
    travel(DAY + HOUR)  # past the review window, within the answer window
    sweep(api)
    assert order(api, oid)["status"] == "in_review"
    assert answer(api, oid, made["id"], "decline", PROVIDER).status == 200
    assert "auto_approve_at" in order(api, oid)["deadlines"]


def test_the_provider_answering_first_leaves_the_sweep_nothing(api):
    oid = accepted_order(api, price=50000)
    made = propose(api, oid, {"kind": "partial_refund", "refund": 100, "reason": "少一页"}).json
    assert answer(api, oid, made["id"], "decline", PROVIDER).status == 200
    travel(3 * DAY)
    sweep(api)
    assert proposal(api, oid, made["id"])["status"] == "declined"
    assert order(api, oid)["escrow"]["refunded"] == 0


# --- escalation (小二介入) ----------------------------------------------------------
def test_a_declined_refund_request_is_escalated_into_the_dispute(api):
    oid = accepted_order(api, price=50000)
    made = propose(api, oid, {"kind": "partial_refund", "refund": 100, "reason": "少一页"}).json
    early = api.post(f"/orders/{oid}/dispute", {"reason": "不同意", "proposal_id": made["id"]},
                     user=BUYER)
    assert early.status == 409 and early.json["error"]["code"] == "INVALID_TRANSITION"
    assert answer(api, oid, made["id"], "decline", PROVIDER).status == 200
    unknown = api.post(f"/orders/{oid}/dispute", {"reason": "x", "proposal_id": "prop_nope"},
                       user=BUYER)
    assert unknown.status == 404
    opened = api.post(f"/orders/{oid}/dispute", {"reason": "服务商拒绝退款",
                                                 "proposal_id": made["id"]}, user=BUYER)
    assert opened.status == 200, opened
    assert opened.json["status"] == "disputed"
    assert opened.json["dispute"]["proposal_id"] == made["id"]


def test_opening_a_dispute_lapses_the_open_proposal(api):
    oid = accepted_order(api, price=50000)
    made = propose(api, oid, {"kind": "partial_refund", "refund": 100, "reason": "少一页"}).json
    assert api.post(f"/orders/{oid}/dispute", {"reason": "沟通不畅"}, user=PROVIDER).status == 200
    assert proposal(api, oid, made["id"])["status"] == "lapsed"
    assert "refund_answer_by" not in order(api, oid)["deadlines"]
