"""The proposal rules, without AWS: terms, who answers, how a status reads."""
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.domain import orders as life
from chalicelib.domain import proposals as deals
from chalicelib.domain.errors import Forbidden, ValidationFailed

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
