"""The dispute queue: operators find every disputed order, oldest dispute first, from an
index; opening a dispute tells both parties; the operator reads the whole case."""
from datetime import datetime

import requests

from chalicelib import clock
from tests.api.messages_support import attach
from tests.api.orders_support import (BUYER, OPERATOR, PROVIDER, accepted_order, deliver,
                                      paid_order)

AS_OPERATOR = {"user": OPERATOR, "operator": True}


def dispute(api, oid, user=BUYER, reason="交付物与需求不符"):
    reply = api.post(f"/orders/{oid}/dispute", {"reason": reason}, user=user)
    assert reply.status == 200, reply
    return reply.json


def queue(api, query=""):
    reply = api.get(f"/admin/orders{query}", **AS_OPERATOR)
    assert reply.status == 200, reply
    return reply.json


def test_disputed_orders_queue_oldest_dispute_first(api):
    # Placed in one order, disputed in another: the queue follows the disputes.
    first_placed, second_placed, third_placed = (accepted_order(api) for _ in range(3))
    dispute(api, second_placed)
    clock.advance(60)
    dispute(api, first_placed, user=PROVIDER, reason="买家拒绝提供素材")
    clock.advance(60)
    dispute(api, third_placed)
    items = queue(api)["items"]  # the default status is the queue's
    assert [o["id"] for o in items] == [second_placed, first_placed, third_placed]
    assert items[1]["dispute"]["reason"] == "买家拒绝提供素材" and items[1]["dispute"]["by"] == PROVIDER
    assert [o["id"] for o in queue(api, "?status=disputed")["items"]] == [
        second_placed, first_placed, third_placed]
    page = queue(api, "?status=disputed&limit=2")
    rest = queue(api, f"?status=disputed&limit=2&cursor={page['next_cursor']}")
    assert [o["id"] for o in page["items"] + rest["items"]] == [second_placed, first_placed,
                                                                third_placed]
    # Resolving takes an order out of the queue and into the resolved list.
    held = api.get(f"/orders/{second_placed}", user=BUYER).json["escrow"]["held"]
    assert api.post(f"/admin/orders/{second_placed}/resolve", {"refund": held, "release": 0, "fault": "none"},
                    **AS_OPERATOR).status == 200
    assert [o["id"] for o in queue(api)["items"]] == [first_placed, third_placed]
    assert [o["id"] for o in queue(api, "?status=resolved")["items"]] == [second_placed]


def test_other_statuses_list_newest_first(api):
    older = paid_order(api)
    clock.advance(60)
    newer = paid_order(api)
    assert [o["id"] for o in queue(api, "?status=awaiting_provider")["items"]] == [newer, older]
    assert queue(api, "?status=completed") == {"items": [], "next_cursor": None}


def test_only_operators_see_the_queue(api):
    dispute(api, accepted_order(api))
    for user in (BUYER, PROVIDER):
        reply = api.get("/admin/orders", user=user)
        assert reply.status == 403 and reply.error_code == "FORBIDDEN"
    assert api.get("/admin/orders").status == 401
    bad = api.get("/admin/orders?status=lost", **AS_OPERATOR)
    assert bad.status == 422 and bad.error_code == "VALIDATION_FAILED"
    dispute(api, accepted_order(api))
    cursor = queue(api, "?status=disputed&limit=1")["next_cursor"]
    # A cursor of the queue does not page another status's list.
    other = api.get(f"/admin/orders?status=in_progress&cursor={cursor}", **AS_OPERATOR)
    assert other.status == 400 and other.error_code == "INVALID_REQUEST"


def test_opening_a_dispute_tells_both_parties(api):
    oid = accepted_order(api)
    dispute(api, oid)
    for party in (BUYER, PROVIDER):
        notices = api.get("/me/notifications", user=party).json["items"]
        assert [n["order_id"] for n in notices if n["kind"] == "disputed"] == [oid], party


def test_the_operator_reads_the_whole_case(api):
    oid = accepted_order(api)
    assert api.post(f"/orders/{oid}/messages", {"body": "首页颜色请按品牌色调整"},
                    user=BUYER).status == 201
    assert deliver(api, oid).status == 200
    evidence = attach(api, oid, b"chat screenshot", filename="沟通截图.png")
    assert api.post(f"/orders/{oid}/messages", {"body": "交付稿没有按要求修改，截图为证",
                                                "file_ids": [evidence]}, user=BUYER).status == 201
    dispute(api, oid)
    case = queue(api)["items"][0]
    assert case["id"] == oid and case["status"] == "disputed"
    events = api.get(f"/orders/{oid}/events", **AS_OPERATOR).json["items"]
    assert [e["type"] for e in events][-2:] == ["delivered", "disputed"]
    talk = api.get(f"/orders/{oid}/messages", **AS_OPERATOR).json["items"]
    assert [m["body"][:4] for m in talk] == ["首页颜色", "交付稿没"]
    delivered = api.get(f"/orders/{oid}/deliverables", **AS_OPERATOR).json["items"]
    assert len(delivered) == 1
    link = api.get(f"/orders/{oid}/deliverables/{delivered[0]['file_id']}", **AS_OPERATOR)
    assert link.status == 200
    shot = api.get(f"/orders/{oid}/attachments/{evidence}", **AS_OPERATOR)
    assert shot.status == 200
    assert requests.get(shot.json["url"], timeout=10).content == b"chat screenshot"


def test_queue_items_carry_the_evidence_window_and_flag_overdue_disputes(api):
    old, fresh, calm = accepted_order(api), accepted_order(api), accepted_order(api)
    opened = clock.now()
    dispute(api, old)
    clock.advance(4 * 24 * 3600)
    dispute(api, fresh)
    clock.advance(24 * 3600 + 60)  # the first is now 5 days and a minute old
    items = {o["id"]: o for o in queue(api)["items"]}
    assert items[old]["overdue"] is True and items[fresh]["overdue"] is False
    until = datetime.fromisoformat(items[old]["evidence_until"])
    assert abs((until - opened).total_seconds() - 3 * 24 * 3600) < 5
    # Other statuses carry the fields too, empty.
    other = {o["id"]: o for o in queue(api, "?status=in_progress")["items"]}
    assert (other[calm]["evidence_until"], other[calm]["overdue"]) == (None, False)
