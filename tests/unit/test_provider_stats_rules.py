"""The provider's record as counters: the accept-time histogram and its median, and what
each kind of move adds."""
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.domain import provider_stats as record

PAID = datetime(2027, 1, 20, 2, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("seconds,bucket", [
    (0, 0), (60, 0), (61, 1), (300, 1), (301, 2), (3600, 4), (3601, 5), (86400, 9),
    (86401, 10), (604800, 12), (10**7, 12)])
def test_each_wait_falls_in_one_bucket(seconds, bucket):
    assert record.accept_bucket(seconds) == bucket


def counts(*waits):
    out = [0] * len(record.ACCEPT_BUCKETS)
    for w in waits:
        out[record.accept_bucket(w)] += 1
    return out


@pytest.mark.parametrize("waits,median", [
    ((), None), ((30,), 60), ((30, 4000, 90000), 7200), ((30, 40, 4000, 90000), 60),
    ((100000,) * 3 + (10,) * 2, 172800)])
def test_the_median_is_the_upper_edge_of_the_middle_bucket(waits, median):
    assert record.median_seconds(counts(*waits)) == median


def deltas(frm, to, *, paid=True, now=PAID + timedelta(hours=1), disputed=False,
           refunded=False, fault=None):
    return dict(record.move_deltas(from_status=frm, to_status=to,
                                   paid_at=PAID if paid else None, now=now,
                                   ever_disputed=disputed, refunded=refunded, fault=fault))


def test_an_acceptance_adds_its_wait_to_the_histogram():
    assert deltas("awaiting_provider", "in_progress") == {"accept_b04": 1}


def test_closing_a_paid_order_counts_its_refund_dispute_and_cancel():
    assert deltas("in_review", "completed") == {"closed_paid": 1}
    assert deltas("awaiting_provider", "rejected", refunded=True) == {
        "closed_paid": 1, "closed_refunded": 1}
    assert deltas("in_progress", "cancelled", refunded=True) == {
        "closed_paid": 1, "closed_refunded": 1, "closed_cancelled": 1}
    assert deltas("disputed", "resolved", refunded=True, disputed=True, fault="provider") == {
        "closed_paid": 1, "closed_refunded": 1, "closed_disputed": 1, "disputes_lost": 1}
    assert deltas("disputed", "resolved", disputed=True, fault="buyer") == {
        "closed_paid": 1, "closed_disputed": 1}


def test_unpaid_orders_and_moves_that_stay_open_count_nothing():
    assert deltas("awaiting_payment", "cancelled", paid=False) == {}
    assert deltas("in_progress", "in_review") == {}


@pytest.mark.parametrize("part,whole,share", [(0, 0, None), (0, 4, 0.0), (1, 3, 0.3333),
                                              (4, 4, 1.0)])
def test_rates_are_shares_of_closed_paid_orders(part, whole, share):
    assert record.rate(part, whole) == share
