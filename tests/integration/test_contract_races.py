"""Contracts racing the sweep, with real threads on DynamoDB Local (moto never raises
conflicts): exactly one side wins, money moves once, and the ledger stays clean."""
from collections import Counter
from datetime import datetime, timedelta

import pytest

from chalicelib import clock
from chalicelib.domain.errors import Conflict, InvalidTransition
from chalicelib.jobs import sweep_contracts
from chalicelib.services import ledger_check
from chalicelib.services.contracts import agreeing, billing, payments, reading
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
