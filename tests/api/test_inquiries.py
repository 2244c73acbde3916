"""Inquiries (询单) and custom offers (定制报价): a buyer asks before ordering, the two
parties talk with the other told each time, the provider's first reply is recorded, and
an offer turns the inquiry into an agreed-price order the buyer pays."""
from datetime import timedelta

import pytest

from chalicelib import clock
from chalicelib.domain.actors import Caller
from chalicelib.services import inquiries
from chalicelib.storage.catalog import ServiceModel
from tests.api.orders_support import BUYER, PROVIDER, due_in, listed_service
from tests.api.review_support import provider
from tests.support import BUYER_2, race


def ask(api, service_id, body="您好，双十一首页三天内能交付吗？", user=BUYER, **kw):
    return api.post(f"/services/{service_id}/inquiries", {"body": body}, user=user, **kw)


def say(api, inquiry_id, body, user):
    return api.post(f"/inquiries/{inquiry_id}/messages", {"body": body}, user=user)


def told(api, user):
    return [n for n in api.get("/me/notifications?limit=100", user=user).json["items"]
            if n["kind"] == "inquiry_message"]


def offer(api, inquiry_id, user=PROVIDER, **extra):
    body = {"amount": 88000, "requirement": "双十一首页+两张详情页，红色主题",
            "due_at": due_in(7), **extra}
    return api.post(f"/inquiries/{inquiry_id}/offer", body, user=user)


def test_a_buyer_asks_and_the_provider_answers_with_the_reply_time_recorded(api):
    sid = listed_service(capacity=1)
    opened = ask(api, sid)
    assert opened.status == 201, opened
    inquiry = opened.json
    assert inquiry["buyer_id"] == BUYER and inquiry["provider_id"] == PROVIDER
    assert inquiry["service_id"] == sid and inquiry["role"] == "buyer"
    assert [m["body"] for m in inquiry["messages"]] == ["您好，双十一首页三天内能交付吗？"]
    assert inquiry["first_reply_at"] is None and inquiry["reply_seconds"] is None
    assert len(told(api, PROVIDER)) == 1 and told(api, BUYER) == []
    # No capacity taken: the one slot is still free.
    assert int(ServiceModel.get(sid).open_orders or 0) == 0

    clock.advance(90)
    answer = say(api, inquiry["id"], "可以，三天交付，报价880元", PROVIDER)
    assert answer.status == 201 and answer.json["role"] == "provider"
    assert len(told(api, BUYER)) == 1
    clock.advance(60)
    assert say(api, inquiry["id"], "还有一个问题", BUYER).status == 201
    assert say(api, inquiry["id"], "请讲", PROVIDER).status == 201

    seen = api.get(f"/inquiries/{inquiry['id']}", user=PROVIDER).json
    assert seen["role"] == "provider" and seen["message_count"] == 4
    assert [m["role"] for m in seen["messages"]] == ["buyer", "provider", "buyer", "provider"]
    # The first reply, not the latest one, is what reply statistics read.
    # (the app clock runs on between requests: 90 s moved, plus the requests' own time)
    assert 90 <= seen["reply_seconds"] < 150
    assert seen["first_reply_at"] == answer.json["at"]


def test_only_the_two_parties_see_an_inquiry_and_the_owner_cannot_ask_itself(api):
    sid = listed_service()
    iid = ask(api, sid).json["id"]
    assert api.get(f"/inquiries/{iid}", user=BUYER_2).error_code == "NOT_FOUND"
    assert say(api, iid, "我也想问", BUYER_2).error_code == "NOT_FOUND"
    assert ask(api, sid, user=PROVIDER).error_code == "FORBIDDEN"
    assert ask(api, "svc_nothing").error_code == "NOT_FOUND"
    delisted = listed_service(status="delisted")
    assert ask(api, delisted).error_code == "SERVICE_NOT_LISTED"
    assert ask(api, sid, body="").error_code == "VALIDATION_FAILED"


