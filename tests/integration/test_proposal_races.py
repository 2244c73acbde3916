"""Proposals racing everything else, with real threads on DynamoDB Local (moto never
raises conflicts): accepting a cancel proposal against the expiry sweep and a dispute,
against the buyer's approval, answers against answers, two proposals at once. Exactly
one side wins each race, the money adds up and moves once, the ledger stays clean."""
from collections import Counter
from datetime import timedelta

import pytest

from chalicelib import clock
from chalicelib.domain.errors import Conflict, InvalidTransition
from chalicelib.jobs import release_escrow, sweep_timeouts
from chalicelib.services import ledger_check, orders
from chalicelib.services.orders import proposals
from chalicelib.storage.orders import OrderEventModel, OrderModel
from chalicelib.storage.proposals import ProposalModel
from tests.integration.races_support import AS_OPERATOR
from tests.integration.races_support import AS_BUYER, AS_PROVIDER, in_review, new_order
from tests.support import race
from tests.support import fresh_sandbox

PRICE = 60000


@pytest.fixture
def ddb(aws):
    if aws == "moto":
        pytest.skip("moto serialises everything and never raises TransactionConflict")
    return fresh_sandbox()


def assert_ledger_clean():
    report = ledger_check.check_ledger()
    assert report["violations"] == [] and report["sum"] == 0
    assert report["pending_instructions"] == []


def cancel_proposal(order_id, refund, by=AS_BUYER):
    return proposals.propose(by, order_id, kind="cancel", due_at=None, refund=refund, note=None,
                             now=clock.now())["id"]


def state(order_id) -> dict:
    return orders.present(OrderModel.get(order_id, consistent_read=True), AS_OPERATOR)


def event_types(order_id) -> list[str]:
    return [e.type for e in OrderEventModel.query(order_id, consistent_read=True)]


def test_accepting_a_cancel_races_the_expiry_sweep_and_a_dispute(ddb):
    ids = [new_order(price=PRICE + n) for n in range(5)]
    for order_id in ids:
        orders.pay_order(AS_BUYER, order_id, clock.now())
    pids = {o: cancel_proposal(o, refund=20000) for o in ids}
    deadline = max(orders.order_deadlines(OrderModel.get(o, consistent_read=True))["accept_by"]
                   for o in ids)
    # Past the accept window: the sweep may expire every order, while the provider
    # accepts the buyer's cancel proposal and the buyer opens a dispute.
    clock.set_now(deadline + timedelta(seconds=1))
    accepts = [lambda o=o: proposals.accept_proposal(AS_PROVIDER, o, pids[o], clock.now())
               for o in ids]
    disputes = [lambda o=o: orders.dispute_order(AS_BUYER, o, "服务商失联", clock.now()) for o in ids]
    results = race(sweep_timeouts.run, *accepts, *disputes)
    release_escrow.run()
    outcomes = Counter()
    for n, order_id in enumerate(ids):
        accepted, disputed = results[1 + n], results[1 + len(ids) + n]
        order = state(order_id)
        moves = [t for t in event_types(order_id) if t in ("cancelled", "expired", "disputed")]
        assert len(moves) == 1, moves  # exactly one of the three changed the state
        amount = order["amount"]
        proposal = ProposalModel.get(order_id, pids[order_id], consistent_read=True)
        if order["status"] == "cancelled":
            assert not isinstance(accepted, Exception), accepted
            assert isinstance(disputed, InvalidTransition), disputed
            assert order["escrow"] == {"funded": amount, "released": amount - 20000,
                                       "refunded": 20000, "held": 0}
            assert proposal.status == "accepted"
        else:
            assert isinstance(accepted, InvalidTransition), accepted  # PROPOSAL_NOT_OPEN
            assert proposal.status == "lapsed"
            if order["status"] == "expired":
                assert isinstance(disputed, InvalidTransition), disputed
                assert order["escrow"]["refunded"] == amount and order["escrow"]["held"] == 0
            else:
                assert order["status"] == "disputed" and not isinstance(disputed, Exception)
                assert order["escrow"]["held"] == amount
        assert order["open_proposal"] is None
        outcomes[order["status"]] += 1
    assert sum(outcomes.values()) == len(ids)
    refunds = [c for c in ddb.calls if c[0] == "refund"]
    assert len(refunds) == outcomes["cancelled"] + outcomes["expired"]  # each once
    assert_ledger_clean()


