"""Messages (留言) on an order: the parties talk in any state, operators join a dispute,
files are uploaded as strictly as deliveries and pinned once sent, and whoever should
hear of a message is notified in the same write."""
import pytest
import requests
from chalice.test import Client

from chalicelib import settings
from chalicelib.domain.actors import Caller
from chalicelib.services import messages
from chalicelib.storage.files import s3_client
from chalicelib.storage.idempotency import record_key
from tests.api.messages_support import attach
from tests.api.orders_support import (BUYER, OPERATOR, PROVIDER, accepted_order, listed_service,
                                      place)
from tests.support import ApiClient


@pytest.fixture
def moto_api(moto_aws, chalice_app):
    """For the cases where only the rules vary, not the engine."""
    with Client(chalice_app, stage_name="local") as client:
        yield ApiClient(client)


def say(api, oid, body, user=BUYER, file_ids=None, **kw):
    payload = {"body": body} if file_ids is None else {"body": body, "file_ids": file_ids}
    return api.post(f"/orders/{oid}/messages", payload, user=user, **kw)


def inbox(api, user):
    return [n for n in api.get("/me/notifications?limit=100", user=user).json["items"]
            if n["kind"] == "message"]


def conversation(api, oid, user=BUYER, **kw):
    reply = api.get(f"/orders/{oid}/messages", user=user, **kw)
    assert reply.status == 200, reply
    return reply.json["items"]


def test_the_buyer_asks_before_paying_and_the_provider_is_told(api):
    oid = place(api, listed_service()).json["id"]
    reply = say(api, oid, "请问首页可以做成红色主题吗？需要提供什么素材？")
    assert reply.status == 201, reply
    message = reply.json
    assert message["author"] == BUYER and message["role"] == "buyer"
    assert message["body"] == "请问首页可以做成红色主题吗？需要提供什么素材？"
    assert message["files"] == [] and message["at"].endswith("+00:00")
    assert message["order_id"] == oid
    told = inbox(api, PROVIDER)
    assert len(told) == 1 and told[0]["order_id"] == oid and "买家留言" in told[0]["text"]
    assert inbox(api, BUYER) == []  # the author is not told of their own message
    answer = say(api, oid, "可以的，请把店铺logo和活动文案发我", user=PROVIDER)
    assert answer.status == 201 and answer.json["role"] == "provider"
    assert len(inbox(api, BUYER)) == 1
    for who in ({"user": BUYER}, {"user": PROVIDER}, {"user": OPERATOR, "operator": True}):
        assert [m["id"] for m in conversation(api, oid, **who)] == [message["id"],
                                                                   answer.json["id"]]


def test_the_conversation_pages_oldest_first(moto_api):
    api = moto_api
    oid = accepted_order(api)
    sent = [say(api, oid, f"第{i}条留言", user=BUYER if i % 2 else PROVIDER).json["id"]
            for i in range(5)]
    first = api.get(f"/orders/{oid}/messages?limit=2", user=PROVIDER).json
    assert [m["id"] for m in first["items"]] == sent[:2] and first["next_cursor"]
    second = api.get(f"/orders/{oid}/messages?limit=2&cursor={first['next_cursor']}",
                     user=PROVIDER).json
    assert [m["id"] for m in second["items"]] == sent[2:4]
    # A cursor of this conversation does not open another one.
    other = accepted_order(api)
    refused = api.get(f"/orders/{other}/messages?cursor={first['next_cursor']}", user=BUYER)
    assert refused.status == 400 and refused.error_code == "INVALID_REQUEST"


def test_strangers_neither_read_nor_write(api):
    oid = place(api, listed_service()).json["id"]
    assert say(api, oid, "你好").status == 201
    for stranger in ("buyer-2", "provider-2"):
        assert api.get(f"/orders/{oid}/messages", user=stranger).status == 404
        assert say(api, oid, "我也想说两句", user=stranger).status == 404
    assert len(conversation(api, oid)) == 1


