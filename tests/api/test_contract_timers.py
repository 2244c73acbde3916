"""The contract sweep's timers over HTTP: an overdue bill paid from the deposit, a
contract suspended when it does not cover the bill and resumed once the buyer pays the
rest — each timer acting once however often the sweep runs."""
import pytest

from chalicelib import settings
from tests.api.alipay_support import notify
from tests.api.contracts_support import (BUYER, OPERATOR, PROVIDER, at_beijing, later, live,
                                         signed, statements, sweep)
from tests.api.orders_support import ledger_clean


def payable(api, cid, sid, sales=0):
    api.post(f"/contracts/{cid}/statements/{sid}/submit", {"sales": sales}, user=PROVIDER)
    reply = api.post(f"/contracts/{cid}/statements/{sid}/confirm", user=BUYER)
    assert reply.json["status"] == "payable", reply
    return reply.json


def test_overdue_bills_draw_the_deposit_then_suspend_until_paid(api):
    cid = live(api, "2027-01-16")["id"]
    at_beijing("2027-01-23", 1)
    sweep(api)
    trial = statements(api, cid)[0]
    payable(api, cid, trial["id"])
    later(7.1)  # past pay_by
    sweep(api)
    assert sweep(api)["moved"] == 0  # the second run finds nothing left to do
    trial = statements(api, cid)[0]
    assert (trial["status"], trial["paid_from_deposit"]) == ("paid", 50000)
    body = api.get(f"/contracts/{cid}", user=BUYER).json
    assert body["deposit"] == {"paid": 100000, "held": 50000, "used": 50000, "returned": 0}
    assert body["status"] == "active"
    # January's rest (110000 with sales) is more than the deposit still holds.
    at_beijing("2027-02-01", 1)
    sweep(api)
    jan = statements(api, cid)[1]
    payable(api, cid, jan["id"], sales=1000000)
    later(7.1)
    sweep(api)
    sweep(api)
    jan = statements(api, cid)[1]
    assert (jan["status"], jan["paid"], jan["paid_from_deposit"]) == ("payable", 50000, 50000)
    body = api.get(f"/contracts/{cid}", user=BUYER).json
    assert (body["status"], body["owed"]) == ("suspended", 60000)
    assert body["deposit"]["held"] == 0
    queue = api.get("/admin/contracts?status=suspended", user=OPERATOR, operator=True)
    assert [c["id"] for c in queue.json["items"]] == [cid]
    paid = api.post(f"/contracts/{cid}/statements/{jan['id']}/pay", user=BUYER)
    assert (paid.json["status"], paid.json["paid"]) == ("paid", 110000)
    # The gateway's records and the ledger agree: the deposit, the bill paid for the rest.
    report = api.get("/admin/reconciliation", user=OPERATOR, operator=True).json
    assert report["mismatches"] == [], report
    body = api.get(f"/contracts/{cid}", user=BUYER).json
    assert (body["status"], body["owed"]) == ("active", 0)
    ledger_clean(api)


