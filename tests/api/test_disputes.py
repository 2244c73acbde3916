"""Disputes the parties take part in (issue 24), moto only (the rules, not the engine;
the races are tests/integration/test_dispute_races.py): evidence (举证) from both sides
until the window closes, the opener's withdrawal back to where the order was with its
timers restarted, and the parties settling a dispute with a cancel proposal."""
from datetime import datetime, timedelta

import pytest
import requests
from chalice.test import Client

from chalicelib import clock
from tests.api.messages_support import attach
from tests.api.orders_support import (BUYER, OPERATOR, PROVIDER, accepted_order, deliver,
                                      ledger_clean, paid_order)
from tests.jobs.sweep_support import DAY, HOUR, kinds, sweep, travel
from tests.support import ApiClient, fresh_sandbox

AS_OPERATOR = {"user": OPERATOR, "operator": True}


@pytest.fixture
def api(moto_aws, chalice_app):
    fresh_sandbox()
    with Client(chalice_app, stage_name="local") as client:
        yield ApiClient(client)


def dispute(api, oid, user=BUYER):
    opened = api.post(f"/orders/{oid}/dispute", {"reason": "交付物与需求不符"}, user=user)
    assert opened.status == 200, opened
    return opened.json


def order(api, oid, user=BUYER):
    return api.get(f"/orders/{oid}", user=user).json


def give(api, oid, statement="首页没有用品牌红", user=BUYER, **body):
    return api.post(f"/orders/{oid}/evidence", {"statement": statement, **body}, user=user)


def evidence(api, oid, **who):
    reply = api.get(f"/orders/{oid}/evidence?limit=100", **(who or {"user": BUYER}))
    assert reply.status == 200, reply
    return reply.json["items"]


def withdraw(api, oid, user=BUYER):
    return api.post(f"/orders/{oid}/dispute/withdraw", user=user)


def near(iso: str, expected: datetime) -> bool:
    return abs((datetime.fromisoformat(iso) - expected).total_seconds()) < 5


# --- evidence (举证) ------------------------------------------------------------------
def test_both_parties_give_evidence_with_files_and_everyone_reads_both_sides(api):
    oid = accepted_order(api)
    opened = dispute(api, oid)
    until = opened["deadlines"]["evidence_until"]
    assert near(until, clock.now() + timedelta(days=3))
    assert "evidence" in opened["allowed_actions"]
    shot = attach(api, oid, b"chat screenshot", filename="沟通截图.png")
    mine = give(api, oid, file_ids=[shot])
    assert mine.status == 201, mine
    assert [f["file_id"] for f in mine.json["files"]] == [shot]
    assert near(mine.json["dispute_at"], datetime.fromisoformat(
        opened["dispute"]["at"].replace("Z", "+00:00")))
    clock.advance(60)
    theirs = give(api, oid, "买家中途改了需求，聊天记录为证", user=PROVIDER)
    assert theirs.status == 201, theirs
    for who in ({"user": BUYER}, {"user": PROVIDER}, AS_OPERATOR):
        items = evidence(api, oid, **who)
        assert [(e["role"], e["statement"][:2]) for e in items] == [
            ("buyer", "首页"), ("provider", "买家")], who
    # The file belongs to the record now: the other side and operators download it.
    link = api.get(f"/orders/{oid}/attachments/{shot}", user=PROVIDER)
    assert link.status == 200 and requests.get(link.json["url"], timeout=10).content == \
        b"chat screenshot"
    assert "evidence" in kinds(api, PROVIDER) and "evidence" in kinds(api, BUYER)
    # A file goes into one record only.
    again = give(api, oid, "同一张截图", file_ids=[shot])
    assert again.status == 422 and again.error_code == "VALIDATION_FAILED"


def test_evidence_closes_with_its_window(api):
    oid = accepted_order(api)
    dispute(api, oid, user=PROVIDER)
    travel(3 * DAY - 60)
    assert give(api, oid).status == 201
    travel(120)
    late = give(api, oid, user=PROVIDER)
    assert late.status == 409 and late.error_code == "EVIDENCE_CLOSED", late
    assert late.json["error"]["details"]["evidence_until"]
    assert "evidence" not in order(api, oid)["allowed_actions"]
    assert len(evidence(api, oid)) == 1  # what was given stays readable


