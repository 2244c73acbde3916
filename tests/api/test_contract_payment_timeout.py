"""A contract's payment (its deposit or a bill) is pending at the gateway for at most
PAYMENT_TIMEOUT_SECONDS, as an order's: then the settle_payments sweep closes the trade
there, the next payment is a new trade (`<ref>_t2`), and a confirmation that still comes
for the closed trade funds nothing twice: it is booked and refunded, once."""
from chalicelib import clock
from chalicelib.payments import records
from tests.api.alipay_support import notify
from tests.api.contracts_support import (BUYER, OPERATOR, PROVIDER, at_beijing, signed,
                                         statements, sweep)
from tests.api.orders_support import ledger_clean

TIMEOUT = 15 * 60


def settle_sweep(api) -> dict:
    return api.invoke("settle_payments").payload


def reconciled(api):
    report = api.get("/admin/reconciliation", user=OPERATOR, operator=True).json
    assert report["mismatches"] == [], report["mismatches"]
    return report


def test_an_unpaid_deposit_closes_and_is_paid_again_as_a_new_trade(api, alipay):
    cid = signed(api)["id"]
    first = api.post(f"/contracts/{cid}/pay", user=BUYER).json["payment"]
    assert alipay.open(first["redirect_url"])[0] == 200
    clock.advance(TIMEOUT - 60)
    settle_sweep(api)
    assert records.get(cid).status == "pending"  # a minute left
    clock.advance(61)
    assert settle_sweep(api)["moved"] == 1
    assert alipay.standin.trades[cid]["status"] == "TRADE_CLOSED"
    assert records.get(cid).status == "closed"
    assert api.get(f"/contracts/{cid}", user=BUYER).json["status"] == "awaiting_deposit"

    again = api.post(f"/contracts/{cid}/pay", user=BUYER).json["payment"]
    assert alipay.open(again["redirect_url"])[0] == 200
    alipay.pay(f"{cid}_t2")
    assert notify(api, alipay.notification(f"{cid}_t2")).raw == b"success"
    body = api.get(f"/contracts/{cid}", user=BUYER).json
    assert body["status"] == "onboarding"
    assert body["deposit"] == {"paid": 100000, "held": 100000, "used": 0, "returned": 0}
    ledger_clean(api)
    assert reconciled(api)["payments"] == {"closed": 1, "paid": 1}

    # The gateway took the closed trade's money after all: refunded once, however often
    # it says so; the deposit the second trade paid stays held.
    alipay.standin.trades[cid]["status"] = "WAIT_BUYER_PAY"
    alipay.pay(cid)
    for _ in range(2):
        assert notify(api, alipay.notification(cid)).raw == b"success"
    assert alipay.standin.trades[cid]["refunded"] == 100000
    assert alipay.standin.trades[f"{cid}_t2"].get("refunded", 0) == 0
    body = api.get(f"/contracts/{cid}", user=BUYER).json
    assert body["status"] == "onboarding"
    assert body["deposit"] == {"paid": 200000, "held": 100000, "used": 0, "returned": 100000}
    ledger_clean(api)
    reconciled(api)


def test_an_unpaid_bill_closes_and_is_paid_again(api, alipay):
    at_beijing("2027-01-16", 9)
    cid = signed(api, deposit=0, trial_days=0, trial_fee=0)["id"]
    api.post(f"/contracts/{cid}/go-live", user=BUYER)
    at_beijing("2027-02-01", 1)
    sweep(api)
    [jan] = statements(api, cid)
    sid = jan["id"]
    api.post(f"/contracts/{cid}/statements/{sid}/submit", {"sales": 0}, user=PROVIDER)
    api.post(f"/contracts/{cid}/statements/{sid}/confirm", user=BUYER)
    first = api.post(f"/contracts/{cid}/statements/{sid}/pay", user=BUYER).json
    assert first["payment"]["status"] == "pending"
    alipay.open(first["payment"]["redirect_url"])
    clock.advance(TIMEOUT + 1)
    assert settle_sweep(api)["moved"] == 1
    assert alipay.standin.trades[f"{sid}_p0"]["status"] == "TRADE_CLOSED"
    assert statements(api, cid)[0]["status"] == "payable"

    again = api.post(f"/contracts/{cid}/statements/{sid}/pay", user=BUYER).json["payment"]
    alipay.open(again["redirect_url"])
    alipay.pay(f"{sid}_p0_t2")
    assert notify(api, alipay.notification(f"{sid}_p0_t2")).raw == b"success"
    assert statements(api, cid)[0]["status"] == "paid"
    assert api.get("/me/balance", user=PROVIDER).json["available"] == jan["base"]
    ledger_clean(api)
    reconciled(api)
