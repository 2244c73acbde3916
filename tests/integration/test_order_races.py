"""Races between real threads on DynamoDB Local (moto never raises conflicts): exactly
one actor wins each race, the others get a clean refusal, and money moves once."""
from datetime import timedelta

from chalicelib import clock
from chalicelib.domain.actors import Caller
from chalicelib.domain.errors import Conflict, InvalidTransition, ServiceAtCapacity
from chalicelib.services import instructions, orders
from chalicelib import payments
from chalicelib.storage.catalog import ServiceModel
from chalicelib.storage.ledger import PostingModel
from tests.api.orders_support import listed_service
from tests.integration.races_support import (AS_BUYER, AS_PROVIDER, assert_ledger_clean,
                                             in_review, new_order, winners_and_losers)
from tests.support import race


def test_two_approvals_at_once_release_one_step(ddb):
    oid = new_order(milestones=[{"title": "首页", "amount": 40000, "release": "on_approval"},
                                {"title": "详情页", "amount": 50000, "release": "on_approval"}])
    in_review(oid)
    wins, losses = winners_and_losers(race(
        lambda: orders.approve_order(AS_BUYER, oid, clock.now()),
        lambda: orders.approve_order(AS_BUYER, oid, clock.now())))
    assert len(wins) == 1 and len(losses) == 1
    assert isinstance(losses[0], InvalidTransition)
    assert wins[0]["escrow"]["released"] == 40000
    assert orders.get_order(AS_BUYER, oid)["escrow"]["held"] == 50000
    assert_ledger_clean()


def test_cancel_races_pay_and_exactly_one_wins(ddb):
    oid = new_order()
    results = race(lambda: orders.cancel_order(AS_BUYER, oid, clock.now()),
                   lambda: orders.pay_order(AS_BUYER, oid, clock.now()))
    wins, losses = winners_and_losers(results)
    assert len(wins) == 1 and isinstance(losses[0], InvalidTransition)
    final = orders.get_order(AS_BUYER, oid)
    if final["status"] == "cancelled":
        # A charge that lost the race is booked to the closed order and refunded at
        # once (money for an order closed meanwhile): nothing stays held.
        escrow = final["escrow"]
        assert escrow["funded"] == escrow["refunded"] and escrow["held"] == 0, escrow
        assert len(payments.gateway().refunds) == len(payments.gateway().charges)
    else:
        assert final["status"] == "awaiting_provider" and final["escrow"]["held"] == 90000
    assert_ledger_clean()


def test_accept_races_reject(ddb):
    oid = new_order()
    orders.pay_order(AS_BUYER, oid, clock.now())
    wins, losses = winners_and_losers(race(
        lambda: orders.accept_order(AS_PROVIDER, oid, clock.now()),
        lambda: orders.reject_order(AS_PROVIDER, oid, "档期已满", clock.now())))
    assert len(wins) == 1 and isinstance(losses[0], InvalidTransition)
    final = orders.get_order(AS_BUYER, oid)
    assert final["status"] in ("in_progress", "rejected")
    assert final["escrow"]["refunded"] == (90000 if final["status"] == "rejected" else 0)
    assert_ledger_clean()


def test_many_drivers_execute_one_refund_once(ddb, monkeypatch):
    oid = new_order()
    orders.pay_order(AS_BUYER, oid, clock.now())
    monkeypatch.setattr(instructions, "execute_quietly", lambda written, now: set())
    orders.reject_order(AS_PROVIDER, oid, "档期已满", clock.now())
    instruction_id = f"{oid}:refund:all"
    results = race(*[lambda: instructions.execute_instruction(instruction_id, clock.now())] * 4)
    assert all(r == "done" for r in results), results
    assert len([p for p in PostingModel.scan() if p.order_id == oid]) == 2
    assert orders.get_order(AS_BUYER, oid)["escrow"]["refunded"] == 90000
    assert [v[2] for k, v in payments.gateway().refunds.items() if k == instruction_id] == [90000]
    assert_ledger_clean()


def test_capacity_is_never_overshot(ddb):
    # Capacity counts money (issue 21): the slots are raced for by paying, not placing.
    service_id = listed_service(capacity=2)
    buyers = [Caller(f"buyer-{i}") for i in range(5)]
    placed = [orders.place_order(b, service_id=service_id, requirement="logo设计",
                                 due_at=clock.now() + timedelta(days=5), price=None,
                                 milestones=None, now=clock.now())["id"] for b in buyers]
    results = race(*[(lambda b=b, oid=oid: orders.pay_order(b, oid, clock.now()))
                     for b, oid in zip(buyers, placed)])
    wins, losses = winners_and_losers(results)
    assert len(wins) == 2
    assert all(isinstance(e, (ServiceAtCapacity, Conflict)) for e in losses), losses
    assert ServiceModel.get(service_id, consistent_read=True).open_orders == 2
    charged = {c[1] for c in ddb.calls if c[0] == "charge"}
    assert charged == {w["id"] for w in wins}  # the losers' money was never asked for