def test_accepting_a_cancel_races_the_buyers_approval(ddb):
    ids = [new_order(price=PRICE + n) for n in range(4)]
    for order_id in ids:
        in_review(order_id)
    pids = {o: cancel_proposal(o, refund=10000, by=AS_PROVIDER) for o in ids}
    results = race(*[lambda o=o: proposals.accept_proposal(AS_BUYER, o, pids[o], clock.now())
                     for o in ids],
                   *[lambda o=o: orders.approve_order(AS_BUYER, o, clock.now()) for o in ids])
    release_escrow.run()
    for n, order_id in enumerate(ids):
        wins = [r for r in (results[n], results[len(ids) + n]) if not isinstance(r, Exception)]
        assert len(wins) == 1, (results[n], results[len(ids) + n])
        order = state(order_id)
        amount = order["amount"]
        if order["status"] == "cancelled":
            assert order["escrow"]["refunded"] == 10000
            assert order["escrow"]["released"] == amount - 10000
        else:
            assert order["status"] == "completed" and order["escrow"]["released"] == amount
        assert order["escrow"]["held"] == 0
    assert_ledger_clean()


def test_answers_race_each_other(ddb):
    ids = [new_order(price=PRICE + n) for n in range(4)]
    for order_id in ids:
        orders.pay_order(AS_BUYER, order_id, clock.now())
        orders.accept_order(AS_PROVIDER, order_id, clock.now())
    new_due = clock.now() + timedelta(days=40)
    pids = {o: proposals.propose(AS_PROVIDER, o, kind="extension", due_at=new_due, refund=None,
                                 note=None, now=clock.now())["id"] for o in ids}
    results = race(*[fn for o in ids for fn in (
        lambda o=o: proposals.accept_proposal(AS_BUYER, o, pids[o], clock.now()),
        lambda o=o: proposals.decline_proposal(AS_BUYER, o, pids[o], clock.now()),
        lambda o=o: proposals.withdraw_proposal(AS_PROVIDER, o, pids[o], clock.now()))])
    for n, order_id in enumerate(ids):
        mine = results[3 * n:3 * n + 3]
        wins = [r for r in mine if not isinstance(r, Exception)]
        assert len(wins) == 1, mine
        assert all(isinstance(r, (InvalidTransition, Conflict)) for r in mine
                   if isinstance(r, Exception)), mine
        stored = ProposalModel.get(order_id, pids[order_id], consistent_read=True)
        assert stored.status == wins[0]["status"]
        order = state(order_id)
        assert order["open_proposal"] is None and order["status"] == "in_progress"
        moved = order["due_at"] == clock.to_iso(new_due)
        assert moved == (stored.status == "accepted")


def test_two_proposals_at_once_leave_one_open_the_buyers_refund_request(ddb):
    """A buyer's cancel in review is a refund request, which replaces any other open
    proposal: whichever commits first, exactly one proposal is open at the end — the
    buyer's — and a provider's that landed first is withdrawn, never left open beside it."""
    ids = [new_order(price=PRICE + n) for n in range(4)]
    for order_id in ids:
        in_review(order_id)
    results = race(*[fn for o in ids for fn in (
        lambda o=o: cancel_proposal(o, refund=1000, by=AS_BUYER),
        lambda o=o: cancel_proposal(o, refund=2000, by=AS_PROVIDER))])
    for n, order_id in enumerate(ids):
        buyers, providers = results[2 * n], results[2 * n + 1]
        assert not isinstance(buyers, Exception), buyers
        stored = {p.id: p.status for p in ProposalModel.query(order_id, consistent_read=True)}
        assert [pid for pid, status in stored.items() if status == "open"] == [buyers]
        if isinstance(providers, Exception):
            assert isinstance(providers, (InvalidTransition, Conflict)), providers
            assert set(stored) == {buyers}
        else:
            assert stored[providers] == "withdrawn"
        assert state(order_id)["open_proposal"] == buyers
