"""Fault injection on the contract's money paths, as tests/attack/test_fault_injection.py
does for orders: a clean run records the path's AWS calls and where it leaves the
contract; then every call in turn fails (throttled, unreachable, a conflict, or done
with its answer lost), the client retries with the same Idempotency-Key while told to,
and the sweeps run — the contract must end exactly where the clean run left it, no
money moved twice or lost, the ledger clean and nothing pending."""
from dataclasses import dataclass
from datetime import timedelta
from typing import Callable

import pytest

from chalicelib import clock
from chalicelib import payments
from chalicelib.services.contracts import agreeing, billing, reading, sweeping
from chalicelib.services.contracts import payments as contract_payments
from tests.api.contracts_support import terms
from tests.api.orders_support import listed_service
from tests.attack.faults import KINDS
from tests.attack.test_fault_injection import (OPERATOR, assert_clean_answer,
                                               assert_nothing_left, retry_until_answered)
from tests.integration.races_support import AS_BUYER, AS_PROVIDER
from tests.support import fresh_sandbox


def _signed() -> str:
    cid = agreeing.create_contract(AS_BUYER, service_id=listed_service(), requirement="客服外包",
                                   terms=terms(), now=clock.now())["id"]
    for who in (AS_PROVIDER, AS_BUYER):
        agreeing.sign(who, cid, clock.now())
    return cid


def _payable() -> str:
    """A live contract whose trial statement is payable (its deposit paid)."""
    cid = _signed()
    contract_payments.pay_deposit(AS_BUYER, cid, clock.now())
    agreeing.go_live(AS_BUYER, cid, clock.now())
    later = clock.now() + timedelta(days=8)
    sweeping.apply_contract_timers(cid, later)
    sid = reading.statements_of(cid)[0].id
    billing.submit(AS_PROVIDER, cid, sid, sales=0, kpis={}, file_ids=[], now=later)
    billing.confirm(AS_BUYER, cid, sid, later)
    _STATEMENTS[cid] = sid  # read here: the path's own calls are the ones failed in turn
    return cid


_STATEMENTS: dict[str, str] = {}


@dataclass
class Path:
    prepare: Callable[[], str]
    act: Callable  # (api, contract_id, headers) → Reply


PATHS = {
    "pay_deposit": Path(_signed, lambda api, cid, h: api.post(
        f"/contracts/{cid}/pay", user=AS_BUYER.user_id, headers=h)),
    "cancel_with_deposit": Path(lambda: _paid_deposit(), lambda api, cid, h: api.post(
        f"/contracts/{cid}/terminate", {"reason": "培训不合格"}, user=AS_BUYER.user_id,
        headers=h)),
    "pay_statement": Path(_payable, lambda api, cid, h: api.post(
        f"/contracts/{cid}/statements/{_STATEMENTS[cid]}/pay", user=AS_BUYER.user_id,
        headers=h)),
}


def _paid_deposit() -> str:
    cid = _signed()
    contract_payments.pay_deposit(AS_BUYER, cid, clock.now())
    return cid


def outcome(api, cid: str) -> dict:
    contract = api.get(f"/contracts/{cid}", user=OPERATOR, operator=True).json
    stmts = api.get(f"/contracts/{cid}/statements", user=OPERATOR, operator=True).json["items"]
    sandbox = payments.gateway()
    return {"status": contract["status"], "deposit": contract["deposit"],
            "statements": [(s["status"], s["paid"], s["paid_from_deposit"]) for s in stmts],
            "refunds": sorted(v[2] for k, v in sandbox.refunds.items() if k.startswith(cid)),
            "earned": api.get("/me/balance", user=AS_PROVIDER.user_id).json["available"]}


def run(api, path: Path, faults, wall, index=None, kind=None, key="k"):
    cid = path.prepare()
    before = api.get("/me/balance", user=AS_PROVIDER.user_id).json["available"]
    with faults.failing(index, kind):
        first = path.act(api, cid, {"Idempotency-Key": key})
    assert_clean_answer(first)
    calls, fired = list(faults.calls), list(faults.fired)
    retry_until_answered(api, _Adapter(path), cid, key, first, wall)
    for _ in range(3):  # the drivers keep running
        clock.advance(2 * 3600)
        api.invoke("release_escrow")
    got = outcome(api, cid)
    got["earned"] -= before
    return got, calls, fired


@dataclass
class _Adapter:
    """The order suite's retry loop calls `act_once(api, path, oid, key)` through this."""

    path: Path
    job: str | None = None

    def act(self, api, cid, headers):
        return self.path.act(api, cid, headers)


# A bill's payment is the longest path (its contract walked to a payable statement for
# every call × kind, several minutes on moto): a long variant (`make test-long`), like the
# orders' mutual cancel.
LONG = {"pay_statement"}


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in LONG else n
                                  for n in PATHS])
def test_every_call_of_a_contract_money_path_may_fail(moto_api, name, faults, wall):
    fresh_sandbox()
    path = PATHS[name]
    expected, calls, _ = run(moto_api, path, faults, wall, key=f"{name}-clean")
    assert_nothing_left(moto_api)
    assert calls
    for kind in KINDS:
        for index, call in enumerate(calls):
            got, _, fired = run(moto_api, path, faults, wall, index, kind,
                                key=f"{name}-{kind}-{index}")
            when = f"{kind} at call {index} {call}"
            assert [i for i, _, _ in fired] == [index], (when, fired)
            expected_here = {**expected, "earned": expected["earned"]}
            assert got == expected_here, (when, got, expected)
            assert_nothing_left(moto_api, when)
