"""Sweeps racing users and each other, with real threads on DynamoDB Local (moto never
raises conflicts): exactly one side wins each race, money moves once, and the ledger
stays clean."""
from collections import Counter
from datetime import timedelta

from chalicelib import clock
from chalicelib.domain.errors import InvalidTransition
from chalicelib.jobs import release_escrow, sweep_timeouts
from chalicelib.services import ledger_check, orders
from chalicelib.storage.notifications import NotificationModel
from chalicelib.storage.orders import OrderEventModel, OrderModel
from tests.integration.races_support import AS_BUYER, AS_PROVIDER, new_order
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
        order = orders.present(OrderModel.get(order_id, consistent_read=True))
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
        order = orders.present(OrderModel.get(order_id, consistent_read=True))
        if isinstance(paid, Exception):
            assert isinstance(paid, InvalidTransition), paid
            assert order["status"] == "cancelled" and order["escrow"]["funded"] == 0
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
