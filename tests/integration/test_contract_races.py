"""Contracts racing the sweep, with real threads on DynamoDB Local (moto never raises
conflicts): exactly one side wins, money moves once, and the ledger stays clean."""
from collections import Counter
from datetime import datetime, timedelta

import pytest

from chalicelib import clock
from chalicelib.domain.errors import Conflict, InvalidTransition
from chalicelib.jobs import release_escrow, sweep_contracts
from chalicelib.services import ledger_check
from chalicelib.services.contracts import agreeing, billing, payments, reading, state
from chalicelib.storage.contracts import StatementModel
from tests.api.contracts_support import terms
from tests.api.orders_support import listed_service
from tests.integration.races_support import AS_BUYER, AS_PROVIDER
from tests.support import fresh_sandbox, race


@pytest.fixture
def ddb(aws):
    if aws == "moto":
        pytest.skip("moto serialises everything and never raises TransactionConflict")
    return fresh_sandbox()


def beijing(day: str, hour: int = 10):
    return clock.set_now(datetime.fromisoformat(day).replace(hour=hour,
                                                             tzinfo=clock.MARKET_TIME))


def submitted_trial_statement() -> tuple[str, str]:
    """A contract live on 2027-01-16 whose trial statement the provider submitted."""
    beijing("2027-01-16", 9)
    cid = agreeing.create_contract(AS_BUYER, service_id=listed_service(), requirement="客服外包",
                                   terms=terms(), now=clock.now())["id"]
    for who in (AS_PROVIDER, AS_BUYER):
        agreeing.sign(who, cid, clock.now())
    payments.pay_deposit(AS_BUYER, cid, clock.now())
    agreeing.go_live(AS_BUYER, cid, clock.now())
    beijing("2027-01-23", 1)
    sweep_contracts.run()
    [stmt] = reading.statements_of(cid)
    billing.submit(AS_PROVIDER, cid, stmt.id, sales=0, kpis={}, file_ids=[], now=clock.now())
    return cid, stmt.id


def test_buyer_confirming_races_the_auto_confirm(ddb):
    pairs = [submitted_trial_statement() for _ in range(3)]
    confirm_by = max(StatementModel.get(c, s, consistent_read=True).confirm_by
                     for c, s in pairs)
    clock.set_now(clock.from_key(confirm_by) + timedelta(seconds=1))
    confirms = [lambda c=c, s=s: billing.confirm(AS_BUYER, c, s, clock.now()) for c, s in pairs]
    results = race(sweep_contracts.run, *confirms)
    outcomes = Counter()
    for (cid, sid), result in zip(pairs, results[1:]):
        stmt = StatementModel.get(cid, sid, consistent_read=True)
        assert stmt.status == "payable" and int(stmt.version) == 3, stmt.status  # moved once
        if isinstance(result, Exception):
            assert isinstance(result, (InvalidTransition, Conflict)), result
            outcomes["sweep"] += 1
        else:
            outcomes["buyer"] += 1
    assert sum(outcomes.values()) == 3
    # Once more: nothing left to do for either side.
    assert sweep_contracts.run()["moved"] == 0
    report = ledger_check.check_ledger()
    assert report["violations"] == [] and report["sum"] == 0


def payable_overdue_trial_statement() -> tuple[str, str]:
    cid, sid = submitted_trial_statement()
    billing.confirm(AS_BUYER, cid, sid, clock.now())
    pay_by = StatementModel.get(cid, sid, consistent_read=True).pay_by
    clock.set_now(clock.from_key(pay_by) + timedelta(seconds=1))
    return cid, sid


