"""Which day counters a change moves, and how a range reads back: pure, no AWS."""
from datetime import datetime, timezone

import pytest

from chalicelib.domain import analytics as rules
from chalicelib.domain import escrow as money
from chalicelib.domain.errors import ValidationFailed

P = "provider-1"


@pytest.mark.parametrize("utc,day", [
    (datetime(2026, 12, 1, 15, 59, 59, tzinfo=timezone.utc), "2026-12-01"),
    (datetime(2026, 12, 1, 16, 0, 0, tzinfo=timezone.utc), "2026-12-02"),  # Beijing midnight
    (datetime(2026, 12, 31, 16, 0, 0, tzinfo=timezone.utc), "2027-01-01"),
])
def test_a_day_is_a_beijing_day(utc, day):
    assert rules.day_of(utc) == day


@pytest.mark.parametrize("kind,to,amount,deltas", [
    (money.FUND, "escrow:o", 500, {rules.MARKET: {"funded": 500}}),
    (money.RELEASE, money.payable_account(P), 450,
     {rules.MARKET: {"released": 450}, P: {"released": 450}}),
    (money.FEE, money.REVENUE, 50, {rules.MARKET: {"released": 50, "platform_revenue": 50}}),
    (money.FEE_REVERSAL, "escrow:o", 50, {rules.MARKET: {"platform_revenue": -50}}),
    (money.REFUND, money.GATEWAY, 300, {rules.MARKET: {"refunded": 300}}),
    (money.REVERSAL, "escrow:o", 450, {}),
    (money.DEBT_REPAYMENT, "debt:p", 10, {}),
    ("withdrawal", "withdrawing:p", 100, {}),
])
def test_each_posting_moves_its_money_figures(kind, to, amount, deltas):
    assert rules.posting_deltas(kind, to, amount) == deltas


def test_an_order_move_counts_pay_completion_and_dispute():
    assert rules.order_move_deltas(P, funded=True, completed=False, disputed=False) == {
        rules.MARKET: {"orders_paid": 1}, P: {"orders_paid": 1}}
    assert rules.order_move_deltas(P, funded=False, completed=True, disputed=False) == {
        rules.MARKET: {"orders_completed": 1}}
    assert rules.order_move_deltas(P, funded=False, completed=False, disputed=True) == {
        rules.MARKET: {"disputes_opened": 1}}
    assert rules.order_move_deltas(P, funded=False, completed=False, disputed=False) == {}


def test_a_buyer_counts_once_a_day_and_converts_when_it_did_both():
    none = frozenset()
    after, deltas = rules.buyer_mark(none, rules.INQUIRED)
    assert deltas == {"inquiring_buyers": 1}
    assert rules.buyer_mark(after, rules.INQUIRED) is None  # asked again: nothing moves
    both, deltas = rules.buyer_mark(after, rules.PAID)
    assert deltas == {"paying_buyers": 1, "converted_buyers": 1}
    assert rules.buyer_mark(both, rules.PAID) is None
    _, deltas = rules.buyer_mark(frozenset({rules.PAID}), rules.INQUIRED)
    assert deltas == {"inquiring_buyers": 1, "converted_buyers": 1}


def test_a_range_is_every_day_both_ends_included_up_to_366():
    assert rules.days_between("2028-02-28", "2028-03-01") == [
        "2028-02-28", "2028-02-29", "2028-03-01"]
    assert len(rules.days_between("2028-01-01", "2028-12-31")) == 366
    for first, last, field in (("2027-01-01", "2028-01-02", "to"),  # 367 days
                               ("2026-12-02", "2026-12-01", "to"),
                               ("2026-02-30", "2026-03-01", "from"), (None, "2026-03-01", "from"),
                               ("2026-03-01", "20260302", "to")):
        with pytest.raises(ValidationFailed) as refused:
            rules.days_between(first, last)
        assert field in str(refused.value.details), (first, last)


def test_conversion_is_converted_over_inquiring_and_null_without_inquiries():
    days = ["2026-12-01", "2026-12-02", "2026-12-03"]
    totals = {"2026-12-01": {"inquiring_buyers": 3, "converted_buyers": 1, "paying_buyers": 2},
              "2026-12-02": {"paying_buyers": 1}}
    got = rules.provider_days(days, totals)
    assert [d["conversion"] for d in got] == [0.3333, None, None]
    assert got[0]["paying_buyers"] == 2 and got[2]["inquiries"] == 0
    assert list(got[0]) == ["day", *rules.PROVIDER_FIELDS]
    assert "converted_buyers" not in got[0]
