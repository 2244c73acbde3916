"""Sweeps racing users and each other, with real threads on DynamoDB Local (moto never
raises conflicts): exactly one side wins each race, money moves once, and the ledger
stays clean."""
from collections import Counter
from datetime import timedelta

import pytest

from chalicelib import clock
from chalicelib.domain.errors import InvalidTransition
from chalicelib.jobs import release_escrow, sweep_timeouts
from chalicelib.services import ledger_check, orders
from chalicelib.storage.notifications import NotificationModel
from chalicelib.storage.orders import OrderEventModel, OrderModel
from tests.integration.races_support import AS_OPERATOR
from tests.integration.races_support import AS_BUYER, AS_PROVIDER, in_review, new_order
from tests.jobs.sweep_support import HOUR
from tests.support import race


def assert_ledger_clean():
    report = ledger_check.check_ledger()
    assert report["violations"] == [] and report["sum"] == 0
    assert report["pending_instructions"] == []


def accept_by(order_id):
    return orders.order_deadlines(OrderModel.get(order_id, consistent_read=True))["accept_by"]


def test_provider_accepting_at_the_deadline_races_the_expiry_sweep(ddb):
    ids = [new_order(price=30000 + n) for n in range(5)]
    for order_id in ids:
        orders.pay_order(AS_BUYER, order_id, clock.now())
    deadline = max(accept_by(o) for o in ids)
    # The provider's requests started a second before the deadline; the sweep runs a
    # second after it: both are entitled to act on what they read.
    clock.set_now(deadline + timedelta(seconds=1))
    accepts = [lambda o=o: orders.accept_order(AS_PROVIDER, o, accept_by(o) - timedelta(seconds=1))
               for o in ids]
    results = race(sweep_timeouts.run, *accepts)
    release_escrow.run()
    outcomes = Counter()
    for order_id, accepted in zip(ids, results[1:]):
        order = orders.present(OrderModel.get(order_id, consistent_read=True), AS_OPERATOR)
        if isinstance(accepted, Exception):
            assert isinstance(accepted, InvalidTransition), accepted
            assert order["status"] == "expired"
            assert order["escrow"] == {"funded": order["amount"], "released": 0,
                                       "refunded": order["amount"], "held": 0}
        else:
            assert order["status"] == "in_progress"
            assert order["escrow"]["held"] == order["amount"]
        outcomes[order["status"]] += 1
        events = [e.type for e in OrderEventModel.query(order_id, consistent_read=True)]
        assert events.count("accepted") + events.count("expired") == 1, events
    assert sum(outcomes.values()) == 5
    refunds = [c for c in ddb.calls if c[0] == "refund"]
    assert len(refunds) == outcomes["expired"]  # each expiry refunded exactly once
    assert_ledger_clean()


def test_buyer_paying_at_the_deadline_races_the_payment_window_sweep(ddb):
    ids = [new_order(price=12000 + n) for n in range(5)]
    deadline = max(orders.order_deadlines(OrderModel.get(o, consistent_read=True))["pay_by"]
                   for o in ids)
    clock.set_now(deadline + timedelta(seconds=1))
    pays = [lambda o=o: orders.pay_order(AS_BUYER, o, deadline - timedelta(hours=1)) for o in ids]
    results = race(sweep_timeouts.run, *pays)
    release_escrow.run()
    for order_id, paid in zip(ids, results[1:]):
        order = orders.present(OrderModel.get(order_id, consistent_read=True), AS_OPERATOR)
        if isinstance(paid, Exception):
            assert isinstance(paid, InvalidTransition), paid
            assert order["status"] == "cancelled"
            # A charge that lost to the sweep is booked to the closed order and refunded.
            escrow = order["escrow"]
            assert escrow["funded"] == escrow["refunded"] and escrow["held"] == 0, escrow
        else:
            assert order["status"] == "awaiting_provider"
            assert order["escrow"]["held"] == order["amount"]
    assert_ledger_clean()


