"""The platform fee without AWS: floor(amount × bps / 10000) fen per release, the two
postings a release makes, and the settings that refuse a bad PLATFORM_FEE_BPS."""
import pytest
from hypothesis import given, strategies as st

from chalicelib import settings
from chalicelib.domain import escrow as money


@pytest.mark.parametrize("amount, bps, fee", [
    (50000, 500, 2500),   # 5% of 500.00 is 25.00
    (999, 250, 24),       # 24.975 fen: the fraction stays with the provider
    (1, 9999, 0),         # a fen the platform cannot take whole is never taken
    (333, 300, 9),        # 9.99
    (12345, 10000, 12345),
    (12345, 0, 0),
])
def test_the_fee_is_rounded_down_to_the_fen(amount, bps, fee):
    assert money.platform_fee(amount, bps) == fee


def test_each_release_is_rounded_on_its_own():
    # A 1000-fen order in two steps at 2.5% pays 8 + 16 = 24 fen, where one release
    # of the whole would pay 25: the rule is per release, as stated in the README.
    assert money.platform_fee(333, 250) + money.platform_fee(667, 250) == 24
    assert money.platform_fee(1000, 250) == 25


@pytest.mark.parametrize("bps", [-1, 10001, 2.5, "500", True])
def test_a_fee_outside_0_to_10000_basis_points_is_refused(bps):
    with pytest.raises(ValueError):
        money.platform_fee(1000, bps)


@given(st.integers(min_value=1, max_value=10**12), st.integers(min_value=0, max_value=10000))
def test_the_fee_is_the_floor_and_the_release_still_moves_the_whole_amount(amount, bps):
    fee = money.platform_fee(amount, bps)
    assert fee * 10000 <= amount * bps < (fee + 1) * 10000
    parts = money.release_postings("o1", "p1", amount, fee)
    assert sum(p.amount for _, p in parts) == amount
    assert all(p.amount > 0 and p.from_account == "escrow:o1" for _, p in parts)
    by_kind = {kind: p for kind, p in parts}
    assert by_kind.get("fee", money.Posting("", "", 0)).amount == fee
    assert by_kind.get("release", money.Posting("", "", 0)).amount == amount - fee


def test_a_release_pays_the_provider_and_the_platform_from_escrow():
    assert money.release_postings("o1", "p1", 50000, 2500) == [
        ("release", money.Posting("escrow:o1", "payable:p1", 47500)),
        ("fee", money.Posting("escrow:o1", "revenue", 2500))]
    assert money.release_postings("o1", "p1", 50000, 0) == [
        ("release", money.Posting("escrow:o1", "payable:p1", 50000))]
    with pytest.raises(ValueError):
        money.release_postings("o1", "p1", 100, 101)


def test_only_postings_on_a_payable_account_belong_to_a_statement():
    assert money.statement_account(money.Posting("escrow:o1", "payable:p1", 1)) == "payable:p1"
    assert money.statement_account(money.Posting("payable:p1", "withdrawing:p1", 1)) == "payable:p1"
    for p in (money.Posting("gateway", "escrow:o1", 1), money.Posting("escrow:o1", "revenue", 1),
              money.Posting("withdrawing:p1", "gateway", 1)):
        assert money.statement_account(p) is None


@pytest.mark.parametrize("raw", ["-1", "10001", "5%", "2.5", "abc"])
def test_the_app_refuses_to_start_with_a_bad_fee(monkeypatch, raw):
    monkeypatch.setenv("PLATFORM_FEE_BPS", raw)
    with pytest.raises(settings.ConfigurationError):
        settings.load()


def test_the_fee_defaults_to_nothing(monkeypatch):
    monkeypatch.delenv("PLATFORM_FEE_BPS", raising=False)
    assert settings.load().platform_fee_bps == 0
    monkeypatch.setenv("PLATFORM_FEE_BPS", "500")
    assert settings.load().platform_fee_bps == 500
