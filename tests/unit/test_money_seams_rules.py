"""The pure money rules of issue 21, as tables: the deposit cap, the plan in words, how a
reversed deposit splits between available balance and debt, and debt repayment."""
import pytest

from chalicelib.domain import escrow as money
from chalicelib.domain.errors import ValidationFailed


def step(title, amount, release="on_approval"):
    return {"title": title, "amount": amount, "release": release}


@pytest.mark.parametrize("deposit, bps, ok", [
    (30000, 3000, True), (30001, 3000, False), (0, 3000, True), (50000, 5000, True),
    (1, 0, False), (99999, 3000, False)])
def test_the_deposit_cap(deposit, bps, ok):
    steps = ([step("定金", deposit, "on_accept")] if deposit else []) + [
        step("尾款", 100000 - deposit)]
    if ok:
        assert money.plan_milestones(100000, steps, "x", deposit_max_bps=bps)
    else:
        with pytest.raises(ValidationFailed) as refused:
            money.plan_milestones(100000, steps, "x", deposit_max_bps=bps)
        assert refused.value.details["errors"][-1]["field"] == "milestones"


def test_the_plan_in_words_names_each_amount_and_when_it_is_released():
    plan = [dict(step("定金", 30000, "on_accept"), status="pending"),
            dict(step("终稿", 70000), status="pending")]
    assert money.describe_plan(plan) == (
        "付款计划：①定金 ¥300.00（接单时结算）②终稿 ¥700.00（验收后结算）")


@pytest.mark.parametrize("released, available, expected", [
    # (step, amount, fee) …, available → (from_available, borrowed) per step
    ([(0, 30000, 3000)], 27000, [(27000, 0)]),
    ([(0, 30000, 3000)], 50000, [(27000, 0)]),
    ([(0, 30000, 3000)], 10000, [(10000, 17000)]),
    ([(0, 30000, 0)], 0, [(0, 30000)]),
    ([(0, 30000, 0)], -5, [(0, 30000)]),
    ([(0, 20000, 0), (1, 10000, 1000)], 25000, [(20000, 0), (5000, 4000)]),
    ([(0, 500, 500)], 0, [(0, 0)]),  # a fee of the whole step: only revenue gives back
])
def test_a_reversal_takes_what_is_available_and_borrows_the_rest(released, available,
                                                                  expected):
    plan = money.plan_reversals(released, available)
    assert [(r.from_available, r.borrowed) for r in plan] == expected
    for r in plan:
        postings = r.postings("o1", "p1")
        # Escrow gets the whole step back: the provider's part and the fee.
        assert money.balances([p for _, _, p in postings]).get("escrow:o1", 0) == r.amount
        assert sum(money.balances([p for _, _, p in postings]).values()) == 0


@pytest.mark.parametrize("net, owed, repaid", [
    (40000, 25000, 25000), (10000, 25000, 10000), (10000, 0, 0), (0, 5, 0)])
def test_a_release_repays_debt_first(net, owed, repaid):
    assert money.debt_repayment(net, owed) == repaid


def test_only_released_deposits_are_taken_back():
    plan = [{"release": "on_accept", "status": "released"},
            {"release": "on_approval", "status": "released"},
            {"release": "on_approval", "status": "pending"}]
    assert money.released_deposits(plan) == [0]
