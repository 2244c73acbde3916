"""退款超时 racing the provider, with real threads on DynamoDB Local (moto never raises
conflicts): the provider accepts or declines a buyer's refund request at the moment the
sweep grants it. Exactly one answer lands, the refund is paid once, the ledger is clean."""
from collections import Counter
from datetime import timedelta

import pytest

from chalicelib import clock
from chalicelib.jobs import release_escrow, sweep_timeouts
from chalicelib.services import ledger_check, orders
from chalicelib.services.orders import proposals
from chalicelib.storage.ledger import InstructionModel
from chalicelib.storage.orders import OrderEventModel, OrderModel
from chalicelib.storage.proposals import ProposalModel
from tests.integration.races_support import AS_BUYER, AS_OPERATOR, AS_PROVIDER, new_order
from tests.support import fresh_sandbox, race

PRICE, REFUND = 60000, 15000


@pytest.fixture
def ddb(aws):
    if aws == "moto":
        pytest.skip("moto serialises everything and never raises TransactionConflict")
    return fresh_sandbox()


def refund_request(order_id):
    return proposals.propose(AS_BUYER, order_id, kind="partial_refund", due_at=None,
                             refund=REFUND, note=None, reason="少做了一页", now=clock.now())["id"]


@pytest.mark.parametrize("verb", ["accept", "decline"])
def test_the_provider_answering_races_the_sweep_granting(ddb, verb):
    ids = [new_order(price=PRICE + n) for n in range(4)]
    for order_id in ids:
        orders.pay_order(AS_BUYER, order_id, clock.now())
        orders.accept_order(AS_PROVIDER, order_id, clock.now())
    pids = {o: refund_request(o) for o in ids}
    due = max(orders.order_deadlines(OrderModel.get(o, consistent_read=True))["refund_answer_by"]
              for o in ids)
    clock.set_now(due + timedelta(seconds=1))
    answer = proposals.accept_proposal if verb == "accept" else proposals.decline_proposal
    answers = [lambda o=o: answer(AS_PROVIDER, o, pids[o], clock.now()) for o in ids]
    results = race(sweep_timeouts.run, sweep_timeouts.run, *answers)
    release_escrow.run()
    winners = Counter()
    for n, order_id in enumerate(ids):
        provider_said = results[2 + n]
        proposal = ProposalModel.get(order_id, pids[order_id], consistent_read=True)
        order = orders.present(OrderModel.get(order_id, consistent_read=True), AS_OPERATOR)
        ends = [e for e in OrderEventModel.query(order_id, consistent_read=True)
                if e.type in ("partially_refunded", "proposal_declined")]
        assert len(ends) == 1, [e.type for e in ends]  # exactly one answer landed
        winner = ends[0].actor
        winners[winner] += 1
        assert proposal.decided_by == winner
        if winner == "system":
            assert isinstance(provider_said, Exception), provider_said
            assert proposal.status == "accepted"
        else:
            assert not isinstance(provider_said, Exception), provider_said
            assert proposal.status == ("accepted" if verb == "accept" else "declined")
        refunded = REFUND if proposal.status == "accepted" else 0
        assert order["status"] == "in_progress"
        assert order["escrow"]["refunded"] == refunded
        assert order["escrow"]["held"] == order["amount"] - refunded
        refunds = [i for i in InstructionModel.scan() if i.order_id == order_id
                   and i.kind == "refund"]
        assert len(refunds) == (1 if refunded else 0)
    assert sum(winners.values()) == len(ids)
    report = ledger_check.check_ledger()
    assert report["violations"] == [] and report["sum"] == 0
    assert report["pending_instructions"] == []
