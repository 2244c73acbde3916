"""A buyer who got everything back loses the delivered files (403 DELIVERABLES_WITHDRAWN);
the provider and operators still read them, and any release to the provider — a deposit,
an approved step, part of a resolution — lets the buyer keep them."""
import pytest

from chalicelib.domain import orders as life
from tests.api.orders_support import (BUYER, OPERATOR, PROVIDER, accepted_order, deliver,
                                      ledger_clean, paid_order)
from tests.support import fresh_sandbox

DAY = 24 * 3600
DEPOSIT_PLAN = [{"title": "定金", "amount": 10000, "release": "on_accept"},
                {"title": "首页", "amount": 40000, "release": "on_approval"}]


@pytest.fixture(autouse=True)
def sandbox():
    return fresh_sandbox()


def delivered_file(api, oid) -> str:
    assert deliver(api, oid).status == 200
    return api.get(f"/orders/{oid}/deliverables", user=BUYER).json["items"][0]["file_id"]


def reads(api, oid, file_id) -> dict:
    return {who: api.get(f"/orders/{oid}/deliverables/{file_id}", **kw)
            for who, kw in (("buyer", {"user": BUYER}), ("provider", {"user": PROVIDER}),
                             ("operator", {"user": OPERATOR, "operator": True}))}


def assert_withdrawn(api, oid, file_id):
    got = reads(api, oid, file_id)
    assert got["buyer"].status == 403, got["buyer"]
    assert got["buyer"].error_code == "DELIVERABLES_WITHDRAWN"
    assert got["provider"].status == got["operator"].status == 200
    assert api.get(f"/orders/{oid}", user=BUYER).json["deliverables_withdrawn"] is True


def assert_kept(api, oid, file_id):
    assert all(r.status == 200 for r in reads(api, oid, file_id).values())
    assert api.get(f"/orders/{oid}", user=BUYER).json["deliverables_withdrawn"] is False


def disputed_with_a_delivery(api, **order_kw):
    oid = accepted_order(api, **order_kw)
    file_id = delivered_file(api, oid)
    assert api.post(f"/orders/{oid}/dispute", {"reason": "与需求不符"}, user=BUYER).status == 200
    return oid, file_id


def test_a_resolution_refunding_everything_withdraws_the_files(api):
    oid, file_id = disputed_with_a_delivery(api)
    assert_kept(api, oid, file_id)  # while disputed the buyer still reads them
    held = api.get(f"/orders/{oid}", user=BUYER).json["escrow"]["held"]
    reply = api.post(f"/admin/orders/{oid}/resolve", {"refund": held, "release": 0, "fault": "none"},
                     user=OPERATOR, operator=True)
    assert reply.status == 200, reply
    assert_withdrawn(api, oid, file_id)
    ledger_clean(api)


def test_a_resolution_releasing_anything_keeps_them(api):
    oid, file_id = disputed_with_a_delivery(api)
    held = api.get(f"/orders/{oid}", user=BUYER).json["escrow"]["held"]
    api.post(f"/admin/orders/{oid}/resolve", {"refund": held - 1, "release": 1, "fault": "none"},
             user=OPERATOR, operator=True)
    assert_kept(api, oid, file_id)


def test_a_late_cancel_after_a_revision_withdraws_the_files(api):
    oid = accepted_order(api)
    file_id = delivered_file(api, oid)
    api.post(f"/orders/{oid}/request-revision", {"note": "再改改"}, user=BUYER)
    api.post("/_local/clock", {"advance_seconds": 26 * DAY})
    cancelled = api.post(f"/orders/{oid}/cancel", user=BUYER)
    assert cancelled.status == 200 and cancelled.json["status"] == "cancelled"
    assert_withdrawn(api, oid, file_id)


def test_a_released_deposit_lets_the_buyer_keep_them(api):
    oid = paid_order_with_deposit(api)
    file_id = delivered_file(api, oid)
    api.post(f"/orders/{oid}/dispute", {"reason": "与需求不符"}, user=BUYER)
    held = api.get(f"/orders/{oid}", user=BUYER).json["escrow"]["held"]
    api.post(f"/admin/orders/{oid}/resolve", {"refund": held, "release": 0, "fault": "none"},
             user=OPERATOR, operator=True)
    assert_kept(api, oid, file_id)


def test_a_completed_order_keeps_them(api):
    oid = accepted_order(api)
    file_id = delivered_file(api, oid)
    assert api.post(f"/orders/{oid}/approve", user=BUYER).json["status"] == "completed"
    assert_kept(api, oid, file_id)


def paid_order_with_deposit(api) -> str:
    from tests.api.orders_support import listed_service, place

    order = place(api, listed_service(price=50000), milestones=DEPOSIT_PLAN).json
    api.post(f"/orders/{order['id']}/pay", user=BUYER)
    assert api.post(f"/orders/{order['id']}/accept", user=PROVIDER).status == 200
    return order["id"]


@pytest.mark.parametrize("status,steps,withdrawn", [
    ("rejected", ["refunded"], True), ("expired", ["refunded"], True),
    ("cancelled", ["refunded"], True), ("cancelled", ["pending"], True),  # unpaid
    ("resolved", ["refunded"], True), ("resolved", ["split"], False),
    ("resolved", ["released", "refunded"], False), ("cancelled", ["released", "refunded"], False),
    ("completed", ["released"], False), ("in_review", ["pending"], False),
    ("disputed", ["pending"], False)])
def test_the_rule(status, steps, withdrawn):
    milestones = [{"title": "t", "amount": 1, "release": "on_approval", "status": s}
                  for s in steps]
    assert life.deliverables_withdrawn(status, milestones) is withdrawn


def test_an_order_that_never_got_that_far_says_so_too(api):
    oid = paid_order(api)
    api.post(f"/orders/{oid}/reject", {"reason": "档期已满"}, user=PROVIDER)
    assert api.get(f"/orders/{oid}", user=BUYER).json["deliverables_withdrawn"] is True
