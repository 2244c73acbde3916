"""Reviews people can trust: blind until both sides reviewed or the window closed, one
answer by the provider, public lists per service and per provider from sparse indexes,
and the provider's order record kept in the transactions that change it."""
import pytest

from chalicelib import clock
from chalicelib.domain.actors import Caller
from chalicelib.services import review_answers, reviews
from chalicelib.storage.orders import OrderModel
from tests.api import catalog_support, orders_support
from tests.api.review_support import completed_order, order_service_id, provider
from tests.support import race

WINDOW = 15 * 24 * 3600
BUYER, PROVIDER, OPERATOR = "buyer-1", "provider-1", "op-1"
AS_OPERATOR = {"user": OPERATOR, "operator": True}


def review(api, order_id, rating="good", comment="沟通顺畅，交付准时", user=BUYER):
    reply = api.post(f"/orders/{order_id}/reviews", {"rating": rating, "comment": comment},
                     user=user)
    assert reply.status == 201, reply
    return reply.json


def readable(api, order_id, **who):
    reply = api.get(f"/orders/{order_id}/reviews", **who)
    assert reply.status == 200, reply
    return [(r["author_role"], r["rating"]) for r in reply.json["items"]]


def public(api, path):
    reply = api.get(path)
    assert reply.status == 200, reply
    return reply.json


def answer(api, order_id, body="感谢反馈，我们会改进沟通", user=PROVIDER, **kw):
    return api.post(f"/orders/{order_id}/reviews/buyer/reply", {"body": body}, user=user, **kw)


# --- blind ----------------------------------------------------------------------------
def test_neither_side_reads_the_other_before_writing_its_own(api):
    order_id = completed_order()
    review(api, order_id, "bad", "交付拖延，沟通不及时")
    assert readable(api, order_id, user=PROVIDER) == []  # sealed: no retaliation
    assert readable(api, order_id, user=BUYER) == [("buyer", "bad")]
    assert readable(api, order_id, **AS_OPERATOR) == [("buyer", "bad")]
    service_id = order_service_id(order_id)
    assert public(api, f"/services/{service_id}/reviews")["items"] == []
    review(api, order_id, "good", "买家需求清晰", user=PROVIDER)
    both = [("buyer", "bad"), ("provider", "good")]
    for who in ({"user": BUYER}, {"user": PROVIDER}, AS_OPERATOR):
        assert readable(api, order_id, **who) == both
    listed = public(api, f"/services/{service_id}/reviews")["items"]
    assert [(r["rating"], r["comment"], r["reply"]) for r in listed] == [
        ("bad", "交付拖延，沟通不及时", None)]
    assert listed[0]["at"].endswith("+00:00") and listed[0]["service_id"] == service_id
    assert "author_id" not in listed[0] and "order_id" not in listed[0]


def test_the_buyers_review_written_second_is_public_at_once(api):
    order_id = completed_order()
    review(api, order_id, "neutral", "下单前沟通顺畅", user=PROVIDER)
    assert readable(api, order_id, user=BUYER) == []
    review(api, order_id, "good")
    assert readable(api, order_id, user=PROVIDER) == [("buyer", "good"), ("provider", "neutral")]
    assert [r["rating"] for r in public(api, f"/providers/{PROVIDER}/reviews")["items"]] == [
        "good"]


def test_the_closed_window_unseals_a_lone_review_and_the_sweep_publishes_it(api):
    order_id = completed_order()
    review(api, order_id, "good", "设计很用心")
    service_id = order_service_id(order_id)
    clock.advance(WINDOW + 1)
    # Read at request time: the window is over, the provider can read it now ...
    assert readable(api, order_id, user=PROVIDER) == [("buyer", "good")]
    assert public(api, f"/services/{service_id}/reviews")["items"] == []
    api.invoke("sweep_timeouts")
    # ... and the sweep that closes the window puts it into the public lists.
    assert [r["comment"] for r in public(api, f"/services/{service_id}/reviews")["items"]] == [
        "设计很用心"]
    assert OrderModel.get(order_id, consistent_read=True).timer_pk is None  # out of the index


def test_a_provider_review_alone_never_reaches_the_public_lists(api):
    order_id = completed_order()
    review(api, order_id, "bad", "需求反复变更", user=PROVIDER)
    clock.advance(WINDOW + 1)
    api.invoke("sweep_timeouts")
    assert readable(api, order_id, user=BUYER) == [("provider", "bad")]
    assert public(api, f"/providers/{PROVIDER}/reviews")["items"] == []