def test_each_side_lists_its_inquiries_latest_activity_first(api):
    first = ask(api, listed_service(title="店铺首页装修")).json["id"]
    second = ask(api, listed_service(title="详情页设计")).json["id"]
    other = ask(api, listed_service(title="主图拍摄"), user=BUYER_2).json["id"]
    clock.advance(5)
    say(api, first, "补充一下需求", BUYER)
    mine = api.get("/inquiries?as=buyer", user=BUYER).json["items"]
    assert [i["id"] for i in mine] == [first, second]
    assert "messages" not in mine[0]
    theirs = api.get("/inquiries?as=provider", user=PROVIDER).json["items"]
    assert [i["id"] for i in theirs] == [first, other, second]
    assert api.get("/inquiries?as=provider", user=BUYER).json["items"] == []


def test_a_custom_offer_becomes_an_agreed_order_the_buyer_pays(api):
    sid = listed_service(pricing="negotiable", price=50000)
    iid = ask(api, sid).json["id"]
    made = offer(api, iid)
    assert made.status == 201, made
    order = made.json["order"]
    assert order["status"] == "awaiting_payment" and order["price_agreed"] is True
    assert order["amount"] == 88000 and order["buyer_id"] == BUYER
    assert order["provider_id"] == PROVIDER and order["inquiry_id"] == iid
    offers = [n for n in api.get("/me/notifications", user=BUYER).json["items"]
              if n["kind"] == "offer_made"]
    assert len(offers) == 1 and offers[0]["order_id"] == order["id"]
    assert api.get(f"/inquiries/{iid}", user=BUYER).json["order_id"] == order["id"]
    assert "pay" in api.get(f"/orders/{order['id']}", user=BUYER).json["allowed_actions"]
    paid = api.post(f"/orders/{order['id']}/pay", {}, user=BUYER)
    assert paid.status == 200, paid
    assert paid.json["payment"]["status"] in ("pending", "succeeded")


def test_only_the_provider_offers_and_the_offer_is_checked(api):
    iid = ask(api, listed_service()).json["id"]
    assert offer(api, iid, user=BUYER).error_code == "FORBIDDEN"
    assert offer(api, iid, user=BUYER_2).error_code == "NOT_FOUND"
    late = offer(api, iid, due_at=clock.to_iso(clock.now() - timedelta(days=1)))
    assert late.error_code == "VALIDATION_FAILED"
    assert offer(api, iid, amount=0).error_code == "VALIDATION_FAILED"
    uneven = offer(api, iid, milestones=[{"title": "首页", "amount": 100,
                                          "release": "on_approval"}])
    assert uneven.error_code == "VALIDATION_FAILED"
    assert api.get("/orders?as=buyer", user=BUYER).json["items"] == []


def test_an_offer_retried_with_its_key_places_one_order(api):
    iid = ask(api, listed_service()).json["id"]
    key = {"Idempotency-Key": "offer-once-1"}
    body = {"amount": 70000, "requirement": "首页", "due_at": due_in()}
    first = api.post(f"/inquiries/{iid}/offer", body, user=PROVIDER, headers=key)
    again = api.post(f"/inquiries/{iid}/offer", body, user=PROVIDER, headers=key)
    assert first.status == 201, first
    assert again.json["order"]["id"] == first.json["order"]["id"]
    assert len(api.get("/orders?as=buyer", user=BUYER).json["items"]) == 1


