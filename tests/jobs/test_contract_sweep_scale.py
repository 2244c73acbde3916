"""The contract sweep at scale, on DynamoDB Local (moto slows sharply with big tables):
with 2,000 live contracts whose next statement is not yet due and 20 whose is, one run
reads the 20 due index entries, not the table, and opens each statement once."""
from datetime import datetime, timedelta

import pytest

from chalicelib import clock, ids
from chalicelib.jobs import sweep_contracts
from chalicelib.services.contracts import agreeing, reading
from chalicelib.storage.contracts import (ContractModel, StatementModel, timer_due_key,
                                          timer_partition)
from tests.api.contracts_support import terms
from tests.api.orders_support import listed_service
from tests.integration.races_support import AS_BUYER, AS_PROVIDER
from tests.support import fresh_sandbox


@pytest.fixture
def ddb(aws):
    if aws == "moto":
        pytest.skip("thousands of items: DynamoDB Local only")
    fresh_sandbox()
    return aws


def live_contract(service_id: str) -> str:
    agreed = terms(trial_days=0, trial_fee=0, deposit=0)
    cid = agreeing.create_contract(AS_BUYER, service_id=service_id, requirement="客服外包",
                                   terms=agreed, now=clock.now())["id"]
    for who in (AS_PROVIDER, AS_BUYER):
        agreeing.sign(who, cid, clock.now())
    agreeing.go_live(AS_BUYER, cid, clock.now())
    return cid


def not_yet_due(template_id: str, count: int) -> None:
    """Copies of a live contract whose next timer lies a year ahead (batch)."""
    raw = ContractModel.get(template_id, consistent_read=True).serialize()
    later = clock.to_key(clock.now() + timedelta(days=365))
    with ContractModel.batch_write() as batch:
        for _ in range(count):
            copy = ContractModel.from_raw_data(raw)
            copy.id = ids.new_id("ctr")
            copy.timer_pk, copy.timer_due = timer_partition(copy.id), timer_due_key(later, copy.id)
            batch.save(copy)


def test_the_sweep_reads_what_is_due_not_the_table(ddb):
    clock.set_now(datetime(2027, 1, 16, 9, tzinfo=clock.MARKET_TIME))
    service_id = listed_service()
    due = [live_contract(service_id) for _ in range(20)]
    not_yet_due(due[0], 2000)
    clock.set_now(datetime(2027, 2, 1, 1, tzinfo=clock.MARKET_TIME))
    first = sweep_contracts.run()
    assert first["moved"] == 20 and first["failed"] == 0, first
    # The due contracts' entries (and the index's end), never the 2,000 others.
    assert first["read"] <= 20 + 5, first
    second = sweep_contracts.run()
    assert (second["moved"], second["read"]) == (0, 0), second
    for cid in due:
        assert [s.period_start for s in reading.statements_of(cid)] == ["2027-01-16"]
    assert StatementModel.count() == 20
