"""Delivery files: presigned uploads bound to type and size, deliver only what arrived,
downloads for the order's parties only, safe file names."""
import pytest

from chalicelib.services.deliverables import safe_filename
from tests.api.orders_support import (BUYER, OPERATOR, PROVIDER, accepted_order, deliver,
                                      ledger_clean, upload)


def test_the_upload_policy_binds_type_and_size(api):
    oid = accepted_order(api)
    reply = api.post(f"/orders/{oid}/deliverables",
                     {"filename": "../../etc/首页.psd", "content_type": "image/vnd.adobe.photoshop",
                      "size": 2048}, user=PROVIDER)
    assert reply.status == 200
    fields = reply.json["upload"]["fields"]
    assert fields["Content-Type"] == "image/vnd.adobe.photoshop"
    assert fields["key"].startswith(f"orders/{oid}/{reply.json['file_id']}/")
    assert fields["key"].endswith("/首页.psd") and ".." not in fields["key"]
    assert "policy" in fields or "Policy" in fields
    too_big = api.post(f"/orders/{oid}/deliverables",
                       {"filename": "a.zip", "content_type": "application/zip",
                        "size": 50 * 1024 * 1024 + 1}, user=PROVIDER)
    assert too_big.status == 422
    assert api.post(f"/orders/{oid}/deliverables",
                    {"filename": "a.png", "content_type": "image/png", "size": 1},
                    user=BUYER).status == 403
    not_mime = api.post(f"/orders/{oid}/deliverables",
                        {"filename": "a.png", "content_type": "png; x=\"y\"", "size": 1},
                        user=PROVIDER)
    assert not_mime.status == 422


def test_deliver_refuses_files_that_never_arrived(api):
    oid = accepted_order(api)
    asked = api.post(f"/orders/{oid}/deliverables",
                     {"filename": "终稿.png", "content_type": "image/png", "size": 10},
                     user=PROVIDER).json
    reply = api.post(f"/orders/{oid}/deliver", {"file_ids": [asked["file_id"]]}, user=PROVIDER)
    assert reply.status == 422
    assert api.get(f"/orders/{oid}", user=BUYER).json["status"] == "in_progress"
    unknown = api.post(f"/orders/{oid}/deliver", {"file_ids": ["file_nope"]}, user=PROVIDER)
    assert unknown.status == 422


def test_downloads_for_buyer_provider_and_operator_only(api):
    oid = accepted_order(api)
    draft = upload(api, oid)
    # An undelivered draft is the provider's alone.
    assert api.get(f"/orders/{oid}/deliverables/{draft}", user=BUYER).status == 404
    api.post(f"/orders/{oid}/deliver", {"file_ids": [draft], "note": "请验收"}, user=PROVIDER)
    for kw in ({"user": BUYER}, {"user": PROVIDER}, {"user": OPERATOR, "operator": True}):
        reply = api.get(f"/orders/{oid}/deliverables/{draft}", **kw)
        assert reply.status == 200 and reply.json["url"].startswith("http")
    assert api.get(f"/orders/{oid}/deliverables/{draft}", user="stranger-9").status == 404
    assert api.get(f"/orders/{oid}/deliverables/file_nope", user=BUYER).status == 404


def test_a_file_belongs_to_one_numbered_delivery(api):
    oid = accepted_order(api)
    first = deliver(api, oid)
    assert first.json["delivery_count"] == 1
    api.post(f"/orders/{oid}/request-revision", {"note": "再改改"}, user=BUYER)
    file_id = api.get(f"/orders/{oid}/deliverables", user=PROVIDER).json["items"][0]["file_id"]
    reused = api.post(f"/orders/{oid}/deliver", {"file_ids": [file_id]}, user=PROVIDER)
    assert reused.status == 422
    assert deliver(api, oid).json["delivery_count"] == 2
    events = api.get(f"/orders/{oid}/events", user=BUYER).json["items"]
    assert [e["data"].get("version") for e in events if e["type"] == "delivered"] == [1, 2]
    ledger_clean(api)


def test_delivering_in_the_wrong_state_is_409(api):
    oid = accepted_order(api)
    deliver(api, oid)
    again = api.post(f"/orders/{oid}/deliverables",
                     {"filename": "x.png", "content_type": "image/png", "size": 5}, user=PROVIDER)
    assert again.status == 409 and again.error_code == "INVALID_TRANSITION"


@pytest.mark.parametrize("raw,safe", [
    ("../../etc/passwd", "passwd"), ("..\\..\\boot.ini", "boot.ini"), ("首页 设计稿.png", "首页 设计稿.png"),
    ("a\"b;c.png", "a_b_c.png"), ("...", "file"), ("/", "file")])
def test_file_names_are_sanitised(raw, safe):
    assert safe_filename(raw) == safe