def test_paying_races_the_sweep_taking_the_deposit(ddb):
    cid, sid = payable_overdue_trial_statement()
    results = race(sweep_contracts.run,
                   lambda: billing.pay(AS_BUYER, cid, sid, clock.now()))
    release_escrow.run()
    stmt = StatementModel.get(cid, sid, consistent_read=True)
    assert (stmt.status, int(stmt.paid)) == ("paid", 50000)  # paid once, in full
    contract = state.load(cid)
    charged = [c for c in ddb.calls if c[0] == "charge" and c[1].startswith("stm_")]
    refunded = sum(c[2] for c in ddb.calls if c[0] == "refund")
    if isinstance(results[1], Exception):
        # The deposit paid it first: the buyer was refused before being charged.
        assert isinstance(results[1], (InvalidTransition, Conflict)), results[1]
        assert charged == [] and int(contract.deposit_used) == 50000
    else:
        # What the buyer paid that the bill no longer needed went straight back.
        paid_by_buyer = sum(c[2] for c in charged)
        assert paid_by_buyer - refunded + int(contract.deposit_used) == 50000
    report = ledger_check.check_ledger()
    assert report["violations"] == [] and report["sum"] == 0
    assert report["pending_instructions"] == []


def test_terminating_races_the_sweep_opening_a_statement(ddb):
    beijing("2027-01-16", 9)
    cid = agreeing.create_contract(AS_BUYER, service_id=listed_service(), requirement="客服外包",
                                   terms=terms(trial_days=0, trial_fee=0, deposit=0),
                                   now=clock.now())["id"]
    for who in (AS_PROVIDER, AS_BUYER):
        agreeing.sign(who, cid, clock.now())
    agreeing.go_live(AS_BUYER, cid, clock.now())
    beijing("2027-02-01", 1)
    results = race(sweep_contracts.run,
                   lambda: agreeing.terminate(AS_BUYER, cid, "转型", clock.now()))
    assert not isinstance(results[1], Exception), results[1]
    contract = state.load(cid)
    assert (contract.status, contract.ends_on) == ("ending", "2027-02-11")
    sweep_contracts.run()
    starts = [s.period_start for s in reading.statements_of(cid)]
    assert starts == ["2027-01-16"]  # January opened exactly once; February not yet due
    beijing("2027-02-12", 1)
    sweep_contracts.run()
    sweep_contracts.run()
    assert [(s.period_start, s.period_end, int(s.base))
            for s in reading.statements_of(cid)] == [
        ("2027-01-16", "2027-01-31", 310000 * 16 // 31),
        ("2027-02-01", "2027-02-11", 310000 * 11 // 28)]
    assert state.load(cid).status == "ended"


def test_cutting_a_prepaid_month_short_races_the_buyer_paying_it(ddb):
    """A prepaid March (3100 元) terminated on 03-10 to end on 03-20 while the buyer pays
    it: whichever lands first, the buyer ends up paying the 20 days served (2000 元),
    the bill is paid once, and nothing is refunded twice."""
    beijing("2027-03-01", 9)
    cid = agreeing.create_contract(AS_BUYER, service_id=listed_service(), requirement="客服外包",
                                   terms=terms(billing="prepaid", commission_bps=0, trial_days=0,
                                               trial_fee=0, deposit=0), now=clock.now())["id"]
    for who in (AS_PROVIDER, AS_BUYER):
        agreeing.sign(who, cid, clock.now())
    agreeing.go_live(AS_BUYER, cid, clock.now())
    sweep_contracts.run()
    [march] = reading.statements_of(cid)
    beijing("2027-03-10", 12)
    results = race(lambda: agreeing.terminate(AS_PROVIDER, cid, "提前结束", clock.now()),
                   lambda: billing.pay(AS_BUYER, cid, march.id, clock.now()))
    assert not isinstance(results[0], Exception), results[0]
    assert not isinstance(results[1], Exception), results[1]
    release_escrow.run()
    stmt = StatementModel.get(cid, march.id, consistent_read=True)
    assert (stmt.status, stmt.period_end, int(stmt.amount), int(stmt.paid)) == (
        "paid", "2027-03-20", 200000, 200000)
    charged = sum(c[2] for c in ddb.calls if c[0] == "charge" and c[1].startswith("stm_"))
    refunded = sum(c[2] for c in ddb.calls if c[0] == "refund")
    assert charged - refunded == 200000
    report = ledger_check.check_ledger()
    assert report["violations"] == [] and report["sum"] == 0
    assert report["pending_instructions"] == []