def test_who_may_give_evidence_and_how_much(api):
    oid = accepted_order(api)
    before = give(api, oid)
    assert before.status == 409 and before.error_code == "INVALID_TRANSITION"
    dispute(api, oid)
    operator = api.post(f"/orders/{oid}/evidence", {"statement": "小二"}, **AS_OPERATOR)
    assert operator.status == 403 and operator.error_code == "FORBIDDEN"
    stranger = give(api, oid, user="buyer-9")
    assert stranger.status == 404
    assert api.get(f"/orders/{oid}/evidence", user="buyer-9").status == 404
    for body in ({"statement": ""}, {"statement": "长" * 2001},
                 {"statement": "x", "file_ids": [f"file_{i}" for i in range(11)]}):
        refused = api.post(f"/orders/{oid}/evidence", body, user=BUYER)
        assert refused.status == 422 and refused.error_code == "VALIDATION_FAILED", body
    # Another party's upload is as unknown to the caller as a made-up id.
    theirs = attach(api, oid, b"provider's", user=PROVIDER)
    assert give(api, oid, file_ids=[theirs]).status == 422
    for n in range(10):
        assert give(api, oid, f"第{n}条").status == 201
    over = give(api, oid, "第十一条")
    assert over.status == 422 and over.error_code == "VALIDATION_FAILED"
    assert over.json["error"]["details"]["errors"][0]["maximum"] == 10
    assert give(api, oid, user=PROVIDER).status == 201  # each party has its own count


def test_evidence_with_an_idempotency_key_is_recorded_once(api):
    oid = accepted_order(api)
    dispute(api, oid)
    key = {"Idempotency-Key": "举证-1"}
    first = api.post(f"/orders/{oid}/evidence", {"statement": "一次"}, user=BUYER, headers=key)
    second = api.post(f"/orders/{oid}/evidence", {"statement": "一次"}, user=BUYER, headers=key)
    assert first.status == second.status == 201 and first.json["id"] == second.json["id"]
    assert len(evidence(api, oid)) == 1


# --- withdrawal -----------------------------------------------------------------------
def test_the_opener_withdraws_and_the_accept_window_starts_again(api):
    oid = paid_order(api)
    travel(6 * DAY)  # one day of the accept window left
    dispute(api, oid, user=PROVIDER)
    travel(5 * DAY)
    other = withdraw(api, oid, user=BUYER)
    assert other.status == 403 and other.error_code == "FORBIDDEN"
    assert "withdraw-dispute" not in order(api, oid)["allowed_actions"]
    assert "withdraw-dispute" in order(api, oid, PROVIDER)["allowed_actions"]
    back = withdraw(api, oid, user=PROVIDER)
    assert back.status == 200, back
    assert back.json["status"] == "awaiting_provider"
    assert near(back.json["deadlines"]["accept_by"], clock.now() + timedelta(days=7))
    assert "evidence_until" not in back.json["deadlines"]
    assert back.json["dispute"]["withdrawn_at"]
    assert back.json["escrow"]["held"] == back.json["amount"]  # no money moved
    events = api.get(f"/orders/{oid}/events", user=BUYER).json["items"]
    assert (events[-1]["type"], events[-1]["from"], events[-1]["to"]) == (
        "dispute_withdrawn", "disputed", "awaiting_provider")
    assert "dispute_withdrawn" in kinds(api, BUYER)
    # The restarted window is the one the sweep keeps: a day later nothing expires.
    travel(DAY)
    sweep(api)
    assert order(api, oid)["status"] == "awaiting_provider"
    assert api.post(f"/orders/{oid}/accept", user=PROVIDER).status == 200
    # Withdrawn is over: nothing more to resolve, withdraw or give evidence for.
    assert withdraw(api, oid, user=PROVIDER).error_code == "INVALID_TRANSITION"
    assert give(api, oid).error_code == "INVALID_TRANSITION"
    ledger_clean(api)


def test_a_withdrawn_review_gets_a_fresh_auto_approval_window_and_late_cancel_stays(api):
    oid = accepted_order(api)
    due = datetime.fromisoformat(order(api, oid)["due_at"])
    assert deliver(api, oid).status == 200
    travel(6 * DAY)
    dispute(api, oid)
    travel(2 * DAY)  # past the first review window
    back = withdraw(api, oid)
    assert back.status == 200 and back.json["status"] == "in_review", back
    assert near(back.json["deadlines"]["auto_approve_at"], clock.now() + timedelta(days=7))
    assert "request-revision" in back.json["allowed_actions"]
    assert api.post(f"/orders/{oid}/request-revision", {"note": "再改一版"},
                    user=BUYER).status == 200
    # Back in progress, the late-cancel clock is due_at's, whatever the dispute did.
    assert near(order(api, oid)["deadlines"]["late_cancel_from"], due + timedelta(days=15))