# --- the provider's answer --------------------------------------------------------------
def test_the_provider_answers_the_buyers_review_once(api):
    order_id = completed_order()
    early = answer(api, order_id)
    assert early.status == 409 and early.json["error"]["details"]["reason"] == "not_reviewed"
    review(api, order_id, "bad", "logo配色和需求不符")
    sealed = answer(api, order_id)
    assert sealed.status == 409 and sealed.json["error"]["details"]["reason"] == "not_readable"
    review(api, order_id, "good", user=PROVIDER)
    reply = answer(api, order_id, "抱歉配色未达预期，已免费重做一版")
    assert reply.status == 201, reply
    assert reply.json["author_role"] == "buyer" and reply.json["rating"] == "bad"
    assert reply.json["reply"]["body"] == "抱歉配色未达预期，已免费重做一版"
    again = answer(api, order_id, "再补充一句")
    assert again.status == 409 and again.json["error"]["details"]["reason"] == "already_replied"
    listed = public(api, f"/services/{order_service_id(order_id)}/reviews")["items"]
    assert listed[0]["reply"]["body"] == "抱歉配色未达预期，已免费重做一版"
    told = [n for n in api.get("/me/notifications", user=BUYER).json["items"]
            if n["kind"] == "review_replied"]
    assert [n["order_id"] for n in told] == [order_id]


def test_only_the_provider_answers_and_the_answer_is_validated(api):
    order_id = completed_order()
    review(api, order_id, "good")
    clock.advance(WINDOW + 1)  # readable once the window closed, even without its review
    for who, status in (({"user": BUYER}, 403), (AS_OPERATOR, 403), ({"user": "buyer-2"}, 404)):
        assert answer(api, order_id, **who).status == status
    for body in ("", "字" * 501, None):
        reply = api.post(f"/orders/{order_id}/reviews/buyer/reply", {"body": body}, user=PROVIDER)
        assert reply.status == 422 and reply.error_code == "VALIDATION_FAILED", body
    assert answer(api, order_id, "字" * 500).status == 201
    replay = answer(api, order_id, "字" * 500)  # the same answer again: a lost reply retried
    assert replay.status == 201 and replay.json["reply"]["body"] == "字" * 500


# --- public lists ---------------------------------------------------------------------------
def test_public_lists_are_newest_first_and_page_with_a_cursor(moto_aws, chalice_app):
    from chalice.test import Client

    from tests.support import ApiClient

    with Client(chalice_app, stage_name="local") as client:
        api = ApiClient(client)
        provider()
        logo = orders_support.listed_service(title="logo设计")
        decoration = orders_support.listed_service(title="店铺装修")
        written = []
        for i, service_id in enumerate([logo, decoration, logo]):
            order_id = completed_order(buyer=f"buyer-{i}", service_id=service_id)
            review(api, order_id, "good", f"第{i}单很满意", user=f"buyer-{i}")
            review(api, order_id, "good", user=PROVIDER)
            written.append(f"第{i}单很满意")
            clock.advance(60)
        everything = public(api, f"/providers/{PROVIDER}/reviews")["items"]
        assert [r["comment"] for r in everything] == written[::-1]
        assert [r["comment"] for r in public(api, f"/services/{logo}/reviews")["items"]] == [
            written[2], written[0]]
        first = public(api, f"/providers/{PROVIDER}/reviews?limit=2")
        rest = public(api, f"/providers/{PROVIDER}/reviews?limit=2&cursor={first['next_cursor']}")
        assert [r["comment"] for r in first["items"] + rest["items"]] == written[::-1]
        foreign = api.get(f"/services/{logo}/reviews?cursor={first['next_cursor']}")
        assert foreign.status == 400


def test_public_lists_of_what_is_not_public_are_not_found(api):
    catalog_support.approved_provider(api)
    draft = catalog_support.draft(api)["id"]
    assert api.get(f"/services/{draft}/reviews").status == 404
    assert api.get(f"/services/{draft}/reviews", user=PROVIDER).status == 200
    assert api.get("/services/svc_nope/reviews").status == 404
    assert api.get("/providers/nobody-7/reviews").status == 404
    applicant = "applicant-1"
    assert api.post("/providers/me/application", catalog_support.APPLICATION,
                    user=applicant).status == 201
    assert api.get(f"/providers/{applicant}/reviews").status == 404
    assert public(api, f"/providers/{PROVIDER}/reviews") == {"items": [], "next_cursor": None}


