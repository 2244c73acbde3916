"""Fault injection on the payout paths, the way test_fault_injection does the order paths:
every DynamoDB call of asking for a withdrawal, paying it out and giving a refused one
back, failed in turn (throttled, unreachable, a transaction conflict, the write done but
its answer lost). The client retries with the same Idempotency-Key while told to, the
scheduler keeps running, and the withdrawal must end exactly where the clean run did:
paid (or failed) once, the money moved once, nothing pending or stuck, the ledger clean.

The gateway's own faults on `transfer` (timeouts, refusals, lost answers) are the
sandbox's knobs, in tests/api/test_payouts.py.
"""
from dataclasses import dataclass
from typing import Callable

import pytest

from chalicelib import clock
from chalicelib.domain.actors import Caller
from chalicelib.services import orders, payouts, providers
from chalicelib.storage.ledger import PostingModel
from chalicelib.storage.payouts import WithdrawalModel
from tests.attack.faults import KINDS
from tests.attack.test_fault_injection import (OPERATOR, act_once, assert_nothing_left,
                                               retry_until_answered, run_jobs)
from tests.integration.races_support import (AS_BUYER, AS_PROVIDER, in_review, new_order)
from tests.support import fresh_sandbox

AMOUNT = 100


@dataclass
class PayoutPath:
    """`prepare` readies the step (a withdrawal id, or None when the step asks for one);
    `act` is the request, or None when the step is the release_escrow job."""

    prepare: Callable[[], str | None]
    act: Callable | None = None
    job: str | None = None
    refuse: bool = False


def _asked() -> str:
    return payouts.request_withdrawal(AS_PROVIDER, AMOUNT, clock.now())["id"]


PATHS = {
    "withdraw": PayoutPath(lambda: None, act=lambda api, _, headers: api.post(
        "/me/withdrawals", {"amount": AMOUNT}, user=AS_PROVIDER.user_id, headers=headers)),
    "pay_out": PayoutPath(_asked, job="release_escrow"),
    "give_back": PayoutPath(_asked, job="release_escrow", refuse=True),
}


def earning_provider():
    now = clock.now()
    operator = Caller(OPERATOR, frozenset({"operator"}))
    providers.apply(AS_PROVIDER, display_name="小美设计", company_name="小美设计有限公司",
                    contact="0571-88886666", intro="十年电商设计经验", now=now)
    providers.approve(operator, AS_PROVIDER.user_id, now)
    payouts.set_payout_account(AS_PROVIDER, account="13800138000", name="张小美", now=now)
    oid = new_order(price=90000)
    in_review(oid)
    orders.approve_order(AS_BUYER, oid, clock.now())


def outcome(withdrawal_id: str, before: dict, sandbox) -> dict:
    after = payouts.balance(AS_PROVIDER)
    withdrawal = WithdrawalModel.get(withdrawal_id, consistent_read=True)
    return {
        "status": withdrawal.status,
        "available": after["available"] - before["available"],
        "pending": after["pending_withdrawal"] - before["pending_withdrawal"],
        "transfers": len([k for k in sandbox.transfers if k == withdrawal_id]),
        "postings": sorted(p.kind for p in PostingModel.scan(
            PostingModel.withdrawal_id == withdrawal_id, consistent_read=True)),
        "mine": WithdrawalModel.count(),
    }


def run_path(api, path: PayoutPath, faults, wall, index=None, kind=None, key="k"):
    sandbox = fresh_sandbox()
    sandbox.refuse_transfers = "PAYEE_NOT_EXIST" if path.refuse else None
    before = payouts.balance(AS_PROVIDER)
    count_before = WithdrawalModel.count()
    withdrawal_id = path.prepare()
    with faults.failing(index, kind):
        first = act_once(api, path, withdrawal_id, key)
    calls, fired = list(faults.calls), list(faults.fired)
    if path.act is not None:
        reply = retry_until_answered(api, path, withdrawal_id, key, first, wall)
        withdrawal_id = reply.json["id"]
    run_jobs(api)
    result = outcome(withdrawal_id, before, sandbox)
    result["mine"] -= count_before
    return result, calls, fired


def exercise(api, name, kinds, faults, wall):
    earning_provider()
    path = PATHS[name]
    expected, calls, _ = run_path(api, path, faults, wall, key=f"{name}-clean")
    assert_nothing_left(api)
    assert calls, "the path made no AWS call"
    for kind in kinds:
        for index, call in enumerate(calls):
            got, _, fired = run_path(api, path, faults, wall, index, kind,
                                     key=f"{name}-{kind}-{index}")
            assert [(i, c.operation) for i, _, c in fired] == [(index, call.operation)], (
                kind, index, fired, call)
            when = f"{kind} at call {index} {call}"
            assert got == expected, (when, got, expected)
            assert_nothing_left(api, when)
    return expected


@pytest.mark.parametrize("name", list(PATHS))
def test_every_call_of_a_payout_path_may_fail_on_moto(moto_api, name, faults, wall):
    expected = exercise(moto_api, name, KINDS, faults, wall)
    paid = not PATHS[name].refuse
    assert expected == {
        "status": "paid" if paid else "failed", "available": -AMOUNT if paid else 0,
        "pending": 0, "transfers": 1 if paid else 0, "mine": 1,
        "postings": ["payout", "withdrawal"] if paid else ["withdrawal", "withdrawal_returned"]}


@pytest.mark.parametrize("name", list(PATHS))
def test_lost_answers_and_conflicts_of_payouts_on_dynamodb_local(api, aws, name, faults, wall):
    if aws == "moto":
        pytest.skip("the moto variant above covers every kind")
    exercise(api, name, ("lost", "conflict"), faults, wall)
