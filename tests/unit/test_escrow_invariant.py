"""Every change of an escrow's counters goes through storage.escrow_counters, which
asserts `funded = held + released + refunded` and `held ≥ 0` and raises on a change that
breaks either — before anything is written. Without AWS: the items are in memory."""
import pytest

from chalicelib.domain import escrow as money
from chalicelib.domain.escrow import EscrowInvariantBroken, checked_escrow
from chalicelib.storage import escrow_counters
from chalicelib.storage.contracts import ContractModel
from chalicelib.storage.orders import OrderModel


def order(funded=50000, held=50000, released=0, refunded=0) -> OrderModel:
    return OrderModel("ord-1", escrow_funded=funded, escrow_held=held,
                      escrow_released=released, escrow_refunded=refunded)


def test_each_movement_keeps_the_invariant():
    counters = {"funded": 0, "held": 0, "released": 0, "refunded": 0}
    for change in (money.fund(50000), money.release(30000), money.reverse(30000),
                   money.refund(20000), money.release(30000)):
        counters = checked_escrow(change, counters)
    assert counters == {"funded": 50000, "held": 0, "released": 30000, "refunded": 20000}


@pytest.mark.parametrize("change", [
    {"held": -100},  # money vanishes from escrow without going anywhere
    {"funded": 100},  # money arrives but is not held
    {"held": -100, "released": 100, "refunded": 100},  # paid out twice
    {"fee": 5},  # not an escrow counter
])
def test_an_unbalanced_change_raises_even_unread(change):
    with pytest.raises(EscrowInvariantBroken):
        escrow_counters.update(OrderModel, change)


def test_taking_more_than_is_held_raises():
    with pytest.raises(EscrowInvariantBroken, match="held below zero"):
        escrow_counters.update(OrderModel, money.release(50001), before=order())


def test_a_change_on_counters_already_wrong_raises():
    # Whatever broke them before, no further change is written on top of it.
    with pytest.raises(EscrowInvariantBroken, match="funded ≠ held"):
        escrow_counters.update(OrderModel, money.refund(100), before=order(held=40000))


def test_a_good_change_gives_its_adds_and_the_condition_that_held_covers_it():
    actions, condition = escrow_counters.update(OrderModel, money.release(30000),
                                                before=order(), instructed=0)
    assert len(actions) == 2
    assert condition is not None  # DynamoDB refuses it too, should held have moved meanwhile
    assert escrow_counters.update(OrderModel, money.fund(100))[1] is None  # nothing leaves


def test_mirror_checks_and_applies():
    item = order()
    escrow_counters.mirror(item, money.release(20000))
    assert (item.escrow_held, item.escrow_released) == (30000, 20000)
    with pytest.raises(EscrowInvariantBroken):
        escrow_counters.mirror(item, money.refund(30001))
    assert item.escrow_held == 30000  # a refused change leaves the item as it was


def test_a_contract_escrow_is_checked_the_same_way():
    contract = ContractModel("ct-1", escrow_funded=10000, escrow_held=10000)
    actions, _ = escrow_counters.update(ContractModel, money.release(4000), before=contract)
    assert len(actions) == 2
    with pytest.raises(EscrowInvariantBroken):
        escrow_counters.update(ContractModel, money.release(10001), before=contract)
    with pytest.raises(TypeError):  # a contract counts its refunds by deposit and bills
        escrow_counters.update(ContractModel, money.fund(1), instructed=1)
