"""After the review: the buyer answers the provider's review once, the buyer adds one
追评 within 180 days of completion, and an operator hides a review's text (credit stays,
the order's events record it)."""
from chalicelib import clock
from tests.api.review_support import completed_order, order_service_id, provider_standing

BUYER, PROVIDER = "buyer-1", "provider-1"
AS_OPERATOR = {"user": "op-1", "operator": True}
DAY = 24 * 3600


def review(api, order_id, rating="good", comment="沟通顺畅，交付准时", user=BUYER):
    reply = api.post(f"/orders/{order_id}/reviews", {"rating": rating, "comment": comment},
                     user=user)
    assert reply.status == 201, reply
    return reply.json


def reason_of(reply):
    return reply.json["error"]["details"]["reason"]


def public_reviews(api, order_id):
    return api.get(f"/services/{order_service_id(order_id)}/reviews").json["items"]


def test_the_buyer_answers_the_providers_review_once(api):
    order_id = completed_order()
    path = f"/orders/{order_id}/reviews/provider/reply"
    assert reason_of(api.post(path, {"body": "谢谢"}, user=BUYER)) == "not_reviewed"
    review(api, order_id, "neutral", "需求描述清楚，但改了三次", user=PROVIDER)
    sealed = api.post(path, {"body": "谢谢"}, user=BUYER)
    assert sealed.status == 409 and reason_of(sealed) == "not_readable"
    review(api, order_id, "good")
    assert api.post(path, {"body": "谢谢"}, user=PROVIDER).status == 403
    answered = api.post(path, {"body": "改需求是我的问题，下次会一次说清"}, user=BUYER)
    assert answered.status == 201, answered
    assert answered.json["author_role"] == "provider"
    assert answered.json["reply"]["body"] == "改需求是我的问题，下次会一次说清"
    again = api.post(path, {"body": "再补充一句"}, user=BUYER)
    assert again.status == 409 and again.error_code == "REVIEW_NOT_ALLOWED"
    assert reason_of(again) == "already_replied"
    shown = {r["author_role"]: r for r in
             api.get(f"/orders/{order_id}/reviews", user=PROVIDER).json["items"]}
    assert shown["provider"]["reply"]["body"] == "改需求是我的问题，下次会一次说清"
    told = [n["kind"] for n in api.get("/me/notifications", user=PROVIDER).json["items"]]
    assert "review_replied" in told


def test_the_buyers_follow_up_shows_in_public_lists_once(api):
    order_id = completed_order()
    path = f"/orders/{order_id}/reviews/buyer/follow-up"
    assert reason_of(api.post(path, {"body": "用了一个月"}, user=BUYER)) == "not_reviewed"
    review(api, order_id, "good")
    review(api, order_id, "good", user=PROVIDER)
    assert api.post(path, {"body": "用了一个月"}, user=PROVIDER).status == 403
    assert api.post(path, {"body": ""}, user=BUYER).status == 422
    added = api.post(path, {"body": "用了一个月，转化率明显提升"}, user=BUYER)
    assert added.status == 201 and added.json["follow_up"]["body"] == "用了一个月，转化率明显提升"
    second = api.post(path, {"body": "再追一句"}, user=BUYER)
    assert second.status == 409 and reason_of(second) == "already_followed_up"
    [listed] = public_reviews(api, order_id)
    assert listed["follow_up"]["body"] == "用了一个月，转化率明显提升"
    assert provider_standing()[0] == 1  # a follow-up moves no credit


def test_a_follow_up_is_taken_until_180_days_after_completion(api):
    on_time, late = completed_order(), completed_order(service_id=None)
    for order_id in (on_time, late):
        review(api, order_id, "good")
    clock.advance(180 * DAY - 60)  # a minute before the window closes
    assert api.post(f"/orders/{on_time}/reviews/buyer/follow-up", {"body": "半年了依然好用"},
                    user=BUYER).status == 201
    clock.advance(120)
    closed = api.post(f"/orders/{late}/reviews/buyer/follow-up", {"body": "半年了依然好用"},
                      user=BUYER)
    assert closed.status == 409 and reason_of(closed) == "window_closed"


def test_an_operator_hides_a_reviews_text_but_its_credit_stays(api):
    order_id = completed_order()
    review(api, order_id, "bad", "加微信 abc123 私下交易更便宜")
    review(api, order_id, "good", user=PROVIDER)
    path = f"/admin/orders/{order_id}/reviews/buyer/hide"
    assert api.post(path, {"reason": "含有联系方式"}, user=BUYER).status == 403
    assert api.post(path, {}, **AS_OPERATOR).status == 422
    assert api.post(f"/admin/orders/{order_id}/reviews/nobody/hide", {"reason": "x"},
                    **AS_OPERATOR).status == 404
    hidden = api.post(path, {"reason": "含有联系方式"}, **AS_OPERATOR)
    assert hidden.status == 200, hidden
    assert hidden.json["hidden"] is True and hidden.json["hidden_reason"] == "含有联系方式"
    [listed] = public_reviews(api, order_id)
    assert listed["hidden"] is True and listed["comment"] == "" and listed["rating"] == "bad"
    assert provider_standing()[0] == -1
    party_view = api.get(f"/orders/{order_id}/reviews", user=PROVIDER).json["items"]
    assert [r["comment"] for r in party_view if r["author_role"] == "buyer"] == [""]
    events = api.get(f"/orders/{order_id}/events", **AS_OPERATOR).json["items"]
    audit = [e for e in events if e["type"] == "review_hidden"]
    assert [(e["actor"], e["data"]) for e in audit] == [
        ("op-1", {"side": "buyer", "reason": "含有联系方式"})]
    again = api.post(path, {"reason": "含有联系方式"}, **AS_OPERATOR)
    assert again.status == 409 and reason_of(again) == "already_hidden"