def test_two_sweeps_at_once_do_each_thing_once(ddb):
    unpaid = [new_order(price=10000 + n) for n in range(6)]
    paid = [new_order(price=20000 + n) for n in range(6)]
    for order_id in paid:
        orders.pay_order(AS_BUYER, order_id, clock.now())
    # Unpaid ones are past their payment window; paid ones are 23 h from their accept
    # deadline, so their reminder is due.
    clock.advance(6 * 24 * HOUR + HOUR)
    first = race(sweep_timeouts.run, sweep_timeouts.run)
    assert not any(isinstance(r, Exception) for r in first), first
    # A transaction conflict between the two is retried; what still lost is pushed back a
    # minute and finished by a later run: nothing is lost, nothing done twice.
    clock.advance(HOUR)
    sweep_timeouts.run()
    assert sweep_timeouts.run()["found"] == 0
    for order_id in unpaid:
        events = [e.type for e in OrderEventModel.query(order_id, consistent_read=True)]
        assert events == ["placed", "payment_window_closed"], events
    for order_id in paid:
        order = OrderModel.get(order_id, consistent_read=True)
        assert (order.status, order.reminders_sent) == ("awaiting_provider", ["reminder:accept_by"])
    to_buyer = Counter(n.kind for n in NotificationModel.query("buyer-1"))
    to_provider = Counter(n.kind for n in NotificationModel.query("provider-1"))
    assert to_buyer["cancelled"] == len(unpaid)
    assert to_provider["reminder_accept"] == len(paid)
    assert_ledger_clean()


def auto_approve_at(order_id):
    return orders.order_deadlines(OrderModel.get(order_id, consistent_read=True))["auto_approve_at"]


@pytest.mark.parametrize("answer", ["request_revision", "dispute"])
def test_buyer_answering_at_the_deadline_races_the_auto_approval(ddb, answer):
    ids = [new_order(price=40000 + n) for n in range(5)]
    for order_id in ids:
        in_review(order_id)
    windows = {o: auto_approve_at(o) for o in ids}
    # The buyer's requests started a second before each window closed; the sweep runs a
    # second after the last one: both are entitled to act on what they read.
    clock.set_now(max(windows.values()) + timedelta(seconds=1))

    def buyer(order_id):
        at = windows[order_id] - timedelta(seconds=1)
        if answer == "dispute":
            return orders.dispute_order(AS_BUYER, order_id, "交付与需求不符", at)
        return orders.request_revision(AS_BUYER, order_id, "主色调换成红色", at)

    results = race(sweep_timeouts.run, *[lambda o=o: buyer(o) for o in ids])
    assert not isinstance(results[0], Exception), results[0]
    release_escrow.run()
    won = Counter()
    for order_id, answered in zip(ids, results[1:]):
        order = orders.present(OrderModel.get(order_id, consistent_read=True), AS_OPERATOR)
        events = [(e.type, e.actor) for e in OrderEventModel.query(order_id, consistent_read=True)]
        if isinstance(answered, Exception):
            assert isinstance(answered, InvalidTransition), answered
            assert order["status"] == "completed"
            assert order["escrow"] == {"funded": order["amount"], "released": order["amount"],
                                       "refunded": 0, "held": 0}
            assert events[-1] == ("approved", "system")
            won["sweep"] += 1
        else:
            assert order["status"] == ("disputed" if answer == "dispute" else "in_progress")
            assert order["escrow"]["held"] == order["amount"]
            assert order["escrow"]["released"] == 0
            assert ("approved", "system") not in events
            won["buyer"] += 1
        answers = [t for t, _ in events if t in ("approved", "revision_requested", "disputed")]
        assert len(answers) == 1, events  # exactly one winner per order
    assert sum(won.values()) == len(ids)
    # A later sweep finds nothing left to approve: the buyer's winners keep their money held.
    clock.advance(HOUR)
    sweep_timeouts.run()
    for order_id, answered in zip(ids, results[1:]):
        if not isinstance(answered, Exception):
            assert orders.present(OrderModel.get(order_id), AS_OPERATOR)["escrow"]["released"] == 0
    assert_ledger_clean()
