"""The files bucket's rules match what the app really does: the abandoned-upload lifecycle
rule catches real presigned uploads (and never a delivered file), and CORS lets only the
configured origins use the presigned URLs, with the headers they need."""
import json
import re

import pytest
from chalice.test import Client

from chalicelib import settings
from chalicelib.storage.files import s3_client
from deploy import template
from chalicelib.storage.orders import DeliverableModel
from tests.api.orders_support import PROVIDER, accepted_order, upload
from tests.support import ApiClient


@pytest.fixture
def api(moto_aws):
    import app as app_module

    with Client(app_module.app, stage_name="local") as client:
        yield ApiClient(client)


def _bucket() -> dict:
    merge = json.loads(template.MERGE_TEMPLATE.read_text(encoding="utf-8"))
    return merge["Resources"][template.FILES_BUCKET]["Properties"]


def _rule(rule_id: str) -> dict:
    return {r["Id"]: r for r in _bucket()["LifecycleConfiguration"]["Rules"]}[rule_id]


def _form_tags(fields: dict) -> dict:
    """The tags a browser's POST of these presigned fields puts on the object."""
    xml = fields.get("tagging", "")
    return dict(re.findall(r"<Key>([^<]*)</Key><Value>([^<]*)</Value>", xml))


def _tags(key: str) -> dict:
    answer = s3_client().get_object_tagging(Bucket=settings.get().bucket, Key=key)
    return {t["Key"]: t["Value"] for t in answer["TagSet"]}


def _ask(api, oid) -> dict:
    reply = api.post(f"/orders/{oid}/deliverables",
                     {"filename": "终稿.png", "content_type": "image/png", "size": 10},
                     user=PROVIDER)
    assert reply.status == 200, reply
    return reply.json


def test_the_abandoned_upload_rule_matches_what_every_upload_carries(api):
    rule = _rule("expire-abandoned-uploads")
    wanted = {f["Key"]: f["Value"] for f in rule["TagFilters"]}
    asked = _ask(api, accepted_order(api))
    fields = asked["upload"]["fields"]
    assert wanted and _form_tags(fields) == wanted
    assert fields["key"].startswith(rule["Prefix"])
    policy = json.loads(__import__("base64").b64decode(fields.get("policy") or fields["Policy"]))
    # The browser cannot leave the tag out: the signed policy requires the field as is.
    assert {"tagging": fields["tagging"]} in policy["conditions"]


def test_a_delivered_file_is_pinned_untagged_so_the_rule_never_expires_it(api):
    """The abandoned-upload rule expires tagged uploads under orders/; what a delivery
    serves is the pinned copy, outside that prefix and without the tag."""
    oid = accepted_order(api)
    file_id = upload(api, oid)
    key = f"orders/{oid}/{file_id}/"
    stored = s3_client().list_objects_v2(Bucket=settings.get().bucket, Prefix=key)
    key = stored["Contents"][0]["Key"]
    assert _tags(key) == {"upload": "pending"}  # as the browser's POST left it
    reply = api.post(f"/orders/{oid}/deliver", {"file_ids": [file_id], "note": "终稿"},
                     user=PROVIDER)
    assert reply.status == 200, reply
    pinned = DeliverableModel.get(oid, file_id, consistent_read=True).pinned_key
    assert pinned and not pinned.startswith(template.UPLOAD_PREFIX)
    assert _tags(pinned) == {}


def _parameters_and_rules() -> tuple[dict, dict]:
    merge = json.loads(template.MERGE_TEMPLATE.read_text(encoding="utf-8"))
    return merge["Parameters"], merge.get("Rules", {})


def test_bucket_cors_allows_the_configured_origins_only():
    """Presigned URLs carry their own authorization, but any origin's page could still
    use a leaked one through a user's browser: only the web app's origins may."""
    cors = _bucket()["CorsConfiguration"]["CorsRules"]
    assert [rule["AllowedOrigins"] for rule in cors] == [{"Ref": "CorsAllowedOrigins"}]
    parameters, rules = _parameters_and_rules()
    assert "Default" not in parameters["CorsAllowedOrigins"]  # every stack names its own
    asserts = [a["Assert"] for rule in rules.values() for a in rule["Assertions"]]
    assert {"Fn::Not": [{"Fn::Contains": [{"Ref": "CorsAllowedOrigins"}, "*"]}]} in asserts


def test_bucket_cors_allows_only_the_methods_and_headers_presigned_urls_need():
    # Downloads are presigned GETs, uploads presigned POSTs of a form: neither needs PUT,
    # and a form post sends no header beyond Content-Type.
    rule, = _bucket()["CorsConfiguration"]["CorsRules"]
    assert sorted(rule["AllowedMethods"]) == ["GET", "POST"]
    assert rule["AllowedHeaders"] == ["Content-Type"]
    assert "*" not in json.dumps(rule)
