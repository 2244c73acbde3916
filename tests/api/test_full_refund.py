"""Full refund means full (全额退款, issue 21): a late cancel and a provider's cancel of work
in progress refund everything but the steps the buyer approved — the deposit released at
acceptance included, reversed from the provider's account with its platform fee. What
the provider's available balance cannot cover becomes its debt, repaid from its next
releases before `available` grows; a withdrawal already requested is not taken back."""
import pytest

from chalicelib import settings
from tests.support import fresh_sandbox
from tests.api.orders_support import (BUYER, PROVIDER, deliver, due_in, ledger_clean,
                                      listed_service, place)
from tests.api.payouts_support import (approved_provider, balance, earned, with_payout_account,
                                       withdraw)

DAY = 24 * 3600
DEPOSIT = [{"title": "定金", "amount": 30000, "release": "on_accept"},
           {"title": "初稿", "amount": 30000, "release": "on_approval"},
           {"title": "终稿", "amount": 40000, "release": "on_approval"}]


@pytest.fixture
def sandbox():
    return fresh_sandbox()


@pytest.fixture
def fee_10_percent(monkeypatch):
    monkeypatch.setenv("PLATFORM_FEE_BPS", "1000")
    settings.reload()
    yield
    monkeypatch.delenv("PLATFORM_FEE_BPS")
    settings.reload()


def accepted_with_deposit(api, **place_kw):
    oid = place(api, listed_service(price=100000, title="全店装修"), milestones=DEPOSIT,
                **place_kw).json["id"]
    assert api.post(f"/orders/{oid}/pay", user=BUYER).status == 200
    accepted = api.post(f"/orders/{oid}/accept", user=PROVIDER).json
    assert accepted["escrow"]["released"] == 30000
    return oid


def refunds(sandbox):
    return [c[2] for c in sandbox.calls if c[0] == "refund"]


def statement(api, user=PROVIDER):
    return [(line["kind"], line["amount"])
            for line in api.get("/me/statement?limit=100", user=user).json["items"]]


def test_a_providers_cancel_refunds_the_deposit_and_reverses_its_fee(api, sandbox,
                                                                      fee_10_percent):
    oid = accepted_with_deposit(api)
    assert balance(api)["available"] == 27000  # 30000 less the 10 % fee
    cancelled = api.post(f"/orders/{oid}/cancel", user=PROVIDER).json
    assert cancelled["escrow"] == {"funded": 100000, "released": 0, "refunded": 100000,
                                   "held": 0}
    assert refunds(sandbox) == [100000]
    assert [m["status"] for m in cancelled["milestones"]] == ["refunded"] * 3
    assert balance(api) == {"available": 0, "pending_withdrawal": 0, "currency": "CNY"}
    event = api.get(f"/orders/{oid}/events", user=BUYER).json["items"][-1]
    assert event["data"]["reversed"] == [{"step": 0, "amount": 30000, "fee": 3000,
                                          "from_available": 27000, "debt": 0}]
    assert event["data"]["refund"] == 100000
    assert statement(api)[0] == ("reversal", -27000)
    assert ledger_clean(api)["revenue"] == 0  # the fee went back with the deposit


def test_a_late_cancel_keeps_only_the_approved_steps(api, sandbox):
    oid = accepted_with_deposit(api, due_at=due_in(days=3))
    deliver(api, oid)
    assert api.post(f"/orders/{oid}/approve", user=BUYER).json["status"] == "in_progress"
    api.post("/_local/clock", {"advance_seconds": 19 * DAY})
    late = api.post(f"/orders/{oid}/cancel", user=BUYER).json
    assert late["status"] == "cancelled"
    # The approved 初稿 stays the provider's; the deposit and the rest come back.
    assert late["escrow"] == {"funded": 100000, "released": 30000, "refunded": 70000, "held": 0}
    assert [m["status"] for m in late["milestones"]] == ["refunded", "released", "refunded"]
    assert refunds(sandbox) == [70000]
    assert balance(api)["available"] == 30000
    ledger_clean(api)


def test_what_available_cannot_cover_becomes_debt_repaid_from_the_next_release(api, sandbox):
    approved_provider(api, user=PROVIDER)
    with_payout_account(api)
    oid = accepted_with_deposit(api, due_at=due_in(days=3))
    assert withdraw(api, 25000).status == 201  # taken out before the buyer cancels
    api.post("/_local/clock", {"advance_seconds": 19 * DAY})
    assert api.post(f"/orders/{oid}/cancel", user=BUYER).json["escrow"]["refunded"] == 100000
    assert refunds(sandbox) == [100000]
    # The withdrawal stays asked for; the 25000 the balance lacked is owed.
    assert balance(api) == {"available": 0, "pending_withdrawal": 25000, "debt": 25000,
                            "currency": "CNY"}
    ledger_clean(api)  # the debt account is allowed below zero
    assert withdraw(api, 10).json["error"]["code"] == "INSUFFICIENT_BALANCE"

    earned(api, price=40000, approve_provider=False)  # the next release repays first
    assert balance(api) == {"available": 15000, "pending_withdrawal": 25000, "currency": "CNY"}
    lines = statement(api)
    assert ("debt_repayment", -25000) in lines and ("debt", 25000) in lines
    assert ("reversal", -30000) in lines and ("release", 40000) in lines
    assert sum(amount for _, amount in lines) == 15000  # the statement adds up to available
    ledger_clean(api)


def test_an_agreed_cancel_and_a_resolution_still_split_only_what_is_held(api, sandbox):
    oid = accepted_with_deposit(api)
    proposal = api.post(f"/orders/{oid}/proposals", {"kind": "cancel", "refund": 50000},
                        user=BUYER)
    assert proposal.status == 201, proposal
    done = api.post(f"/orders/{oid}/proposals/{proposal.json['id']}/accept", {}, user=PROVIDER)
    assert done.status == 200 and done.json["status"] == "accepted"
    assert api.get(f"/orders/{oid}", user=BUYER).json["status"] == "cancelled"
    assert api.get(f"/orders/{oid}", user=BUYER).json["escrow"] == {
        "funded": 100000, "released": 50000, "refunded": 50000, "held": 0}
    assert balance(api)["available"] == 50000  # the deposit was not reversed
    ledger_clean(api)
