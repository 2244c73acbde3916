"""Review rules without AWS: rating points, who reviews whom, the 15-day window."""
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.domain import reviews as rules
from chalicelib.domain.errors import Forbidden, NotFound, ReviewNotAllowed

DAY = 24 * 3600
WINDOW = 15 * DAY
COMPLETED = datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc)


def allowed(**overrides):
    args = {"status": "completed", "completed_at": COMPLETED, "already_reviewed": False,
            "now": COMPLETED + timedelta(days=1), "window_seconds": WINDOW}
    args.update(overrides)
    rules.check_review_allowed(**args)


@pytest.mark.parametrize("rating, points", [("good", 1), ("neutral", 0), ("bad", -1)])
def test_a_rating_is_worth_plus_one_zero_or_minus_one(rating, points):
    assert rules.points(rating) == points
    assert rules.credit_change(rating) == {"credit": points, f"ratings_{rating}": 1}


def test_an_unknown_rating_is_refused():
    with pytest.raises(ValueError):
        rules.points("excellent")


def test_the_buyer_reviews_the_provider_and_the_provider_the_buyer():
    assert rules.author_role("buyer-1", "buyer-1", "provider-1") == "buyer"
    assert rules.author_role("provider-1", "buyer-1", "provider-1") == "provider"
    assert rules.REVIEWED_ROLE == {"buyer": "provider", "provider": "buyer"}


def test_a_stranger_cannot_see_the_order_to_review_it():
    with pytest.raises(NotFound):
        rules.role_for_review("buyer-2", False, "buyer-1", "provider-1")


def test_an_operator_sees_the_order_but_may_not_review_it():
    with pytest.raises(Forbidden):
        rules.role_for_review("op-1", True, "buyer-1", "provider-1")


def test_an_operator_who_is_the_buyer_reviews_as_the_buyer():
    assert rules.role_for_review("op-1", True, "op-1", "provider-1") == "buyer"


def test_a_review_is_allowed_the_day_after_completion():
    allowed()


@pytest.mark.parametrize("status", ["awaiting_payment", "in_progress", "in_review",
                                    "cancelled", "disputed", "resolved"])
def test_only_a_completed_order_can_be_reviewed(status):
    with pytest.raises(ReviewNotAllowed) as caught:
        allowed(status=status)
    assert caught.value.details == {"reason": "not_completed", "status": status}


def test_each_side_reviews_once():
    with pytest.raises(ReviewNotAllowed) as caught:
        allowed(already_reviewed=True)
    assert caught.value.details["reason"] == "already_reviewed"


def test_the_window_includes_its_last_second():
    allowed(now=COMPLETED + timedelta(seconds=WINDOW))


def test_the_window_is_closed_one_second_after_15_days():
    with pytest.raises(ReviewNotAllowed) as caught:
        allowed(now=COMPLETED + timedelta(seconds=WINDOW + 1))
    assert caught.value.details == {"reason": "window_closed",
                                    "deadline": "2026-11-16T08:00:00+00:00"}


def test_a_review_refusal_is_a_409_review_not_allowed():
    assert (ReviewNotAllowed.status, ReviewNotAllowed.code) == (409, "REVIEW_NOT_ALLOWED")


# --- blind reviews, the provider's answer, the order record ---------------------------
def readable(**overrides):
    args = {"reviewed_by_buyer": True, "reviewed_by_provider": False, "completed_at": COMPLETED,
            "now": COMPLETED + timedelta(days=1), "window_seconds": WINDOW}
    args.update(overrides)
    return rules.other_side_readable(**args)


def test_a_review_is_sealed_until_both_reviewed_or_the_window_closed():
    assert not readable()
    assert readable(reviewed_by_provider=True)
    assert not readable(now=COMPLETED + timedelta(seconds=WINDOW))  # the last second: open
    assert readable(now=COMPLETED + timedelta(seconds=WINDOW + 1))
    assert not readable(reviewed_by_buyer=False, completed_at=None)


@pytest.mark.parametrize("viewer, author, unsealed, expected", [
    ("buyer", "buyer", False, True), ("buyer", "provider", False, False),
    ("provider", "buyer", False, False), ("provider", "buyer", True, True),
    ("operator", "buyer", False, True), ("operator", "provider", False, True)])
def test_who_reads_which_review(viewer, author, unsealed, expected):
    assert rules.readable_by(viewer, author, unsealed) is expected


@pytest.mark.parametrize("state, reason", [
    ({"buyer_reviewed": False, "readable": False, "replied": False}, "not_reviewed"),
    ({"buyer_reviewed": True, "readable": False, "replied": False}, "not_readable"),
    ({"buyer_reviewed": True, "readable": True, "replied": True}, "already_replied")])
def test_the_provider_answers_a_readable_unanswered_review(state, reason):
    with pytest.raises(ReviewNotAllowed) as caught:
        rules.check_reply_allowed(**state)
    assert caught.value.details["reason"] == reason
    rules.check_reply_allowed(buyer_reviewed=True, readable=True, replied=False)


def test_on_time_is_the_first_delivery_by_due_at():
    due = COMPLETED
    assert rules.delivered_on_time(due, due)
    assert not rules.delivered_on_time(due + timedelta(seconds=1), due)
    assert not rules.delivered_on_time(None, due)
    assert rules.on_time_rate(0, 0) is None
    assert rules.on_time_rate(2, 3) == 0.6667 and rules.on_time_rate(3, 3) == 1.0
