"""Shared steps for the order tests: a listed service written straight into storage (the
catalog's own routes are tested elsewhere), an order walked to a given state through
the API, and the money figures to assert."""
import re
from datetime import timedelta
from urllib.parse import urlencode

from chalicelib import clock, ids
from chalicelib.storage.catalog import ServiceModel
from tests.support import BUYER, OPERATOR, PROVIDER  # tests import them from here


def listed_service(*, provider=PROVIDER, title="店铺首页装修", pricing="fixed", price=50000,
                   capacity=None, status="listed"):
    now = clock.to_key(clock.now())
    item = ServiceModel(ids.new_id("svc"), provider_id=provider, title=title,
                        category="shop-decoration", summary="淘宝店铺首页装修，三天交付，包含两次修改",
                        content="# 店铺装修", pricing=pricing, price=price, status=status,
                        capacity=capacity, created_at=now, updated_at=now, listed_at=now)
    item.save()
    return item.id


def due_in(days=10) -> str:
    return clock.to_iso(clock.now() + timedelta(days=days))


def place(api, service_id, *, buyer=BUYER, **extra):
    body = {"service_id": service_id, "requirement": "双十一首页，红色主题，突出满减活动",
            "due_at": due_in(), **extra}
    return api.post("/orders", body, user=buyer)


def escrow(api, order_id, user=BUYER):
    return api.get(f"/orders/{order_id}", user=user).json["escrow"]


def upload(api, order_id, *, provider=PROVIDER, filename="首页设计稿.png", data=b"\x89PNG fake"):
    """Ask for an upload and put the bytes where the presigned POST would."""
    from chalicelib import settings
    from chalicelib.storage.files import s3_client

    reply = api.post(f"/orders/{order_id}/deliverables",
                     {"filename": filename, "content_type": "image/png", "size": len(data)},
                     user=provider)
    assert reply.status == 200, reply
    fields = reply.json["upload"]["fields"]
    # The tags the POST's `tagging` field puts on the object, as PutObject spells them.
    tags = re.findall(r"<Key>([^<]*)</Key><Value>([^<]*)</Value>", fields.get("tagging", ""))
    s3_client().put_object(Bucket=settings.get().bucket, Key=fields["key"], Body=data,
                           ContentType="image/png", Tagging=urlencode(tags))
    return reply.json["file_id"]


def deliver(api, order_id, *, provider=PROVIDER, note="终稿已上传"):
    file_id = upload(api, order_id, provider=provider)
    return api.post(f"/orders/{order_id}/deliver", {"file_ids": [file_id], "note": note},
                    user=provider)


def ledger_clean(api):
    check = api.get("/admin/ledger/check", user=OPERATOR, operator=True)
    assert check.status == 200, check
    assert check.json["violations"] == [], check.json
    assert check.json["sum"] == 0
    return check.json


def paid_order(api, **service_kw):
    service_id = listed_service(**service_kw)
    order = place(api, service_id).json
    assert api.post(f"/orders/{order['id']}/pay", user=BUYER).status == 200
    return order["id"]


def accepted_order(api, **service_kw):
    order_id = paid_order(api, **service_kw)
    assert api.post(f"/orders/{order_id}/accept", user=PROVIDER).status == 200
    return order_id