def test_replies_at_once_keep_the_first_reply_time_and_every_message(api, aws):
    if aws == "moto":
        pytest.skip("moto's transactions are not atomic across threads; DynamoDB Local's are")
    iid = ask(api, listed_service()).json["id"]
    provider = Caller(PROVIDER)
    results = race(*[lambda n=n: inquiries.post_message(provider, iid, body=f"回复{n}",
                                                        now=clock.now()) for n in range(3)],
                   lambda: inquiries.post_message(Caller(BUYER), iid, body="在吗", now=clock.now()))
    sent = [r for r in results if not isinstance(r, Exception)]
    for result in results:
        if isinstance(result, Exception):  # a conflict that outlasted the retries: nothing written
            assert type(result).__name__ == "Conflict", result
    seen = api.get(f"/inquiries/{iid}", user=BUYER).json
    assert seen["message_count"] == 1 + len(sent) == len(seen["messages"])
    replies = [m["at"] for m in seen["messages"] if m["role"] == "provider"]
    # The first reply is the earliest provider message, set once whoever committed first.
    assert seen["first_reply_at"] is not None and seen["first_reply_at"] in replies


def test_buyers_asking_at_once_each_get_their_inquiry_and_the_provider_every_notice(api, aws):
    if aws == "moto":
        pytest.skip("moto's transactions are not atomic across threads; DynamoDB Local's are")
    sid = listed_service()
    buyers = [f"buyer-race-{n}" for n in range(4)]
    results = race(*[lambda b=b: inquiries.open_inquiry(Caller(b), sid, body="在吗？",
                                                        now=clock.now()) for b in buyers])
    opened = [r for r in results if not isinstance(r, Exception)]
    assert all(type(r).__name__ == "Conflict" for r in results if isinstance(r, Exception))
    assert len(opened) >= 1
    theirs = api.get("/inquiries?as=provider", user=PROVIDER).json["items"]
    assert sorted(i["id"] for i in theirs) == sorted(i["id"] for i in opened)
    # The provider's unread counter moved with each inquiry, exactly once.
    assert api.get("/me/notifications/unread-count", user=PROVIDER).json["count"] == len(opened)


def test_the_providers_median_reply_time_counts_each_first_reply_once(api):
    """median_reply_seconds (询单响应): from each inquiry to the provider's first reply,
    kept as a histogram in the reply's own transaction; later replies count nothing."""
    provider(PROVIDER)
    sid = listed_service()
    stats = lambda: api.get(f"/providers/{PROVIDER}").json["stats"]  # noqa: E731
    assert stats()["median_reply_seconds"] is None
    slow = ask(api, sid).json["id"]
    clock.advance(2 * 3600 - 30)
    assert say(api, slow, "在的，可以做", PROVIDER).status == 201
    assert stats()["median_reply_seconds"] == 7200  # the bucket up to 2 h
    clock.advance(3 * 24 * 3600)
    assert say(api, slow, "还在吗？", PROVIDER).status == 201
    assert say(api, slow, "在", BUYER).status == 201
    assert stats()["median_reply_seconds"] == 7200  # only a first reply counts
    quick = ask(api, sid, user=BUYER_2).json["id"]
    clock.advance(200)
    assert say(api, quick, "您好", PROVIDER).status == 201
    # Two first replies (≤ 300 s and ≤ 2 h): the median is the faster one's bucket.
    assert stats()["median_reply_seconds"] == 300


def test_two_first_replies_at_once_count_once(api, aws):
    if aws == "moto":
        pytest.skip("moto serialises transactions: the race needs DynamoDB Local")
    sid = listed_service()
    inquiry_id = ask(api, sid).json["id"]
    replies = race(*[lambda: say(api, inquiry_id, "在的", PROVIDER)] * 4)
    assert all(r.status == 201 for r in replies), replies
    from chalicelib.domain import provider_stats as record
    from chalicelib.storage.reviews import ProviderStatsModel
    item = ProviderStatsModel.get(PROVIDER, consistent_read=True)
    counted = sum(int(getattr(item, record.reply_bucket_name(i)) or 0)
                  for i in range(len(record.ACCEPT_BUCKETS)))
    assert counted == 1
    assert len(api.get(f"/inquiries/{inquiry_id}", user=BUYER).json["messages"]) == 5