def test_an_operator_writes_only_once_the_order_is_disputed(api):
    oid = accepted_order(api)
    early = say(api, oid, "平台提醒：请按时交付", user=OPERATOR, operator=True)
    assert early.status == 403 and early.error_code == "FORBIDDEN"
    assert api.post(f"/orders/{oid}/dispute", {"reason": "迟迟不交稿"}, user=BUYER).status == 200
    reply = say(api, oid, "平台小二已介入，请双方在24小时内提供沟通记录", user=OPERATOR, operator=True)
    assert reply.status == 201 and reply.json["role"] == "operator"
    for party in (BUYER, PROVIDER):
        assert any("平台小二留言" in n["text"] for n in inbox(api, party))
    held = api.get(f"/orders/{oid}", user=BUYER).json["escrow"]["held"]
    assert api.post(f"/admin/orders/{oid}/resolve", {"refund": held, "release": 0, "fault": "none"},
                    user=OPERATOR, operator=True).status == 200
    assert say(api, oid, "已裁决全额退款，理由如下……", user=OPERATOR, operator=True).status == 201
    assert say(api, oid, "收到，谢谢", user=BUYER).status == 201  # the parties still may


def test_a_buyer_sends_reference_material_and_it_stays_as_sent(api):
    oid = place(api, listed_service()).json["id"]
    file_id = attach(api, oid, b"original logo bytes")
    reply = say(api, oid, "logo文案和示例见附件", file_ids=[file_id])
    assert reply.status == 201, reply
    assert reply.json["files"] == [{"file_id": file_id, "filename": "参考logo.png",
                                    "content_type": "image/png", "size": 19}]
    # The presigned upload is still valid for an hour: overwriting the upload key
    # afterwards must not change what the conversation shows.
    key = api.post(f"/orders/{oid}/attachments", {"filename": "x.png",
                                                  "content_type": "image/png", "size": 4},
                   user=BUYER).json["upload"]["fields"]["key"]
    assert key.startswith(f"orders/{oid}/attachments/")
    original_key = f"orders/{oid}/attachments/{file_id}/参考logo.png"
    s3_client().put_object(Bucket=settings.get().bucket, Key=original_key,
                           Body=b"swapped afterwards!", ContentType="image/png")
    for who in ({"user": PROVIDER}, {"user": BUYER}, {"user": OPERATOR, "operator": True}):
        link = api.get(f"/orders/{oid}/attachments/{file_id}", **who)
        assert link.status == 200, link
        assert link.json["filename"] == "参考logo.png"
        assert requests.get(link.json["url"], timeout=10).content == b"original logo bytes"


def test_the_upload_policy_binds_key_type_and_exact_size(api):
    oid = accepted_order(api)
    reply = api.post(f"/orders/{oid}/attachments",
                     {"filename": "../../etc/需求说明.docx", "content_type": "application/msword",
                      "size": 2048}, user=PROVIDER)
    assert reply.status == 200, reply
    fields = reply.json["upload"]["fields"]
    assert fields["key"] == f"orders/{oid}/attachments/{reply.json['file_id']}/需求说明.docx"
    assert fields["Content-Type"] == "application/msword"
    import base64
    import json
    policy = json.loads(base64.b64decode(fields.get("policy") or fields["Policy"]))
    assert ["content-length-range", 2048, 2048] in policy["conditions"]
    assert {"Content-Type": "application/msword"} in policy["conditions"]
    for bad in ({"filename": "a.zip", "content_type": "application/zip", "size": 50 * 2**20 + 1},
                {"filename": "a.png", "content_type": "png; x=\"y\"", "size": 1},
                {"filename": "a.png", "content_type": "image/png", "size": 0},
                {"filename": "", "content_type": "image/png", "size": 1}):
        refused = api.post(f"/orders/{oid}/attachments", bad, user=PROVIDER)
        assert refused.status == 422 and refused.error_code == "VALIDATION_FAILED", (bad, refused)
    assert api.post(f"/orders/{oid}/attachments", {"filename": "a.png", "content_type":
                    "image/png", "size": 1}, user="buyer-2").status == 404
    early = api.post(f"/orders/{oid}/attachments", {"filename": "a.png", "content_type":
                     "image/png", "size": 1}, user=OPERATOR, operator=True)
    assert early.status == 403


