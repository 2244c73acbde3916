"""Review rules: who reviews whom, what a rating is worth, and when reviewing is open.

After an order is completed each side may review the other once, within the review
window (15 days by default) counted from `completed_at`: the buyer reviews the
provider (moving the provider's and the service's standing), the provider reviews
the buyer (moving the buyer's credit). A rating is worth good +1, neutral 0, bad -1.

Reviews are blind: neither side reads the other's review before writing its own, or
before the window closed, so nobody can answer a bad review with a bad one. Once the
buyer's review may be read, the provider may answer it once.
"""
from datetime import datetime, timedelta

from chalicelib.domain.errors import Forbidden, NotFound, ReviewNotAllowed

RATING_POINTS = {"good": 1, "neutral": 0, "bad": -1}
RATINGS = tuple(RATING_POINTS)
BUYER, PROVIDER = "buyer", "provider"
# The party each author reviews.
AUTHOR_ROLES = (BUYER, PROVIDER)
REVIEWED_ROLE = {BUYER: PROVIDER, PROVIDER: BUYER}
REVIEWABLE_STATUS = "completed"
COMMENT_MAX = 500
REPLY_MAX = 500


def points(rating: str) -> int:
    """Credit points of a rating: good +1, neutral 0, bad -1."""
    try:
        return RATING_POINTS[rating]
    except KeyError:
        raise ValueError(f"unknown rating {rating!r}") from None


def author_role(user_id: str, buyer_id: str, provider_id: str) -> str | None:
    """The side `user_id` takes on an order, or None for anybody else."""
    if user_id == buyer_id:
        return BUYER
    if user_id == provider_id:
        return PROVIDER
    return None


def role_for_review(user_id: str, is_operator: bool, buyer_id: str, provider_id: str) -> str:
    """The author role of a caller who wants to review this order, or the refusal.

    Strangers cannot see the order at all (404); operators can see it but a review
    is the parties' own word (403).
    """
    role = author_role(user_id, buyer_id, provider_id)
    if role is not None:
        return role
    if is_operator:
        raise Forbidden("only the buyer or the provider of an order may review it")
    raise NotFound("no such order")


def review_deadline(completed_at: datetime, window_seconds: int) -> datetime:
    """The last instant at which a review is still accepted (inclusive)."""
    return completed_at + timedelta(seconds=window_seconds)


def check_review_allowed(*, status: str, completed_at: datetime | None, already_reviewed: bool,
                         now: datetime, window_seconds: int) -> None:
    """Raise ReviewNotAllowed unless this side may review now.

    Every refusal is 409 REVIEW_NOT_ALLOWED with `details.reason` (`not_completed`
    with `details.status`, `already_reviewed`, or `window_closed` with
    `details.deadline`), so clients branch on one code.
    """
    if status != REVIEWABLE_STATUS or completed_at is None:
        raise ReviewNotAllowed("the order is not completed", reason="not_completed",
                               status=status)
    if already_reviewed:
        raise ReviewNotAllowed("this side has already reviewed the order",
                               reason="already_reviewed")
    deadline = review_deadline(completed_at, window_seconds)
    if now > deadline:
        raise ReviewNotAllowed("the review window has closed", reason="window_closed",
                               deadline=deadline.isoformat(timespec="seconds"))


def credit_change(rating: str) -> dict:
    """The counters a rating moves on the reviewed party: credit and one ratings_* count."""
    return {"credit": points(rating), f"ratings_{rating}": 1}


def window_closed(completed_at: datetime | None, now: datetime, window_seconds: int) -> bool:
    return completed_at is not None and now > review_deadline(completed_at, window_seconds)


def other_side_readable(*, reviewed_by_buyer: bool, reviewed_by_provider: bool,
                        completed_at: datetime | None, now: datetime,
                        window_seconds: int) -> bool:
    """Whether each side may read the other's review: both have written theirs, or the
    window closed (a side that did not review by then has nothing left to protect)."""
    return (reviewed_by_buyer and reviewed_by_provider) or window_closed(
        completed_at, now, window_seconds)


def readable_by(viewer_role: str, author_role: str, other_side_is_readable: bool) -> bool:
    """Whether a viewer (a party, or an operator) may read one review of the order."""
    if viewer_role not in AUTHOR_ROLES:
        return True  # operators read everything, to settle disputes about reviews
    return viewer_role == author_role or other_side_is_readable


def check_reply_allowed(*, buyer_reviewed: bool, readable: bool, replied: bool,
                        side: str = BUYER) -> None:
    """Raise ReviewNotAllowed unless the reviewed party may answer `side`'s review now:
    it must exist, be readable by the one answering, and not be answered yet."""
    whose = f"the {side}'s review"
    if not buyer_reviewed:
        raise ReviewNotAllowed(f"the {side} has not reviewed the order", reason="not_reviewed")
    if not readable:
        raise ReviewNotAllowed(f"{whose} is sealed until you review the order or "
                               "the review window closes", reason="not_readable")
    if replied:
        raise ReviewNotAllowed(f"{whose} has been answered already", reason="already_replied")


FOLLOW_UP_MAX = 500


def check_follow_up_allowed(*, reviewed: bool, completed_at: datetime | None,
                            followed_up: bool, now: datetime, window_seconds: int) -> None:
    """Raise ReviewNotAllowed unless the buyer may add its one 追评 now: after its own
    review, within the follow-up window from completion."""
    if not reviewed or completed_at is None:
        raise ReviewNotAllowed("review the order before adding to your review",
                               reason="not_reviewed")
    if followed_up:
        raise ReviewNotAllowed("your review already has its follow-up",
                               reason="already_followed_up")
    deadline = completed_at + timedelta(seconds=window_seconds)
    if now > deadline:
        raise ReviewNotAllowed("follow-ups close 180 days after completion",
                               reason="window_closed",
                               deadline=deadline.isoformat(timespec="seconds"))


def delivered_on_time(first_delivered_at: datetime | None, due_at: datetime) -> bool:
    """A completed order counts as on time when its first delivery came by due_at."""
    return first_delivered_at is not None and first_delivered_at <= due_at


def on_time_rate(on_time: int, completed: int) -> float | None:
    """The share of completed orders delivered on time; None before the first one."""
    return round(on_time / completed, 4) if completed else None