# --- the provider's record -------------------------------------------------------------------
def _completed_through_the_api(api, service_id, *, deliver_late=False):
    order_id = orders_support.place(api, service_id).json["id"]
    assert api.post(f"/orders/{order_id}/pay", user=BUYER).status == 200
    assert api.post(f"/orders/{order_id}/accept", user=PROVIDER).status == 200
    if deliver_late:
        clock.advance(11 * 24 * 3600)  # due_at is 10 days out
    assert orders_support.deliver(api, order_id).status == 200
    if not deliver_late:
        # A revision after an on-time first delivery does not make the order late.
        assert api.post(f"/orders/{order_id}/request-revision", {"note": "再改一版"},
                        user=BUYER).status == 200
        clock.advance(11 * 24 * 3600)
        assert orders_support.deliver(api, order_id).status == 200
    assert api.post(f"/orders/{order_id}/approve", user=BUYER).json["status"] == "completed"
    return order_id


def first_round_record(stats):
    """The record's first fields (test_provider_stats.py covers the rest)."""
    return {k: stats[k] for k in ("completed_orders", "on_time_orders", "on_time_rate",
                                  "ratings")}


def test_the_providers_record_counts_completed_and_on_time_orders(api):
    catalog_support.approved_provider(api)
    assert first_round_record(api.get(f"/providers/{PROVIDER}").json["stats"]) == {
        "completed_orders": 0, "on_time_orders": 0, "on_time_rate": None,
        "ratings": {"good": 0, "neutral": 0, "bad": 0}}
    service_id = catalog_support.listed(api)["id"]
    on_time = _completed_through_the_api(api, service_id)
    review(api, on_time, "good")
    stats = first_round_record(api.get(f"/providers/{PROVIDER}").json["stats"])
    assert stats == {"completed_orders": 1, "on_time_orders": 1, "on_time_rate": 1.0,
                     "ratings": {"good": 1, "neutral": 0, "bad": 0}}
    _completed_through_the_api(api, service_id, deliver_late=True)
    stats = api.get(f"/providers/{PROVIDER}").json["stats"]
    assert (stats["completed_orders"], stats["on_time_orders"], stats["on_time_rate"]) == (
        2, 1, 0.5)
    # An order that ends any other way is not a completed order.
    rejected = orders_support.place(api, service_id).json["id"]
    api.post(f"/orders/{rejected}/pay", user=BUYER)
    api.post(f"/orders/{rejected}/reject", {"reason": "档期已满"}, user=PROVIDER)
    assert api.get(f"/providers/{PROVIDER}").json["stats"]["completed_orders"] == 2


# --- races (DynamoDB Local only: moto never conflicts) ------------------------------------------
@pytest.mark.parametrize("aws", ["dynamodb_local"], indirect=True)
def test_both_sides_reviewing_at_once_unseal_the_buyers_review(aws):
    order_id = completed_order()
    results = race(
        lambda: reviews.submit_review(Caller(BUYER), order_id, rating="good", comment="满意",
                                      now=clock.now()),
        lambda: reviews.submit_review(Caller(PROVIDER), order_id, rating="good", comment="",
                                      now=clock.now()))
    assert all(isinstance(r, dict) for r in results), results
    items, _ = reviews.list_provider_reviews(PROVIDER, limit=10, start_key=None)
    assert [r["comment"] for r in items] == ["满意"]


@pytest.mark.parametrize("aws", ["dynamodb_local"], indirect=True)
def test_two_replies_at_once_store_one(aws):
    order_id = completed_order()
    reviews.submit_review(Caller(BUYER), order_id, rating="bad", comment="", now=clock.now())
    reviews.submit_review(Caller(PROVIDER), order_id, rating="good", comment="", now=clock.now())
    results = race(*[lambda b=b: review_answers.reply_to_review(
        Caller(PROVIDER), order_id, "buyer", body=b, now=clock.now())
                     for b in ("第一种回复", "第二种回复", "第三种回复")])
    won = [r for r in results if isinstance(r, dict)]
    assert len(won) == 1, results
    stored = reviews.list_order_reviews(Caller(BUYER), order_id, clock.now())[0]["reply"]
    assert stored["body"] == won[0]["reply"]["body"]