def test_files_that_cannot_be_sent_are_refused_and_nothing_is_posted(moto_api):
    api = moto_api
    oid = accepted_order(api)
    mine = attach(api, oid, b"12345")
    theirs = attach(api, oid, b"provider's draft", user=PROVIDER)
    never = api.post(f"/orders/{oid}/attachments", {"filename": "a.png", "content_type":
                     "image/png", "size": 10}, user=BUYER).json["file_id"]
    short = api.post(f"/orders/{oid}/attachments", {"filename": "b.png", "content_type":
                     "image/png", "size": 10}, user=BUYER).json
    s3_client().put_object(Bucket=settings.get().bucket, Key=short["upload"]["fields"]["key"],
                           Body=b"123", ContentType="image/png")
    cases = [([theirs], "unknown"), (["file_nope"], "unknown"), ([never], "not uploaded"),
             ([short["file_id"]], "not the declared size"), (["x" * 129], "unknown")]
    for file_ids, problem in cases:
        reply = say(api, oid, "见附件", file_ids=file_ids)
        assert reply.status == 422, (file_ids, reply)
        if len(file_ids[0]) <= 128:
            assert reply.json["error"]["details"]["errors"][0]["problem"] == problem, reply
    assert conversation(api, oid) == []
    assert say(api, oid, "第一次发送", file_ids=[mine]).status == 201
    again = say(api, oid, "再发一次同一个文件", file_ids=[mine])
    assert again.status == 422
    assert again.json["error"]["details"]["errors"][0]["problem"] == "already sent"
    assert len(conversation(api, oid)) == 1
    # The other party's unsent upload is theirs alone.
    assert api.get(f"/orders/{oid}/attachments/{theirs}", user=BUYER).status == 404
    assert api.get(f"/orders/{oid}/attachments/{theirs}", user=PROVIDER).status == 200
    assert api.get(f"/orders/{oid}/attachments/{mine}", user="buyer-2").status == 404


@pytest.mark.parametrize("body", [
    {}, {"body": ""}, {"body": "   "}, {"body": "字" * 2001}, {"body": 7}, {"body": None},
    {"body": "hi", "file_ids": "file_1"}, {"body": "hi", "file_ids": ["f"] * 11},
    {"body": "hi", "file_ids": ["f", "f"]}, {"body": "hi", "extra": 1}, {"body": "a\x00b"}])
def test_bad_messages_are_422_and_change_nothing(moto_api, body):
    oid = place(moto_api, listed_service()).json["id"]
    reply = moto_api.post(f"/orders/{oid}/messages", body, user=BUYER)
    assert reply.status == 422 and reply.error_code == "VALIDATION_FAILED", reply
    assert conversation(moto_api, oid) == []


def test_a_long_message_of_exactly_2000_characters_is_taken(moto_api):
    oid = place(moto_api, listed_service()).json["id"]
    body = "需求说明第一段。\n" + "字" * (2000 - 9)
    reply = say(moto_api, oid, body)
    assert reply.status == 201 and reply.json["body"] == body


def test_an_idempotency_key_posts_once(api):
    oid = place(api, listed_service()).json["id"]
    key = {"Idempotency-Key": "留言-1"}
    first = say(api, oid, "请尽快回复", headers=key)
    again = say(api, oid, "请尽快回复", headers=key)
    assert first.status == again.status == 201
    assert again.headers.get("idempotent-replayed") == "true" and again.json == first.json
    assert say(api, oid, "另一句话", headers=key).status == 422
    assert len(conversation(api, oid)) == 1 and len(inbox(api, PROVIDER)) == 1


def test_a_retry_whose_first_answer_was_lost_finds_its_message(moto_api):
    from chalicelib import clock

    oid = place(moto_api, listed_service()).json["id"]
    buyer = Caller(BUYER)
    # What the route passes for a key within its window (Claim.request_key).
    key = record_key(BUYER, "lost-answer-1") + "@1"
    first = messages.post_message(buyer, oid, body="图片已发", file_ids=[], now=clock.now(),
                                  request_key=key)
    retry = messages.post_message(buyer, oid, body="图片已发", file_ids=[], now=clock.now(),
                                  request_key=key)
    assert retry == first
    assert len(conversation(moto_api, oid)) == 1 and len(inbox(moto_api, PROVIDER)) == 1
    # Long after the key's window the same key is a new request: a new message.
    clock.advance(2 * 24 * 3600)
    later = messages.post_message(buyer, oid, body="图片已发", file_ids=[], now=clock.now(),
                                  request_key=key)
    assert later["id"] != first["id"] and len(conversation(moto_api, oid)) == 2
