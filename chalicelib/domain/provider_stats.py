"""A provider's record as counters: what each order move adds, the rates they give, and
a bounded median.

Rates are fractions of the provider's paid orders that have closed. The median time to
accept (paid → accepted) comes from a histogram of ACCEPT_BUCKETS kept beside the
counters: each acceptance adds 1 to the bucket its seconds fall in, so the record stays
14 numbers however many orders there are. The median reported is the upper edge of the
bucket holding the middle acceptance (the ceil(n/2)-th fastest): an upper estimate, off
by at most that bucket's width (one minute near the start, a day near the end).
"""
from collections import Counter
from datetime import datetime

# Upper edges in seconds: 1, 5, 10, 30 min; 1, 2, 4, 8, 12 h; 1, 2, 3, 7 days. The last
# bucket also takes anything slower (reported as its edge: "a week or more").
ACCEPT_BUCKETS = (60, 300, 600, 1800, 3600, 7200, 14400, 28800, 43200, 86400, 172800,
                  259200, 604800)
CLOSED_STATUSES = frozenset({"completed", "rejected", "expired", "cancelled", "resolved"})
FAULTS = ("buyer", "provider", "none")


def accept_bucket(seconds: float) -> int:
    """The index of the histogram bucket an acceptance after `seconds` falls in."""
    for i, edge in enumerate(ACCEPT_BUCKETS):
        if seconds <= edge:
            return i
    return len(ACCEPT_BUCKETS) - 1


def bucket_name(index: int) -> str:
    return f"accept_b{index:02d}"


def reply_bucket_name(index: int) -> str:
    """The histogram of seconds from an inquiry to the provider's first reply (询单响应),
    on the same bucket edges as acceptances."""
    return f"reply_b{index:02d}"


def median_seconds(counts: list[int]) -> int | None:
    """The upper edge of the bucket holding the ceil(n/2)-th value; None with none."""
    total = sum(counts)
    if not total:
        return None
    middle = (total + 1) // 2
    seen = 0
    for i, n in enumerate(counts):
        seen += n
        if seen >= middle:
            return ACCEPT_BUCKETS[i]
    raise AssertionError("unreachable: the counts add up to total")


def rate(part: int, whole: int) -> float | None:
    """A share rounded to 4 places; None before the first closed paid order."""
    return round(part / whole, 4) if whole else None


def move_deltas(*, from_status: str, to_status: str, paid_at: datetime | None,
                now: datetime, ever_disputed: bool, refunded: bool,
                fault: str | None) -> Counter:
    """What one order move adds to its provider's counters (a pay's repeat-buyer count
    needs the pair's history, so the caller adds it)."""
    out: Counter = Counter()
    if from_status == "awaiting_provider" and to_status == "in_progress" and paid_at:
        out[bucket_name(accept_bucket((now - paid_at).total_seconds()))] += 1
    closing = to_status in CLOSED_STATUSES and from_status not in CLOSED_STATUSES
    if closing and paid_at is not None:
        out["closed_paid"] += 1
        out["closed_refunded"] += 1 if refunded else 0
        out["closed_disputed"] += 1 if (ever_disputed or to_status == "resolved") else 0
        out["closed_cancelled"] += 1 if to_status == "cancelled" else 0
    if to_status == "resolved" and fault == "provider":
        out["disputes_lost"] += 1
    return +out
