"""Capacity counts money, not intentions (issue 21): a slot is taken by a paid, open order
or a payment pending at the gateway, never by an unpaid order; paying for a service that
filled up meanwhile is 409 SERVICE_AT_CAPACITY with no charge started; one buyer holds at
most MAX_UNPAID_ORDERS (5) unpaid orders open."""
import pytest

from chalicelib.storage.catalog import ServiceModel, UserModel
from tests.support import fresh_sandbox
from tests.api.orders_support import BUYER, PROVIDER, ledger_clean, listed_service, place


@pytest.fixture
def sandbox():
    return fresh_sandbox()


def slots(service_id):
    return int(ServiceModel.get(service_id, consistent_read=True).open_orders)


def charges(sandbox, oid):
    return [c for c in sandbox.calls if c[0] == "charge" and c[1].startswith(oid)]


def test_unpaid_orders_take_no_slot_and_paying_a_full_service_charges_nothing(api, sandbox):
    sid = listed_service(capacity=1)
    squatter = place(api, sid, buyer="buyer-squat").json["id"]
    payer = place(api, sid).json["id"]
    assert slots(sid) == 0  # the squat of the attack holds nothing
    assert api.post(f"/orders/{payer}/pay", user=BUYER).json["status"] == "awaiting_provider"
    assert slots(sid) == 1
    late = api.post(f"/orders/{squatter}/pay", user="buyer-squat")
    assert late.status == 409 and late.error_code == "SERVICE_AT_CAPACITY"
    assert late.json["error"]["details"]["capacity"] == 1
    assert charges(sandbox, squatter) == []  # no money taken, no trade started
    order = api.get(f"/orders/{squatter}", user="buyer-squat").json
    assert order["status"] == "awaiting_payment" and order["escrow"]["funded"] == 0
    assert order["payment_pending"] is False
    # The paid order's closing frees its slot; the unpaid one's closing frees none.
    assert api.post(f"/orders/{payer}/reject", {"reason": "档期已满"}, user=PROVIDER).status == 200
    assert slots(sid) == 0
    third = place(api, sid, buyer="buyer-3").json["id"]
    assert api.post(f"/orders/{squatter}/pay", user="buyer-squat").status == 200
    api.post(f"/orders/{third}/cancel", user="buyer-3")
    assert slots(sid) == 1
    # A full service still refuses new orders at once, as a courtesy to the buyer.
    assert place(api, sid, buyer="buyer-4").error_code == "SERVICE_AT_CAPACITY"
    ledger_clean(api)


def test_a_payment_pending_at_the_gateway_takes_the_slot(api, alipay):
    sid = listed_service(capacity=1)
    first = place(api, sid).json["id"]
    second = place(api, sid, buyer="buyer-2").json["id"]
    pending = api.post(f"/orders/{first}/pay", user=BUYER)
    assert pending.json["payment"]["status"] == "pending" and slots(sid) == 1
    refused = api.post(f"/orders/{second}/pay", user="buyer-2")
    assert refused.error_code == "SERVICE_AT_CAPACITY"
    assert alipay.standin.trades.get(second) is None
    # Pressing pay again while pending re-opens the same trade: no second slot.
    again = api.post(f"/orders/{first}/pay", user=BUYER)
    assert again.status == 200 and slots(sid) == 1
    # The buyer gives up: the order closes and its slot comes back.
    api.post(f"/orders/{first}/cancel", user=BUYER)
    assert slots(sid) == 0


def test_a_buyer_holds_at_most_five_unpaid_orders(api, sandbox):
    sid = listed_service()
    unpaid = [place(api, sid).json["id"] for _ in range(5)]
    sixth = place(api, sid)
    assert sixth.status == 409 and sixth.error_code == "TOO_MANY_UNPAID_ORDERS"
    assert sixth.json["error"]["details"]["max_unpaid_orders"] == 5
    assert place(api, sid, buyer="buyer-2").status == 201  # per buyer
    # Paying one, or cancelling one, makes room for one more.
    api.post(f"/orders/{unpaid[0]}/pay", user=BUYER)
    assert place(api, sid).status == 201
    assert place(api, sid).error_code == "TOO_MANY_UNPAID_ORDERS"
    api.post(f"/orders/{unpaid[1]}/cancel", user=BUYER)
    assert place(api, sid).status == 201
    assert int(UserModel.get(BUYER).unpaid_orders) == 5


def test_a_payment_pending_is_not_an_unpaid_order_and_the_sweep_uncounts_closed_ones(api, alipay):
    from chalicelib import clock
    from chalicelib.services import orders

    sid = listed_service()
    oids = [place(api, sid).json["id"] for _ in range(5)]
    assert api.post(f"/orders/{oids[0]}/pay", user=BUYER).json["payment"]["status"] == "pending"
    assert place(api, sid).status == 201
    clock.advance(orders.windows().payment.total_seconds() + 1)
    for oid in oids[1:]:
        assert orders.close_unpaid(oid, clock.now()) is not None
    assert int(UserModel.get(BUYER).unpaid_orders) == 1  # the one placed after
