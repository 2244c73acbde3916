"""Escrow money math without AWS: milestone plans, postings, splits, balances."""
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain import escrow as money
from chalicelib.domain.errors import ValidationFailed


def step(title, amount, release="on_approval"):
    return {"title": title, "amount": amount, "release": release}


def test_without_milestones_the_order_is_one_step():
    assert money.plan_milestones(50000, None, "店铺首页装修") == [
        {"title": "店铺首页装修", "amount": 50000, "release": "on_approval", "status": "pending"}]


def test_a_deposit_then_two_approval_steps():
    plan = money.plan_milestones(100000, [step("定金", 30000, "on_accept"), step("初稿", 40000),
                                          step("终稿", 30000)], "logo设计")
    assert [s["amount"] for s in plan] == [30000, 40000, 30000]
    assert money.deposit_steps(plan) == [0]
    assert money.first_approval_step(plan) == 1
    assert money.undecided_amount(plan) == 100000


@pytest.mark.parametrize("steps,problem", [
    ([step("初稿", 100), step("终稿", 100)], "amounts must sum to the order amount"),
    ([step("初稿", 300), step("定金", 200, "on_accept")], "come before"),
    ([step("定金", 500, "on_accept")], "at least one step"),
    ([step(f"第{i}步", 50) for i in range(11)], "wrong number"),
])
def test_bad_milestones_are_refused(steps, problem):
    with pytest.raises(ValidationFailed) as refused:
        money.plan_milestones(500, steps, "x")
    assert any(problem in e["problem"] for e in refused.value.details["errors"])


def test_postings_move_between_the_three_kinds_of_account():
    assert money.posting_for("fund", "o1", "p1", 100) == money.Posting("gateway", "escrow:o1", 100)
    assert money.posting_for("release", "o1", "p1", 60) == money.Posting("escrow:o1", "payable:p1", 60)
    assert money.posting_for("refund", "o1", "p1", 40) == money.Posting("escrow:o1", "gateway", 40)
    with pytest.raises(ValueError):
        money.posting_for("release", "o1", "p1", 0)


def test_instruction_ids_are_deterministic():
    assert money.instruction_id("ord_1", "release", 2) == "ord_1:release:2"
    assert money.instruction_id("ord_1", "refund", None) == "ord_1:refund:all"


def test_held_never_goes_below_zero():
    escrow = {"funded": 0, "released": 0, "refunded": 0, "held": 0}
    escrow = money.after_movement(escrow, "fund", 100)
    escrow = money.after_movement(escrow, "release", 70)
    assert escrow == {"funded": 100, "released": 70, "refunded": 0, "held": 30}
    with pytest.raises(ValueError):
        money.after_movement(escrow, "refund", 31)


def test_the_split_must_equal_what_is_held():
    money.check_split(1000, 400, 600)
    for refund, release in [(400, 500), (-1, 1001), (1001, 0)]:
        with pytest.raises(ValidationFailed):
            money.check_split(1000, refund, release)


@given(st.lists(st.tuples(st.sampled_from(["fund", "release", "refund"]),
                          st.integers(min_value=1, max_value=10**6)), max_size=30))
def test_any_sequence_of_postings_sums_to_zero(moves):
    postings = [money.posting_for(kind, "o1", "p1", amount) for kind, amount in moves]
    assert sum(money.balances(postings).values()) == 0
    assert all(money.posting_problems(p) == [] for p in postings)
