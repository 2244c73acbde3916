"""Disputes the parties end, racing the operator and each other, with real threads on
DynamoDB Local (moto never raises conflicts): the opener withdraws while the operator
resolves, and the parties settle while the operator resolves. Exactly one wins, the
money moves once, the ledger is clean; evidence racing a withdrawal never lands on an
order that is no longer disputed, and two submissions at the cap never both count."""
from collections import Counter

import pytest

from chalicelib import clock
from chalicelib.domain import evidence as rules
from chalicelib.domain.errors import DomainError
from chalicelib.jobs import release_escrow
from chalicelib.services import ledger_check, orders
from chalicelib.services.orders import disputes, proposals
from chalicelib.storage.evidence import EvidenceModel
from chalicelib.storage.ledger import InstructionModel
from chalicelib.storage.orders import OrderModel
from tests.integration.races_support import AS_BUYER, AS_OPERATOR, AS_PROVIDER, new_order
from tests.support import fresh_sandbox, race

PRICE = 60000


@pytest.fixture
def ddb(aws):
    if aws == "moto":
        pytest.skip("moto serialises everything and never raises TransactionConflict")
    return fresh_sandbox()


def disputed_order(price=PRICE):
    order_id = new_order(price=price)
    orders.pay_order(AS_BUYER, order_id, clock.now())
    orders.accept_order(AS_PROVIDER, order_id, clock.now())
    orders.dispute_order(AS_BUYER, order_id, "交付物与需求不符", clock.now())
    return order_id


def resolve(order_id):
    return orders.resolve_order(AS_OPERATOR, order_id, PRICE // 2, PRICE // 2, "各担一半",
                                clock.now(), fault="none")


def money_once(order_id, refund_expected):
    refunds = [i for i in InstructionModel.scan() if i.order_id == order_id and i.kind == "refund"]
    assert sum(int(i.amount) for i in refunds) == refund_expected, refunds


def ledger_is_clean():
    report = ledger_check.check_ledger()
    assert report["violations"] == [] and report["sum"] == 0
    assert report["pending_instructions"] == []


def test_the_opener_withdrawing_races_the_operator_resolving(ddb):
    ids = [disputed_order() for _ in range(3)]
    calls = [fn for o in ids for fn in (
        lambda o=o: disputes.withdraw_dispute(AS_BUYER, o, clock.now()),
        lambda o=o: resolve(o))]
    results = race(*calls)
    release_escrow.run()
    winners = Counter()
    for n, order_id in enumerate(ids):
        withdrew, resolved = results[2 * n], results[2 * n + 1]
        assert isinstance(withdrew, DomainError) != isinstance(resolved, DomainError), (
            withdrew, resolved)  # exactly one of them went through
        order = OrderModel.get(order_id, consistent_read=True)
        if isinstance(resolved, DomainError):
            winners["withdrawn"] += 1
            assert order.status == "in_progress" and int(order.escrow_held) == PRICE
            money_once(order_id, 0)
        else:
            winners["resolved"] += 1
            assert order.status == "resolved" and int(order.escrow_held) == 0
            assert int(order.escrow_refunded) == PRICE // 2
            money_once(order_id, PRICE // 2)
    assert sum(winners.values()) == len(ids)
    ledger_is_clean()


def test_the_parties_settling_races_the_operator_resolving(ddb):
    ids = [disputed_order() for _ in range(3)]
    offers = {o: proposals.propose(AS_PROVIDER, o, kind="cancel", due_at=None, refund=40000,
                                   note=None, now=clock.now())["id"] for o in ids}
    calls = [fn for o in ids for fn in (
        lambda o=o: proposals.accept_proposal(AS_BUYER, o, offers[o], clock.now()),
        lambda o=o: resolve(o))]
    results = race(*calls)
    release_escrow.run()
    for n, order_id in enumerate(ids):
        settled, resolved = results[2 * n], results[2 * n + 1]
        assert isinstance(settled, DomainError) != isinstance(resolved, DomainError)
        order = OrderModel.get(order_id, consistent_read=True)
        refund = 40000 if order.status == "cancelled" else PRICE // 2
        assert order.status == ("resolved" if isinstance(settled, DomainError) else "cancelled")
        assert int(order.escrow_refunded) == refund and int(order.escrow_held) == 0
        assert int(order.escrow_released) == PRICE - refund
        money_once(order_id, refund)
    ledger_is_clean()


def test_evidence_racing_a_withdrawal_lands_only_while_disputed(ddb):
    order_id = disputed_order()
    results = race(lambda: disputes.withdraw_dispute(AS_BUYER, order_id, clock.now()),
                   *[lambda n=n: disputes.submit_evidence(AS_PROVIDER, order_id,
                                                          statement=f"证据{n}", file_ids=[],
                                                          now=clock.now())
                     for n in range(3)])
    assert not isinstance(results[0], Exception), results[0]
    given = [r for r in results[1:] if not isinstance(r, Exception)]
    assert all(isinstance(r, DomainError) for r in results[1:] if r not in given), results
    stored = list(EvidenceModel.query(order_id, consistent_read=True))
    # Whatever landed landed before the withdrawal committed, and was counted.
    assert len(stored) == len(given)
    order = OrderModel.get(order_id, consistent_read=True)
    assert order.status == "in_progress" and int(order.evidence_by_provider or 0) == len(given)


def test_two_submissions_at_the_cap_never_both_count(ddb):
    order_id = disputed_order()
    for n in range(rules.PER_PARTY_MAX - 1):
        disputes.submit_evidence(AS_BUYER, order_id, statement=f"第{n}条", file_ids=[],
                                 now=clock.now())
    results = race(*[lambda n=n: disputes.submit_evidence(AS_BUYER, order_id,
                                                          statement=f"最后{n}", file_ids=[],
                                                          now=clock.now())
                     for n in range(4)])
    assert sum(not isinstance(r, Exception) for r in results) == 1, results
    stored = list(EvidenceModel.query(order_id, consistent_read=True))
    assert len(stored) == rules.PER_PARTY_MAX
    order = OrderModel.get(order_id, consistent_read=True)
    assert int(order.evidence_by_buyer) == rules.PER_PARTY_MAX
