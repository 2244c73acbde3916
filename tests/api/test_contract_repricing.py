"""A prepaid period cut short by a termination is re-priced by the days served: its
statement (opened whole on the period's first day) is cut in the termination's own
transaction, and the excess held goes back — to the deposit first, up to what came from
it, the rest to the buyer through the gateway — exactly once, with the ledger balanced."""
from tests.api.contracts_support import (BUYER, PROVIDER, at_beijing, later, live, statements,
                                         sweep)
from tests.api.orders_support import ledger_clean
from tests.support import fresh_sandbox

PREPAID = {"billing": "prepaid", "commission_bps": 0, "trial_days": 0, "trial_fee": 0}


def contract(api, cid, user=BUYER):
    return api.get(f"/contracts/{cid}", user=user).json


def test_a_paid_month_cut_short_refunds_the_days_not_served_once(api):
    sandbox = fresh_sandbox()
    cid = live(api, "2027-03-01", **PREPAID)["id"]  # notice_days 10, deposit 1000 元
    at_beijing("2027-03-01", 11)
    sweep(api)
    [march] = statements(api, cid)
    sid = march["id"]
    assert api.post(f"/contracts/{cid}/statements/{sid}/pay", user=BUYER).json["status"] == "paid"

    at_beijing("2027-03-10", 12)
    headers = {"Idempotency-Key": "terminate-march"}
    gone = api.post(f"/contracts/{cid}/terminate", {"reason": "店铺转型"}, user=BUYER,
                    headers=headers)
    assert (gone.status, gone.json["status"], gone.json["ends_on"]) == (200, "ending", "2027-03-20")
    cut = statements(api, cid)[0]
    # 03-01..03-20: 20 of 31 days of 3100 元, rounded down; 1100 元 back to the buyer.
    assert (cut["period_end"], cut["days"], cut["base"], cut["amount"], cut["paid"]) == (
        "2027-03-20", 20, 200000, 200000, 200000)
    assert cut["status"] == "paid"
    assert cut["repriced"]["amount_before"] == 310000
    assert cut["repriced"]["period_end_before"] == "2027-03-31"
    assert [amount for kind, _, amount, _ in (c for c in sandbox.calls if c[0] == "refund")] \
        == [110000]
    ledger_clean(api)

    # The same request again is replayed; a second termination is refused: nothing more
    # goes back.
    again = api.post(f"/contracts/{cid}/terminate", {"reason": "店铺转型"}, user=BUYER,
                     headers=headers)
    assert again.status == 200 and again.headers.get("idempotent-replayed") == "true"
    assert api.post(f"/contracts/{cid}/terminate", {"reason": "再来"},
                    user=PROVIDER).status == 409
    assert statements(api, cid)[0]["paid"] == 200000

    # The shortened period ends; its bill is released for what was served, no new month
    # opens, and the deposit goes back whole.
    at_beijing("2027-03-21", 1)
    sweep(api)
    assert [s["period_start"] for s in statements(api, cid)] == ["2027-03-01"]
    assert api.post(f"/contracts/{cid}/statements/{sid}/confirm",
                    user=BUYER).json["status"] == "released"
    assert api.get("/me/balance", user=PROVIDER).json["available"] == 200000
    later(1)
    sweep(api)
    body = contract(api, cid)
    assert body["status"] == "ended"
    assert body["deposit"] == {"paid": 100000, "held": 0, "used": 0, "returned": 100000}
    refunds = [c[2] for c in sandbox.calls if c[0] == "refund"]
    assert refunds == [110000, 100000]  # the cut once, then the deposit
    ledger_clean(api)


def test_a_bill_the_deposit_paid_gives_the_excess_back_to_the_deposit(api):
    cid = live(api, "2027-03-01", notice_days=0, **PREPAID)["id"]
    at_beijing("2027-03-01", 11)
    sweep(api)
    at_beijing("2027-03-08", 12)  # past pay_by: the deposit pays 1000 元 of 3100 元
    sweep(api)
    assert contract(api, cid)["status"] == "suspended"
    [march] = statements(api, cid)
    assert (march["paid"], march["paid_from_deposit"]) == (100000, 100000)

    at_beijing("2027-03-09", 12)
    gone = api.post(f"/contracts/{cid}/terminate", {"reason": "欠款解约"}, user=PROVIDER)
    assert (gone.json["status"], gone.json["ends_on"]) == ("ending", "2027-03-09")
    cut = statements(api, cid)[0]
    # 9 of 31 days: 90000; the 10000 the bill no longer needs goes back to the deposit.
    assert (cut["amount"], cut["paid"], cut["paid_from_deposit"], cut["status"]) == (
        90000, 90000, 90000, "paid")
    assert gone.json["deposit"] == {"paid": 100000, "held": 10000, "used": 90000,
                                    "returned": 0}
    assert gone.json["owed"] == 0
    ledger_clean(api)


def test_a_trial_cut_short_is_charged_for_the_days_used(api):
    cid = live(api, "2027-03-01", billing="prepaid", commission_bps=0, trial_days=7,
               trial_fee=70000, deposit=0)["id"]
    at_beijing("2027-03-01", 11)
    sweep(api)
    [trial] = statements(api, cid)
    api.post(f"/contracts/{cid}/statements/{trial['id']}/pay", user=BUYER)
    at_beijing("2027-03-03", 11)
    gone = api.post(f"/contracts/{cid}/terminate", {"reason": "试用不满意"}, user=BUYER)
    assert gone.json["status"] == "ended"
    cut = statements(api, cid)[0]
    assert (cut["period_end"], cut["amount"], cut["paid"]) == ("2027-03-03", 30000, 30000)
    ledger_clean(api)
    at_beijing("2027-03-12", 1)  # CONFIRM_DAYS after the cut trial: released by the sweep
    sweep(api)
    assert statements(api, cid)[0]["status"] == "released"
    assert api.get("/me/balance", user=PROVIDER).json["available"] == 30000
    ledger_clean(api)
