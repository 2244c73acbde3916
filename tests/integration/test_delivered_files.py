"""Delivered files are fixed, over S3's real HTTP protocol (moto's server, the one the
DynamoDB-Local-marked tests run against): the browser's upload form is posted, the file
delivered, the same form posted again with other bytes — and the buyer, the provider and
the operator still download exactly the delivered bytes."""
import base64
import json
from datetime import datetime, timedelta, timezone

import pytest
import requests

from chalicelib import settings
from chalicelib.services.deliverables import UPLOAD_EXPIRES_SECONDS
from chalicelib.storage.files import PINNED_PREFIX, s3_client
from tests.api.orders_support import BUYER, OPERATOR, PROVIDER, accepted_order


@pytest.fixture
def s3_server(api, aws):
    if aws == "moto":
        pytest.skip("this test speaks HTTP to moto's S3 server (the dynamodb_local engines)")
    return api


def ask(api, oid, size, filename="首页终稿.png"):
    reply = api.post(f"/orders/{oid}/deliverables",
                     {"filename": filename, "content_type": "image/png", "size": size},
                     user=PROVIDER)
    assert reply.status == 200, reply
    return reply.json


def post_form(form: dict, data: bytes) -> None:
    """What the provider's browser does with the upload form."""
    answer = requests.post(form["url"], data=form["fields"],
                           files={"file": ("upload.png", data, "image/png")}, timeout=10)
    assert answer.status_code in (200, 201, 204), answer.text


def download(api, oid, file_id, **who) -> bytes:
    reply = api.get(f"/orders/{oid}/deliverables/{file_id}", **who)
    assert reply.status == 200, reply
    answer = requests.get(reply.json["url"], timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.content


def everyone_downloads(api, oid, file_id) -> set[bytes]:
    return {download(api, oid, file_id, user=BUYER), download(api, oid, file_id, user=PROVIDER),
            download(api, oid, file_id, user=OPERATOR, operator=True)}


def test_posting_the_form_again_after_deliver_changes_nothing_anyone_downloads(s3_server):
    api = s3_server
    oid = accepted_order(api)
    delivered, later = b"\x89PNG delivered v1", b"\x89PNG swapped!! v2"
    asked = ask(api, oid, len(delivered))
    post_form(asked["upload"], delivered)
    reply = api.post(f"/orders/{oid}/deliver", {"file_ids": [asked["file_id"]], "note": "终稿"},
                     user=PROVIDER)
    assert reply.status == 200, reply
    post_form(asked["upload"], later)  # the same form, still within its minutes
    key = asked["upload"]["fields"]["key"]
    stored = s3_client().get_object(Bucket=settings.get().bucket, Key=key)["Body"].read()
    assert stored == later  # the second post did land on the upload key ...
    assert everyone_downloads(api, oid, asked["file_id"]) == {delivered}  # ... and is not served


def test_each_delivery_pins_its_own_files(s3_server):
    api = s3_server
    oid = accepted_order(api)
    first = ask(api, oid, 4)
    post_form(first["upload"], b"v1v1")
    assert api.post(f"/orders/{oid}/deliver", {"file_ids": [first["file_id"]]},
                    user=PROVIDER).status == 200
    assert api.post(f"/orders/{oid}/request-revision", {"note": "颜色再亮一些"},
                    user=BUYER).status == 200
    second = ask(api, oid, 4)
    post_form(second["upload"], b"v2v2")
    post_form(first["upload"], b"XXXX")  # an old form posted again, after a revision
    assert api.post(f"/orders/{oid}/deliver", {"file_ids": [second["file_id"]]},
                    user=PROVIDER).status == 200
    assert everyone_downloads(api, oid, first["file_id"]) == {b"v1v1"}
    assert everyone_downloads(api, oid, second["file_id"]) == {b"v2v2"}
    pinned = s3_client().list_objects_v2(Bucket=settings.get().bucket,
                                         Prefix=f"{PINNED_PREFIX}{oid}/")["Contents"]
    assert len(pinned) == 2


def test_a_file_of_another_size_than_its_form_is_not_delivered(s3_server):
    api = s3_server
    oid = accepted_order(api)
    asked = ask(api, oid, 10)
    post_form(asked["upload"], b"0123456789-and-more")  # moto does not enforce the policy
    reply = api.post(f"/orders/{oid}/deliver", {"file_ids": [asked["file_id"]]}, user=PROVIDER)
    assert reply.status == 422 and reply.json["error"]["details"]["errors"][0]["file_ids"] == [
        asked["file_id"]]


def test_the_form_is_for_one_key_one_type_one_size_and_a_few_minutes(api):
    oid = accepted_order(api)
    asked = ask(api, oid, 2048)
    fields = asked["upload"]["fields"]
    policy = json.loads(base64.b64decode(fields.get("policy") or fields["Policy"]))
    assert {"key": fields["key"]} in policy["conditions"]
    assert {"Content-Type": "image/png"} in policy["conditions"]
    assert ["content-length-range", 2048, 2048] in policy["conditions"]
    expires = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    left = expires - datetime.now(timezone.utc)
    assert timedelta(minutes=5) < left <= timedelta(seconds=UPLOAD_EXPIRES_SECONDS)
    assert asked["expires_in"] == UPLOAD_EXPIRES_SECONDS <= 15 * 60
