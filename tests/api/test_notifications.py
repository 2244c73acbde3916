"""The notifications inbox: newest first, paged, strictly one's own."""
from chalicelib import clock
from chalicelib.services import notifications as notifications_service
from chalicelib.services.notifications import notification_put, notify, write_in
from chalicelib.storage.base import transaction
from chalicelib.storage.notifications import NotificationModel


def send(user, text, **kw):
    clock.advance(60)  # distinct, increasing creation times
    return notify(user, kw.pop("kind", "order_placed"), text=text, now=clock.now(), **kw)


def test_the_inbox_lists_own_notifications_newest_first(api):
    send("provider-1", "新订单：店铺装修", order_id="ord_1", service_id="svc_1")
    send("provider-1", "买家已付款：店铺装修", kind="order_paid", order_id="ord_1")
    send("buyer-1", "服务商已接单")
    reply = api.get("/me/notifications", user="provider-1")
    assert reply.status == 200
    items = reply.json["items"]
    assert [n["text"] for n in items] == ["买家已付款：店铺装修", "新订单：店铺装修"]
    assert items[1]["kind"] == "order_placed"
    assert items[1]["order_id"] == "ord_1" and items[1]["service_id"] == "svc_1"
    assert items[0]["read"] is False
    assert items[0]["created_at"] > items[1]["created_at"]
    assert reply.json["next_cursor"] is None


def test_nobody_sees_another_users_notifications(api):
    send("buyer-1", "您的订单已完成")
    assert api.get("/me/notifications", user="buyer-2").json["items"] == []
    assert api.get("/me/notifications").status == 401


def test_the_inbox_pages_with_a_cursor(api):
    for n in range(5):
        send("buyer-1", f"通知 {n}")
    first = api.get("/me/notifications?limit=2", user="buyer-1").json
    second = api.get(f"/me/notifications?limit=2&cursor={first['next_cursor']}",
                     user="buyer-1").json
    third = api.get(f"/me/notifications?limit=2&cursor={second['next_cursor']}",
                    user="buyer-1").json
    texts = [n["text"] for page in (first, second, third) for n in page["items"]]
    assert texts == ["通知 4", "通知 3", "通知 2", "通知 1", "通知 0"]


def test_a_cursor_from_another_users_inbox_is_refused(api):
    for n in range(3):
        send("buyer-1", f"通知 {n}")
    cursor = api.get("/me/notifications?limit=1", user="buyer-1").json["next_cursor"]
    reply = api.get(f"/me/notifications?limit=1&cursor={cursor}", user="buyer-2")
    assert reply.status == 400 and reply.error_code == "INVALID_REQUEST"


def test_notify_never_raises_for_a_bad_kind_and_keeps_the_notice(api):
    assert send("buyer-1", "奇怪的通知", kind=None)["kind"] == "other"
    assert send("buyer-1", "新的通知类型", kind="brand_new_kind")["kind"] == "brand_new_kind"
    kinds = [n["kind"] for n in api.get("/me/notifications", user="buyer-1").json["items"]]
    assert kinds == ["brand_new_kind", "other"]


def test_notify_swallows_storage_failures(api, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("DynamoDB is down")

    monkeypatch.setattr(notifications_service, "transaction", broken)
    assert notify("buyer-1", "approved", text="验收通过", now=clock.now()) is None


def test_a_notification_can_join_a_callers_transaction(api):
    with transaction() as tx:
        write_in(tx, [notification_put("provider-1", "approved", order_id="ord_9",
                                       text="买家已验收", now=clock.now())])
    items = api.get("/me/notifications", user="provider-1").json["items"]
    assert [(n["kind"], n["order_id"]) for n in items] == [("approved", "ord_9")]
    assert api.get("/me/notifications/unread-count", user="provider-1").json == {"count": 1}


def test_notifications_expire_after_90_days_through_ttl(api):
    now = clock.now()
    item = notification_put("buyer-1", "refunded", text="已退款", now=now)
    assert item.expires_epoch == int(now.timestamp()) + 90 * 24 * 3600
    assert NotificationModel.TTL_ATTRIBUTE == "expires_epoch"
