"""Money seams under real concurrency (DynamoDB Local, issue 21): a plan change racing
the buyer's payment never funds a plan the payment was not started for."""
from datetime import timedelta

import pytest

from chalicelib import clock
from chalicelib.domain.actors import Caller
from chalicelib.domain.errors import Conflict, InvalidTransition, TooManyUnpaidOrders
from chalicelib.payments import records
from chalicelib.services import orders
from chalicelib.storage.catalog import UserModel
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
    for n in range(ROUNDS):
        buyer = Caller(f"buyer-plan-{n}")
        oid = orders.place_order(buyer, service_id=service_id, requirement="全店装修",
                                 due_at=clock.now() + timedelta(days=10), price=None,
                                 milestones=PLAN, now=clock.now())["id"]
        paid, changed = race(
            lambda b=buyer, o=oid: orders.pay_order(b, o, clock.now()),
            lambda o=oid: orders.set_price(AS_PROVIDER, o, 100000, REWRITE, clock.now()))
        for result in (paid, changed):
            assert not isinstance(result, Exception) or isinstance(
                result, (InvalidTransition, Conflict)), result
        order = OrderModel.get(oid, consistent_read=True)
        if order.status == "awaiting_provider":
            record = records.get(order.payment_seq and records.payment_id(oid, order.payment_seq))
            # The payment that funded the order was started for the plan it now has.
            assert int(record.plan_version) == int(order.plan_version)
            assert int(order.escrow_funded) == int(order.amount) == 100000
        else:
            assert int(order.escrow_held) == 0
    assert_ledger_clean()


def test_one_buyer_placing_at_once_never_passes_five_unpaid_orders(ddb, monkeypatch):
    from chalicelib import settings

    monkeypatch.setenv("MAX_UNPAID_ORDERS", "5")  # the contract's default
    settings.reload()
    service_id = listed_service(price=30000)
    buyer = Caller("buyer-many-tabs")
    results = race(*[
        (lambda: orders.place_order(buyer, service_id=service_id, requirement="主图设计",
                                    due_at=clock.now() + timedelta(days=5), price=None,
                                    milestones=None, now=clock.now()))] * 8)
    placed = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(placed) <= 5 and len(placed) + len(refused) == 8
    assert all(isinstance(e, (TooManyUnpaidOrders, Conflict)) for e in refused), refused
    assert int(UserModel.get(buyer.user_id, consistent_read=True).unpaid_orders) == len(placed)
    # Whatever the race left, the sixth is refused and the count stays exact.
    while len(placed) < 5:
        placed.append(orders.place_order(buyer, service_id=service_id, requirement="主图设计",
                                         due_at=clock.now() + timedelta(days=5), price=None,
                                         milestones=None, now=clock.now()))
    with pytest.raises(TooManyUnpaidOrders):
        orders.place_order(buyer, service_id=service_id, requirement="主图设计",
                           due_at=clock.now() + timedelta(days=5), price=None,
                           milestones=None, now=clock.now())


DEPOSIT = [{"title": "定金", "amount": 27000, "release": "on_accept"},
           {"title": "尾款", "amount": 63000, "release": "on_approval"}]


def test_a_reversal_racing_a_withdrawal_splits_exactly_between_available_and_debt(ddb):
    from chalicelib.services import payouts, providers
    from tests.integration.races_support import new_order

    now = clock.now()
    providers.apply(AS_PROVIDER, display_name="小美设计", company_name="小美设计有限公司",
                    contact="0571-88886666", intro="十年电商设计经验", now=now)
    providers.approve(Caller("op-1", frozenset({"operator"})), AS_PROVIDER.user_id, now)
    payouts.set_payout_account(AS_PROVIDER, account="13800138000", name="张小美", now=now)
    for _ in range(4):
        oid = new_order(milestones=DEPOSIT)
        orders.pay_order(AS_BUYER, oid, clock.now())
        orders.accept_order(AS_PROVIDER, oid, clock.now())
        before = payouts.balance(AS_PROVIDER)
        cancelled, withdrawn = race(
            lambda o=oid: orders.cancel_order(AS_PROVIDER, o, clock.now()),
            lambda: payouts.request_withdrawal(AS_PROVIDER, 5000, clock.now()))
        assert not isinstance(cancelled, Exception), cancelled
        after = payouts.balance(AS_PROVIDER)
        # The 27000 came back whole: from available, and as debt for what was withdrawn.
        moved_out = 0 if isinstance(withdrawn, Exception) else 5000
        assert after["available"] - after.get("debt", 0) == \
            before["available"] - before.get("debt", 0) - 27000 - moved_out
        assert after["available"] >= 0
        assert OrderModel.get(oid, consistent_read=True).escrow_refunded == 90000
    assert_ledger_clean()
