"""A payment is pending at the gateway for at most PAYMENT_TIMEOUT_SECONDS (15 min, the
trade's own timeout at Alipay): then the settle_payments sweep closes the trade there,
the order gives its capacity slot back and can be paid again, and a confirmation that
still comes for the closed trade is refunded, once (issue 21)."""
from chalicelib import clock
from chalicelib.payments import records
from chalicelib.storage.catalog import ServiceModel, UserModel
from tests.api.alipay_support import notify
from tests.api.orders_support import (BUYER, OPERATOR, PROVIDER, ledger_clean, listed_service,
                                      place)

TIMEOUT = 15 * 60


def sweep(api) -> dict:
    return api.invoke("settle_payments").payload


def test_the_trade_times_out_is_closed_there_and_the_order_can_be_paid_again(api, alipay):
    sid = listed_service(capacity=1, pricing="negotiable")
    oid = place(api, sid).json["id"]
    first = api.post(f"/orders/{oid}/pay", user=BUYER).json["payment"]
    assert alipay.open(first["redirect_url"])[0] == 200
    assert sweep(api)["found"] == 0
    clock.advance(TIMEOUT - 60)
    sweep(api)  # asked once, still open: the buyer has a minute left
    assert records.get(oid).status == "pending"
    clock.advance(61)
    assert sweep(api)["moved"] == 1
    assert alipay.standin.trades[oid]["status"] == "TRADE_CLOSED"
    assert records.get(oid).status == "closed"
    order = api.get(f"/orders/{oid}", user=BUYER).json
    assert order["payment_pending"] is False and order["status"] == "awaiting_payment"
    assert int(ServiceModel.get(sid, consistent_read=True).open_orders) == 0
    assert int(UserModel.get(BUYER, consistent_read=True).unpaid_orders) == 1
    # The plan may change again, and the buyer pays the new one as a new trade.
    assert api.post(f"/orders/{oid}/price", {"amount": 45000}, user=PROVIDER).status == 200
    again = api.post(f"/orders/{oid}/pay", {"plan_version": 2}, user=BUYER).json["payment"]
    assert alipay.open(again["redirect_url"])[0] == 200
    alipay.pay(f"{oid}_p2")
    assert notify(api, alipay.notification(f"{oid}_p2")).raw == b"success"
    paid = api.get(f"/orders/{oid}", user=BUYER).json
    assert paid["status"] == "awaiting_provider" and paid["escrow"]["funded"] == 45000
    assert int(ServiceModel.get(sid, consistent_read=True).open_orders) == 1
    ledger_clean(api)
    report = api.get("/admin/reconciliation", user=OPERATOR, operator=True).json
    assert report["mismatches"] == [] and report["payments"] == {"closed": 1, "paid": 1}


def test_a_confirmation_of_the_closed_trade_is_refunded_once(api, alipay):
    oid = place(api, listed_service()).json["id"]
    first = api.post(f"/orders/{oid}/pay", user=BUYER).json["payment"]
    alipay.open(first["redirect_url"])
    clock.advance(TIMEOUT + 1)
    assert sweep(api)["moved"] == 1
    # The gateway took the money after all (it raced the close): it funds nothing.
    alipay.standin.trades[oid]["status"] = "WAIT_BUYER_PAY"
    alipay.pay(oid)
    for _ in range(2):
        assert notify(api, alipay.notification(oid)).raw == b"success"
    assert alipay.standin.trades[oid]["refunded"] == 50000
    order = api.get(f"/orders/{oid}", user=BUYER).json
    assert order["status"] == "awaiting_payment"
    assert order["escrow"] == {"funded": 50000, "released": 0, "refunded": 50000, "held": 0}
    assert records.get(oid).status == "voided"
    ledger_clean(api)
