"""Message attachments are bounded: at most MAX_ATTACHMENTS per order, only while the
order is open, and an upload never sent carries upload=pending so the bucket's
abandoned-upload rule expires it (as an undelivered delivery's does)."""
import base64
import dataclasses
import json
import re
from urllib.parse import urlencode

from chalicelib import settings
from chalicelib.storage.files import s3_client
from chalicelib.storage.messages import AttachmentModel
from tests.api.messages_support import attach
from tests.api.orders_support import BUYER, PROVIDER, listed_service, place

FILE = {"filename": "参考图.png", "content_type": "image/png", "size": 4}


def ask(api, oid, user=BUYER):
    return api.post(f"/orders/{oid}/attachments", FILE, user=user)


def tags(key: str) -> dict:
    answer = s3_client().get_object_tagging(Bucket=settings.get().bucket, Key=key)
    return {t["Key"]: t["Value"] for t in answer["TagSet"]}


def test_the_default_limit_is_fifty():
    assert settings.get().max_attachments == 50


def test_an_order_takes_at_most_max_attachments(api, monkeypatch):
    monkeypatch.setattr(settings, "_current",
                        dataclasses.replace(settings.get(), max_attachments=3))
    oid = place(api, listed_service()).json["id"]
    assert [ask(api, oid, user).status for user in (BUYER, PROVIDER, BUYER)] == [200] * 3
    refused = ask(api, oid, PROVIDER)
    assert refused.status == 409 and refused.error_code == "ATTACHMENT_LIMIT_REACHED"
    assert refused.json["error"]["details"]["max_attachments"] == 3
    # Another order has its own allowance.
    assert ask(api, place(api, listed_service()).json["id"]).status == 200


def test_a_closed_order_takes_no_new_files(api):
    oid = place(api, listed_service(price=0)).json["id"]
    assert api.post(f"/orders/{oid}/cancel", user=BUYER).json["status"] == "cancelled"
    refused = ask(api, oid)
    assert refused.status == 409 and refused.error_code == "ORDER_CLOSED"
    assert refused.json["error"]["details"]["status"] == "cancelled"


def test_an_unsent_upload_is_tagged_pending_and_a_sent_file_is_not(api):
    oid = place(api, listed_service()).json["id"]
    reply = ask(api, oid)
    fields = reply.json["upload"]["fields"]
    policy = json.loads(base64.b64decode(fields.get("policy") or fields["Policy"]))
    pending = "<Tagging><TagSet><Tag><Key>upload</Key><Value>pending</Value></Tag></TagSet></Tagging>"
    assert fields["tagging"] == pending and {"tagging": pending} in policy["conditions"]
    # What the browser's POST does: the object is stored with the form's tags.
    pairs = re.findall(r"<Key>([^<]*)</Key><Value>([^<]*)</Value>", fields["tagging"])
    s3_client().put_object(Bucket=settings.get().bucket, Key=fields["key"], Body=b"\x89PNG",
                           ContentType="image/png", Tagging=urlencode(pairs))
    assert tags(fields["key"]) == {"upload": "pending"}
    sent = api.post(f"/orders/{oid}/messages", {"body": "参考图见附件",
                                                "file_ids": [reply.json["file_id"]]}, user=BUYER)
    assert sent.status == 201, sent
    pinned = AttachmentModel.get(oid, reply.json["file_id"]).pinned_key
    assert tags(pinned) == {}  # the conversation's copy never expires


def test_a_file_uploaded_while_open_can_still_be_sent_after(api):
    """Closing stops new grants; a message may still carry what was uploaded before."""
    oid = place(api, listed_service(price=0)).json["id"]
    file_id = attach(api, oid, b"\x89PNG")
    api.post(f"/orders/{oid}/cancel", user=BUYER)
    sent = api.post(f"/orders/{oid}/messages", {"body": "附件", "file_ids": [file_id]},
                    user=BUYER)
    assert sent.status == 201, sent
