"""Money seams under real concurrency (DynamoDB Local, issue 21): a plan change racing
the buyer's payment never funds a plan the payment was not started for."""
from datetime import timedelta

from chalicelib import clock
from chalicelib.domain.errors import Conflict, InvalidTransition
from chalicelib.services import funding, orders
from chalicelib.storage.orders import OrderModel
from tests.api.orders_support import listed_service
from tests.integration.races_support import AS_BUYER, AS_PROVIDER, assert_ledger_clean
from tests.support import race

ROUNDS = 6
PLAN = [{"title": "首页", "amount": 50000, "release": "on_approval"},
        {"title": "详情页", "amount": 50000, "release": "on_approval"}]
REWRITE = [{"title": "定金", "amount": 30000, "release": "on_accept"},
           {"title": "尾款", "amount": 70000, "release": "on_approval"}]


def test_a_plan_change_racing_the_payment_never_funds_another_plan(ddb):
    service_id = listed_service(pricing="negotiable", price=100000)
    outcomes = set()
    for _ in range(ROUNDS):
        oid = orders.place_order(AS_BUYER, service_id=service_id, requirement="全店装修",
                                 due_at=clock.now() + timedelta(days=10), price=None,
                                 milestones=PLAN, now=clock.now())["id"]
        paid, changed = race(
            lambda: orders.pay_order(AS_BUYER, oid, clock.now()),
            lambda: orders.set_price(AS_PROVIDER, oid, 100000, REWRITE, clock.now()))
        for result in (paid, changed):
            assert not isinstance(result, Exception) or isinstance(
                result, (InvalidTransition, Conflict)), result
        order = OrderModel.get(oid, consistent_read=True)
        outcomes.add((order.status, int(order.plan_version)))
        if order.status == "awaiting_provider":
            record = funding.get(order.payment_seq and funding.payment_id(oid, order.payment_seq))
            # The payment that funded the order was started for the plan it now has.
            assert int(record.plan_version) == int(order.plan_version)
            assert int(order.escrow_funded) == int(order.amount) == 100000
        else:
            assert int(order.escrow_held) == 0
    assert_ledger_clean()