def test_a_disputed_bill_goes_to_the_operator(api):
    cid = live(api, "2027-01-16", trial_days=0, trial_fee=0)["id"]
    at_beijing("2027-02-01", 1)
    sweep(api)
    [jan] = statements(api, cid)
    assert (jan["period_start"], jan["base"]) == ("2027-01-16", 310000 * 16 // 31)
    api.post(f"/contracts/{cid}/statements/{jan['id']}/submit", {"sales": 500000}, user=PROVIDER)
    disputed = api.post(f"/contracts/{cid}/statements/{jan['id']}/dispute",
                        {"reason": "响应时间不达标"}, user=BUYER)
    assert disputed.json["status"] == "disputed"
    assert api.post(f"/contracts/{cid}/statements/{jan['id']}/confirm",
                    user=BUYER).error_code == "INVALID_TRANSITION"
    queue = api.get("/admin/contracts?statement_status=disputed", user=OPERATOR, operator=True)
    assert [s["id"] for s in queue.json["items"]] == [jan["id"]]
    too_much = api.post(f"/admin/contracts/{cid}/statements/{jan['id']}/resolve",
                        {"amount": 10**9, "note": "x"}, user=OPERATOR, operator=True)
    assert too_much.status == 422
    assert api.post(f"/admin/contracts/{cid}/statements/{jan['id']}/resolve",
                    {"amount": 100000, "note": "扣减"}, user=BUYER).status == 403
    resolved = api.post(f"/admin/contracts/{cid}/statements/{jan['id']}/resolve",
                        {"amount": 100000, "note": "按考核扣减"}, user=OPERATOR, operator=True)
    assert (resolved.json["status"], resolved.json["amount"]) == ("payable", 100000)
    assert api.post(f"/contracts/{cid}/statements/{jan['id']}/pay",
                    user=PROVIDER).status == 403
    assert api.post(f"/contracts/{cid}/statements/{jan['id']}/pay",
                    user=BUYER).json["status"] == "paid"
    ledger_clean(api)


def test_the_deposit_through_alipay_is_held_once(api, alipay):
    cid = signed(api)["id"]
    started = api.post(f"/contracts/{cid}/pay", user=BUYER)
    assert started.json["payment"]["status"] == "pending"
    assert started.json["status"] == "awaiting_deposit"
    status, _, page = alipay.open(started.json["payment"]["redirect_url"])
    assert status == 200, page
    alipay.pay(cid)
    form = alipay.notification(cid)
    for _ in range(2):  # Alipay repeats a notification until it is answered; twice is once
        reply = notify(api, form)
        assert (reply.status, reply.raw) == (200, b"success"), reply
    body = api.get(f"/contracts/{cid}", user=BUYER).json
    assert body["status"] == "onboarding"
    assert body["deposit"] == {"paid": 100000, "held": 100000, "used": 0, "returned": 0}
    gone = api.post(f"/contracts/{cid}/terminate", {"reason": "不合作了"}, user=PROVIDER)
    assert gone.json["status"] == "cancelled"
    assert gone.json["deposit"]["returned"] == 100000
    ledger_clean(api)


def test_prepaid_bills_are_held_until_their_period_ends(api):
    cid = live(api, "2027-03-01", billing="prepaid", commission_bps=0, trial_days=0,
               trial_fee=0, deposit=0)["id"]
    at_beijing("2027-03-01", 11)
    sweep(api)
    [march] = statements(api, cid)
    assert (march["status"], march["amount"]) == ("payable", 310000)
    assert api.post(f"/contracts/{cid}/statements/{march['id']}/pay",
                    user=BUYER).json["status"] == "paid"
    early = api.post(f"/contracts/{cid}/statements/{march['id']}/confirm", user=BUYER)
    assert early.status == 409  # its period has not ended
    at_beijing("2027-04-01", 1)
    sweep(api)
    assert [s["period_start"] for s in statements(api, cid)] == ["2027-03-01", "2027-04-01"]
    released = api.post(f"/contracts/{cid}/statements/{march['id']}/confirm", user=BUYER)
    assert released.json["status"] == "released"
    ledger_clean(api)
    # April is paid, then released by the sweep CONFIRM_DAYS after its period.
    april = statements(api, cid)[1]
    api.post(f"/contracts/{cid}/statements/{april['id']}/pay", user=BUYER)
    at_beijing("2027-05-09", 1)
    sweep(api)
    assert statements(api, cid)[1]["status"] == "released"
    balance = api.get("/me/balance", user=PROVIDER).json
    assert balance["available"] == 2 * 310000  # no platform fee configured in tests
    ledger_clean(api)


@pytest.fixture
def five_percent_fee():
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("PLATFORM_FEE_BPS", "500")
        settings.reload()
        yield
    settings.reload()


def test_the_fee_is_taken_once_on_a_bill_paid_in_two_parts(api, five_percent_fee):
    cid = live(api, "2027-01-01", trial_days=0, trial_fee=0)["id"]
    at_beijing("2027-02-01", 1)
    sweep(api)
    [jan] = statements(api, cid)
    payable(api, cid, jan["id"])
    later(7.1)
    sweep(api)  # the deposit pays 100000 of 310000, with its share of the fee
    api.post(f"/contracts/{cid}/statements/{jan['id']}/pay", user=BUYER)
    assert api.get("/me/balance", user=PROVIDER).json["available"] == 310000 - 15500
    check = ledger_clean(api)
    assert check["revenue"] == 15500


def test_a_deposit_confirmed_after_the_cancellation_is_refunded(api, alipay):
    cid = signed(api)["id"]
    started = api.post(f"/contracts/{cid}/pay", user=BUYER)
    alipay.open(started.json["payment"]["redirect_url"])
    gone = api.post(f"/contracts/{cid}/terminate", {"reason": "改主意了"}, user=BUYER)
    assert gone.json["status"] == "cancelled" and gone.json["deposit"]["paid"] == 0
    alipay.pay(cid)  # the buyer paid at the cashier anyway
    form = alipay.notification(cid)
    for _ in range(2):
        assert notify(api, form).status == 200
    body = api.get(f"/contracts/{cid}", user=BUYER).json
    assert body["status"] == "cancelled"
    assert body["deposit"] == {"paid": 100000, "held": 0, "used": 0, "returned": 100000}
    ledger_clean(api)


def test_a_reminder_comes_once_a_day_before_a_deadline(api):
    cid = live(api, "2027-01-16")["id"]
    at_beijing("2027-01-23", 1)
    sweep(api)
    later(4.5)  # half a day before the statement's submit_by
    sweep(api)
    sweep(api)
    reminders = [n for n in api.get("/me/notifications", user=PROVIDER).json["items"]
                 if n["kind"] == "statement_reminder"]
    assert len(reminders) == 1 and "账单提交截止" in reminders[0]["text"]
    assert statements(api, cid)[0]["status"] == "open"  # reminded, not yet submitted
    later(1)
    sweep(api)
    assert statements(api, cid)[0]["status"] == "submitted"
