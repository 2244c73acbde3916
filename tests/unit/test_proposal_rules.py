"""The proposal rules, without AWS: terms, who answers, how a status reads."""
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.domain import orders as life
from chalicelib.domain import proposals as deals
from chalicelib.domain import escrow as money
from chalicelib.domain.errors import Forbidden, InvalidTransition, ValidationFailed

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=timezone.utc)


def test_an_extension_names_a_future_due_date():
    later = NOW + timedelta(days=3)
    assert deals.terms("extension", due_at=later, refund=None, now=NOW, held=100) == {
        "due_at": later}
    for due_at in (NOW, NOW - timedelta(seconds=1), None):
        with pytest.raises(ValidationFailed):
            deals.terms("extension", due_at=due_at, refund=None, now=NOW, held=100)
    with pytest.raises(ValidationFailed):
        deals.terms("extension", due_at=later, refund=0, now=NOW, held=100)


@pytest.mark.parametrize("refund,ok", [(0, True), (1, True), (100, True), (101, False),
                                       (-1, False), (None, False)])
def test_a_cancel_refunds_zero_to_held_and_releases_the_rest(refund, ok):
    if ok:
        assert deals.terms("cancel", due_at=None, refund=refund, now=NOW, held=100) == {
            "refund": refund, "release": 100 - refund}
    else:
        with pytest.raises(ValidationFailed):
            deals.terms("cancel", due_at=None, refund=refund, now=NOW, held=100)


def test_nothing_held_means_only_a_zero_refund():
    assert deals.terms("cancel", due_at=None, refund=0, now=NOW, held=0)["release"] == 0
    with pytest.raises(ValidationFailed):
        deals.terms("cancel", due_at=None, refund=1, now=NOW, held=0)


@pytest.mark.parametrize("verb,author,role,allowed", [
    ("accept", "buyer", "provider", True), ("accept", "buyer", "buyer", False),
    ("decline", "provider", "buyer", True), ("decline", "provider", "provider", False),
    ("withdraw", "buyer", "buyer", True), ("withdraw", "buyer", "provider", False),
    ("accept", "buyer", "operator", False), ("withdraw", "buyer", "operator", False),
    ("accept", "buyer", "system", False)])
def test_the_other_party_answers_and_the_author_withdraws(verb, author, role, allowed):
    if allowed:
        deals.check_answer(verb, author, role)
    else:
        with pytest.raises(Forbidden):
            deals.check_answer(verb, author, role)


def test_answers_are_actions_of_the_transition_table():
    assert deals.action_for("accept", "extension") == life.ACCEPT_EXTENSION
    assert deals.action_for("accept", "cancel") == life.ACCEPT_CANCEL
    assert deals.action_for("decline", "cancel") == life.DECLINE_PROPOSAL
    assert deals.action_for("withdraw", "extension") == life.WITHDRAW_PROPOSAL
    for verb in ("accept", "decline", "withdraw"):
        for kind in deals.KINDS:
            assert deals.action_for(verb, kind) in life.ACTIONS


def test_an_open_proposal_the_order_no_longer_holds_has_lapsed():
    assert deals.shown_status("open", True) == "open"
    assert deals.shown_status("open", False) == "lapsed"
    assert deals.shown_status("declined", False) == "declined"


# --- after-sale (售后) ------------------------------------------------------------
@pytest.mark.parametrize("refund,ok", [(1, True), (99, True), (0, False), (100, False),
                                       (None, False)])
def test_a_partial_refund_leaves_something_held(refund, ok):
    if ok:
        assert deals.terms("partial_refund", due_at=None, refund=refund, now=NOW, held=100,
                           reason="少做了一页") == {"refund": refund}
    else:
        with pytest.raises(ValidationFailed):
            deals.terms("partial_refund", due_at=None, refund=refund, now=NOW, held=100,
                        reason="少做了一页")


def test_a_partial_refund_needs_a_reason():
    for reason in (None, "", "   "):
        with pytest.raises(ValidationFailed):
            deals.terms("partial_refund", due_at=None, refund=10, now=NOW, held=100,
                        reason=reason)


@pytest.mark.parametrize("role,state,refused", [
    ("buyer", "in_progress", None), ("buyer", "in_review", None),
    ("provider", "in_progress", Forbidden), ("buyer", "awaiting_provider", InvalidTransition)])
def test_a_partial_refund_is_the_buyers_while_work_is_under_way(role, state, refused):
    if refused is None:
        deals.check_kind("partial_refund", role, state)
    else:
        with pytest.raises(refused):
            deals.check_kind("partial_refund", role, state)


@pytest.mark.parametrize("kind,role,state,is_request", [
    ("cancel", "buyer", "in_progress", True), ("partial_refund", "buyer", "in_review", True),
    ("cancel", "buyer", "awaiting_provider", False), ("cancel", "provider", "in_progress", False),
    ("extension", "buyer", "in_progress", False)])
def test_which_proposals_are_refund_requests(kind, role, state, is_request):
    assert deals.is_refund_request(kind, role, state) is is_request


def test_a_refund_request_expires_sooner_than_other_proposals():
    answer, ttl = timedelta(hours=48), timedelta(hours=72)
    assert deals.expires_at(NOW, True, refund_answer=answer, ttl=ttl) == NOW + answer
    assert deals.expires_at(NOW, False, refund_answer=answer, ttl=ttl) == NOW + ttl
    assert deals.action_for("accept", "partial_refund") == life.ACCEPT_PARTIAL_REFUND


@pytest.mark.parametrize("plan,refund,touched", [
    ([100], 30, [(0, 70, "pending")]),
    ([50, 50], 60, [(1, 0, "refunded"), (0, 40, "pending")]),
    ([50, 50], 50, [(1, 0, "refunded")]),
])
def test_a_partial_refund_comes_off_the_last_steps_first(plan, refund, touched):
    steps = [{"amount": a, "status": "pending"} for a in plan]
    assert money.refund_off_last_steps(steps, refund) == touched


def test_a_partial_refund_skips_settled_steps_and_never_takes_everything():
    steps = [{"amount": 30, "status": "released"}, {"amount": 70, "status": "pending"}]
    assert money.refund_off_last_steps(steps, 20) == [(1, 50, "pending")]
    with pytest.raises(ValueError):
        money.refund_off_last_steps(steps, 70)