def test_the_operator_cannot_resolve_a_withdrawn_dispute(api):
    oid = accepted_order(api)
    dispute(api, oid)
    assert withdraw(api, oid).status == 200
    held = order(api, oid)["escrow"]["held"]
    late = api.post(f"/admin/orders/{oid}/resolve",
                    {"refund": held, "release": 0, "fault": "none"}, **AS_OPERATOR)
    assert late.status == 409 and late.error_code == "INVALID_TRANSITION"
    queue = api.get("/admin/orders?status=disputed", **AS_OPERATOR).json["items"]
    assert oid not in [o["id"] for o in queue]


# --- settled by the parties -----------------------------------------------------------
def test_a_cancel_accepted_while_disputed_settles_it_with_the_agreed_split(api):
    oid = accepted_order(api, price=50000)
    dispute(api, oid)
    assert order(api, oid)["proposal_kinds"] == ["cancel"]
    for kind in ({"kind": "partial_refund", "refund": 100, "reason": "少一页"},
                 {"kind": "extension", "due_at": clock.to_iso(clock.now() + timedelta(days=30))}):
        refused = api.post(f"/orders/{oid}/proposals", kind, user=BUYER)
        assert refused.status == 409 and refused.error_code == "INVALID_TRANSITION", kind
    offer = api.post(f"/orders/{oid}/proposals", {"kind": "cancel", "refund": 30000},
                     user=PROVIDER)
    assert offer.status == 201, offer
    assert offer.json["on_expiry"] == "lapse"
    shown = order(api, oid)
    assert shown["deadlines"]["proposal_expires_at"] == offer.json["expires_at"]
    assert "evidence_until" in shown["deadlines"]
    settled = api.post(f"/orders/{oid}/proposals/{offer.json['id']}/accept", user=BUYER)
    assert settled.status == 200, settled
    after = order(api, oid)
    assert after["status"] == "cancelled"
    assert (after["escrow"]["refunded"], after["escrow"]["released"], after["escrow"]["held"]) \
        == (30000, 20000, 0)
    assert api.get("/me/balance", user=PROVIDER).json["available"] == 20000
    again = api.post(f"/orders/{oid}/proposals/{offer.json['id']}/accept", user=BUYER)
    assert again.status == 409
    ledger_clean(api)


def test_a_settlement_offer_lapses_with_its_ttl_or_the_operators_decision(api):
    oid = accepted_order(api, price=50000)
    dispute(api, oid)
    offer = api.post(f"/orders/{oid}/proposals", {"kind": "cancel", "refund": 50000},
                     user=BUYER).json
    travel(3 * DAY + HOUR)
    sweep(api)
    lapsed = api.get(f"/orders/{oid}/proposals/{offer['id']}", user=BUYER).json
    assert (lapsed["status"], lapsed["decided_by"]) == ("expired", "system")
    assert order(api, oid)["status"] == "disputed"  # the sweep never settles for them
    second = api.post(f"/orders/{oid}/proposals", {"kind": "cancel", "refund": 0},
                      user=PROVIDER).json
    assert api.post(f"/admin/orders/{oid}/resolve", {"refund": 50000, "release": 0,
                                                     "fault": "provider"},
                    **AS_OPERATOR).status == 200
    assert api.get(f"/orders/{oid}/proposals/{second['id']}",
                   user=BUYER).json["status"] == "lapsed"
    ledger_clean(api)


def test_an_offer_open_at_withdrawal_stays_open_with_a_fresh_answer_window(api):
    oid = accepted_order(api, price=50000)
    dispute(api, oid)
    offer = api.post(f"/orders/{oid}/proposals", {"kind": "cancel", "refund": 20000},
                     user=BUYER).json
    travel(DAY)
    back = withdraw(api, oid)
    assert back.status == 200 and back.json["open_proposal"] == offer["id"], back
    # Back in progress, a buyer's cancel is a refund request: 48 h from now to answer it.
    kept = api.get(f"/orders/{oid}/proposals/{offer['id']}", user=BUYER).json
    assert (kept["status"], kept["on_expiry"]) == ("open", "accept")
    assert near(kept["expires_at"], clock.now() + timedelta(days=2))
    assert back.json["deadlines"]["refund_answer_by"] == kept["expires_at"]
    travel(2 * DAY + 60)
    sweep(api)
    assert order(api, oid)["status"] == "cancelled"
    assert order(api, oid)["escrow"]["refunded"] == 20000
    ledger_clean(api)
