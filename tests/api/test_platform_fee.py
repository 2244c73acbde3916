"""The platform fee through the API (PLATFORM_FEE_BPS): each release pays the provider
the amount less the fee, rounded down, and the fee lands in the revenue account; the
ledger check proves the revenue equals the fees decided and the books still sum to 0."""
import pytest

from chalicelib import settings
from chalicelib.storage.ledger import InstructionModel, PostingModel
from tests.api.orders_support import (BUYER, OPERATOR, PROVIDER, accepted_order, deliver,
                                      ledger_clean, listed_service, place)
from tests.support import fresh_sandbox


@pytest.fixture(autouse=True)
def sandbox():
    return fresh_sandbox()


def set_fee(monkeypatch, bps):
    monkeypatch.setenv("PLATFORM_FEE_BPS", str(bps))
    settings.reload()


def approve(api, oid):
    deliver(api, oid)
    return api.post(f"/orders/{oid}/approve", user=BUYER).json


def test_a_release_pays_the_fee_into_revenue(api, monkeypatch):
    set_fee(monkeypatch, 500)  # 5%
    oid = accepted_order(api, price=49900)
    done = approve(api, oid)
    assert done["escrow"]["released"] == 49900  # the order's escrow releases the whole step
    assert api.get("/me/balance", user=PROVIDER).json["available"] == 47405  # 49900 - 2495
    check = ledger_clean(api)
    assert check["revenue"] == 2495
    fee = PostingModel.get(f"{oid}:release:0:fee", consistent_read=True)
    assert (fee.from_account, fee.to_account, fee.amount, fee.kind) == (
        f"escrow:{oid}", "revenue", 2495, "fee")
    release = PostingModel.get(f"{oid}:release:0", consistent_read=True)
    assert (release.amount, release.fee) == (47405, 2495)


def test_every_step_is_rounded_down_on_its_own(api, monkeypatch):
    set_fee(monkeypatch, 250)  # 2.5%
    service_id = listed_service(price=1000, title="主图设计")
    steps = [{"title": "定金", "amount": 283, "release": "on_accept"},
             {"title": "终稿", "amount": 717, "release": "on_approval"}]
    oid = place(api, service_id, milestones=steps).json["id"]
    api.post(f"/orders/{oid}/pay", user=BUYER)
    api.post(f"/orders/{oid}/accept", user=PROVIDER)
    assert approve(api, oid)["status"] == "completed"
    # floor(7.075) + floor(17.925) = 7 + 17; the provider keeps the fractions.
    assert api.get("/me/balance", user=PROVIDER).json["available"] == 1000 - 24
    assert ledger_clean(api)["revenue"] == 24


def test_the_fee_is_taken_when_the_release_is_decided(api, monkeypatch):
    set_fee(monkeypatch, 1000)
    oid = accepted_order(api, price=20000)
    approve(api, oid)
    assert InstructionModel.get(f"{oid}:release:0", consistent_read=True).fee == 2000
    set_fee(monkeypatch, 0)  # the platform changes its fee after the approval
    assert api.invoke("release_escrow").payload["found"] == 0
    assert api.get("/me/balance", user=PROVIDER).json["available"] == 18000
    assert ledger_clean(api)["revenue"] == 2000


def test_an_operators_split_release_pays_the_fee_too(api, monkeypatch):
    set_fee(monkeypatch, 300)
    oid = accepted_order(api, price=30000)
    api.post(f"/orders/{oid}/dispute", {"reason": "交付不完整"}, user=BUYER)
    resolved = api.post(f"/admin/orders/{oid}/resolve", {"refund": 10000, "release": 20000, "fault": "none"},
                        user=OPERATOR, operator=True)
    assert resolved.status == 200, resolved
    assert api.get("/me/balance", user=PROVIDER).json["available"] == 19400
    assert ledger_clean(api)["revenue"] == 600


def test_without_a_fee_nothing_goes_to_revenue(api):
    oid = accepted_order(api, price=50000)
    approve(api, oid)
    assert api.get("/me/balance", user=PROVIDER).json["available"] == 50000
    assert ledger_clean(api)["revenue"] == 0
    assert [p.kind for p in PostingModel.scan() if p.order_id == oid] in (
        ["fund", "release"], ["release", "fund"])


def test_the_ledger_check_catches_revenue_that_no_fee_explains(api, monkeypatch):
    set_fee(monkeypatch, 500)
    oid = accepted_order(api, price=50000)
    approve(api, oid)
    PostingModel(f"{oid}:release:0:fee").update(actions=[PostingModel.amount.set(2600)])
    report = api.get("/admin/ledger/check", user=OPERATOR, operator=True).json
    kinds = {v["kind"] for v in report["violations"]}
    assert {"revenue_differs_from_fees", "escrow_differs_from_postings"} <= kinds
