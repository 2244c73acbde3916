"""Payout races between real threads on DynamoDB Local (moto never raises conflicts): two
withdrawals at once never take the same money twice, and drivers racing on one payout
pay it once."""
import pytest

from chalicelib import clock
from chalicelib.domain.actors import Caller
from chalicelib.domain.errors import Conflict, InsufficientBalance
from chalicelib.services import instructions, orders, payouts, providers
from tests.integration.races_support import (AS_BUYER, AS_PROVIDER, assert_ledger_clean, in_review,
                                             new_order, winners_and_losers)
from tests.support import race
from tests.support import fresh_sandbox

OPERATOR = Caller("op-1", roles=frozenset({"operator"}))


@pytest.fixture
def ddb(aws):
    if aws == "moto":
        pytest.skip("moto serialises everything and never raises TransactionConflict")
    return fresh_sandbox()


def earning_provider(price=50000):
    now = clock.now()
    providers.apply(AS_PROVIDER, display_name="小美设计", company_name="小美设计有限公司",
                    contact="0571-88886666", intro="十年电商设计经验", now=now)
    providers.approve(OPERATOR, AS_PROVIDER.user_id, now)
    payouts.set_payout_account(AS_PROVIDER, account="13800138000", name="张小美", now=now)
    oid = new_order(price=price)
    in_review(oid)
    orders.approve_order(AS_BUYER, oid, clock.now())
    assert payouts.balance(AS_PROVIDER)["available"] == price


def test_two_withdrawals_at_once_never_overdraw(ddb):
    earning_provider(50000)
    results = race(*[lambda: payouts.request_withdrawal(AS_PROVIDER, 30000, clock.now())] * 2)
    wins, losses = winners_and_losers(results)
    assert len(wins) == 1, results
    assert all(isinstance(e, (InsufficientBalance, Conflict)) for e in losses), losses
    assert payouts.balance(AS_PROVIDER) == {"available": 20000, "pending_withdrawal": 30000,
                                         "currency": "CNY"}
    assert_ledger_clean()


def test_many_small_withdrawals_at_once_take_at_most_what_is_there(ddb):
    earning_provider(50000)
    results = race(*[lambda: payouts.request_withdrawal(AS_PROVIDER, 12000, clock.now())] * 6)
    wins, _ = winners_and_losers(results)
    figures = payouts.balance(AS_PROVIDER)
    assert 1 <= len(wins) <= 4
    assert figures["pending_withdrawal"] == 12000 * len(wins)
    assert figures["available"] == 50000 - 12000 * len(wins) >= 0
    assert_ledger_clean()


def test_drivers_racing_on_one_payout_pay_it_once(ddb):
    earning_provider(50000)
    asked = payouts.request_withdrawal(AS_PROVIDER, 30000, clock.now())
    instruction_id = f"{asked['id']}:payout"
    results = race(*[lambda: instructions.execute_instruction(instruction_id, clock.now())] * 4)
    assert all(r == "done" for r in results), results
    assert len(ddb.transfers) == 1
    assert payouts.balance(AS_PROVIDER) == {"available": 20000, "pending_withdrawal": 0,
                                         "currency": "CNY"}
    assert_ledger_clean()


def test_drivers_racing_on_a_refused_payout_give_the_money_back_once(ddb):
    earning_provider(50000)
    asked = payouts.request_withdrawal(AS_PROVIDER, 30000, clock.now())
    ddb.refuse_transfers = "PAYEE_NAME_MISMATCH"
    results = race(*[lambda: instructions.execute_instruction(f"{asked['id']}:payout",
                                                        clock.now())] * 4)
    assert all(r == "done" for r in results), results
    assert payouts.balance(AS_PROVIDER) == {"available": 50000, "pending_withdrawal": 0,
                                         "currency": "CNY"}
    assert_ledger_clean()
