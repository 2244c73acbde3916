"""Reviews and credit: each side of a completed order reviews the other once, within
15 days; credit moves +1/0/-1 on the reviewed party exactly once."""
from datetime import timedelta

import pytest
from chalice.test import Client
from pynamodb.exceptions import TransactWriteError

from chalicelib import clock
from chalicelib.domain.actors import Caller
from chalicelib.domain.errors import ReviewNotAllowed
from chalicelib.services import reviews
from chalicelib.storage.catalog import ServiceModel
from chalicelib.storage.orders import OrderModel, timer_partition
from tests.api import catalog_support, orders_support
from tests.api.review_support import (completed_order, order_service_id, provider,
                                      provider_standing, service_rating)
from tests.support import ApiClient, catch_up_market, race

WINDOW = 15 * 24 * 3600


@pytest.fixture
def moto_api(moto_aws, chalice_app):
    """Parametrised cases run on moto only: the rules, not the engine, vary."""
    with Client(chalice_app, stage_name="local") as client:
        yield ApiClient(client)


def review(api, order_id, rating="good", comment="沟通顺畅，交付准时", user="buyer-1", **kw):
    return api.post(f"/orders/{order_id}/reviews", {"rating": rating, "comment": comment},
                    user=user, **kw)


def buyer_profile(api, user="buyer-1"):
    return api.get(f"/users/{user}").json


def test_buyers_good_review_moves_the_providers_credit_and_the_services_rating(api):
    order_id = completed_order()
    reply = review(api, order_id, "good")
    assert reply.status == 201
    assert reply.json["author_role"] == "buyer" and reply.json["author_id"] == "buyer-1"
    assert reply.json["rating"] == "good" and reply.json["comment"] == "沟通顺畅，交付准时"
    assert reply.json["order_id"] == order_id and reply.json["created_at"].endswith("+00:00")
    assert provider_standing() == (1, (1, 0, 0))
    service_id = order_service_id(order_id)
    assert service_rating(service_id) == (1, 1, (1, 0, 0))
    assert buyer_profile(api)["credit"] == 0  # the author's own credit does not move


@pytest.mark.parametrize("rating, points, counts", [("good", 1, (1, 0, 0)),
                                                    ("neutral", 0, (0, 1, 0)),
                                                    ("bad", -1, (0, 0, 1))])
def test_each_rating_moves_credit_by_its_points(moto_api, rating, points, counts):
    order_id = completed_order()
    assert review(moto_api, order_id, rating).status == 201
    assert provider_standing() == (points, counts)
    assert review(moto_api, order_id, rating, user="provider-1").status == 201
    profile = buyer_profile(moto_api)
    assert profile["credit"] == points
    assert tuple(profile["ratings"][r] for r in ("good", "neutral", "bad")) == counts


def test_providers_review_moves_the_buyers_credit_only(api):
    order_id = completed_order()
    reply = review(api, order_id, "bad", "需求反复变更", user="provider-1")
    assert reply.status == 201 and reply.json["author_role"] == "provider"
    assert buyer_profile(api) == {"id": "buyer-1", "credit": -1, "credit_level": None,
                                  "ratings": {"good": 0, "neutral": 0, "bad": 1}}
    assert provider_standing() == (0, (0, 0, 0))
    assert service_rating(order_service_id(order_id)) == (0, 0, (0, 0, 0))


def test_an_order_completed_through_the_api_is_reviewed_by_both_sides(api):
    provider()
    order_id = orders_support.accepted_order(api)
    assert review(api, order_id).status == 409  # in progress: not yet
    assert orders_support.deliver(api, order_id).status == 200
    assert api.post(f"/orders/{order_id}/approve", user="buyer-1").json["status"] == "completed"
    assert review(api, order_id, "good", "首页效果很棒").status == 201
    assert review(api, order_id, "neutral", user="provider-1").status == 201
    assert provider_standing() == (1, (1, 0, 0))
    assert buyer_profile(api)["ratings"] == {"good": 0, "neutral": 1, "bad": 0}
    order = api.get(f"/orders/{order_id}", user="provider-1").json
    assert order["reviewed_by_buyer"] and order["reviewed_by_provider"]


def test_the_whole_market_sees_a_buyers_review(api):
    catalog_support.approved_provider(api)
    service_id = catalog_support.listed(api)["id"]
    order_id = orders_support.place(api, service_id).json["id"]
    assert api.post(f"/orders/{order_id}/pay", user="buyer-1").status == 200
    assert api.post(f"/orders/{order_id}/accept", user="provider-1").status == 200
    assert orders_support.deliver(api, order_id).status == 200
    assert api.post(f"/orders/{order_id}/approve", user="buyer-1").status == 200
    assert review(api, order_id, "good").status == 201
    profile = api.get("/providers/provider-1").json
    assert profile["credit"] == 1
    assert profile["ratings"] == {"good": 1, "neutral": 0, "bad": 0}
    detail = api.get(f"/services/{service_id}").json
    assert (detail["rating"], detail["rating_count"]) == (1, 1)
    # The market's entries carry the rating: they were refreshed after the review.
    card = api.get("/services?sort=rating").json["items"][0]
    assert (card["id"], card["rating"], card["rating_count"]) == (service_id, 1, 1)


def test_a_second_review_by_the_same_side_is_refused_and_credit_moves_once(api):
    order_id = completed_order()
    assert review(api, order_id, "good").status == 201
    again = review(api, order_id, "bad", "改主意了")
    assert again.status == 409 and again.error_code == "REVIEW_NOT_ALLOWED"
    assert again.json["error"]["details"]["reason"] == "already_reviewed"
    assert provider_standing() == (1, (1, 0, 0))
    assert [r["rating"] for r in api.get(f"/orders/{order_id}/reviews",
                                         user="buyer-1").json["items"]] == ["good"]


def test_both_sides_review_once_and_both_reviews_are_listed(api):
    order_id = completed_order()
    assert review(api, order_id, "good", "专业高效").status == 201
    assert review(api, order_id, "neutral", "需求描述清楚", user="provider-1").status == 201
    for who in ({"user": "buyer-1"}, {"user": "provider-1"}, {"user": "op-1", "operator": True}):
        listed = api.get(f"/orders/{order_id}/reviews", **who)
        assert listed.status == 200
        assert [(r["author_role"], r["rating"], r["subject_id"])
                for r in listed.json["items"]] == [("buyer", "good", "provider-1"),
                                                   ("provider", "neutral", "buyer-1")]
        assert listed.json["next_cursor"] is None


def test_the_review_window_timer_ends_once_both_sides_have_reviewed(api):
    order_id = completed_order()
    review(api, order_id, "good")
    order = api.get(f"/orders/{order_id}", user="buyer-1").json
    assert order["reviewed_by_buyer"] is True and "review_until" in order["deadlines"]
    assert OrderModel.get(order_id).timer_pk == timer_partition(order_id)
    review(api, order_id, "good", user="provider-1")
    order = api.get(f"/orders/{order_id}", user="buyer-1").json
    assert order["reviewed_by_provider"] is True and order["deadlines"] == {}
    assert OrderModel.get(order_id, consistent_read=True).timer_pk is None


def test_strangers_cannot_see_or_review_an_order(api):
    order_id = completed_order()
    assert review(api, order_id, user="buyer-2").status == 404
    assert api.get(f"/orders/{order_id}/reviews", user="buyer-2").status == 404
    assert review(api, "ord_does_not_exist").status == 404
    assert review(api, "x" * 500).status == 404
    assert review(api, order_id, user=None).status == 401
    assert provider_standing() == (0, (0, 0, 0))


def test_an_operator_sees_the_order_but_may_not_review_it(api):
    order_id = completed_order()
    reply = review(api, order_id, user="op-1", operator=True)
    assert reply.status == 403 and reply.error_code == "FORBIDDEN"


@pytest.mark.parametrize("status", ["in_review", "disputed"])
def test_an_order_that_is_not_completed_cannot_be_reviewed(moto_api, status):
    reply = review(moto_api, completed_order(status=status))
    assert reply.status == 409 and reply.error_code == "REVIEW_NOT_ALLOWED"
    assert reply.json["error"]["details"] == {"reason": "not_completed", "status": status}
    assert provider_standing() == (0, (0, 0, 0))


def test_a_review_a_minute_before_the_window_closes_counts(api):
    order_id = completed_order(completed_at=clock.now() - timedelta(seconds=WINDOW - 60))
    assert review(api, order_id).status == 201
    assert provider_standing()[0] == 1


def test_a_review_a_second_after_the_window_closed_is_refused(api):
    order_id = completed_order(completed_at=clock.now() - timedelta(seconds=WINDOW + 1))
    reply = review(api, order_id, "bad")
    assert reply.status == 409 and reply.error_code == "REVIEW_NOT_ALLOWED"
    assert reply.json["error"]["details"]["reason"] == "window_closed"
    assert provider_standing() == (0, (0, 0, 0))


def test_moving_the_app_clock_past_15_days_closes_the_window(api):
    early, late = completed_order(), completed_order(buyer="buyer-2")
    assert api.post("/_local/clock", {"advance_seconds": WINDOW - 3600}).status == 200
    assert review(api, early).status == 201
    assert api.post("/_local/clock", {"advance_seconds": 3601}).status == 200
    reply = review(api, late, user="buyer-2")
    assert reply.status == 409 and reply.json["error"]["details"]["reason"] == "window_closed"
    # The provider's side of the first order is closed by then too.
    assert review(api, early, user="provider-1").status == 409


def test_the_review_body_is_validated(api):
    order_id = completed_order()
    bad_rating = review(api, order_id, "excellent")
    assert bad_rating.status == 422 and bad_rating.error_code == "VALIDATION_FAILED"
    too_long = review(api, order_id, "good", "好" * 501)
    assert too_long.status == 422
    assert provider_standing() == (0, (0, 0, 0))
    assert review(api, order_id, "good", "好" * 500).status == 201


def test_a_comment_is_optional(api):
    order_id = completed_order()
    reply = api.post(f"/orders/{order_id}/reviews", {"rating": "neutral"}, user="buyer-1")
    assert reply.status == 201 and reply.json["comment"] == ""


def test_a_replayed_review_changes_nothing(api):
    order_id = completed_order()
    first = review(api, order_id, headers={"Idempotency-Key": "review-1"})
    again = review(api, order_id, headers={"Idempotency-Key": "review-1"})
    assert first.status == again.status == 201
    assert again.headers.get("idempotent-replayed") == "true"
    assert provider_standing() == (1, (1, 0, 0))


def test_the_reviewed_party_is_notified_without_the_sealed_rating(api):
    order_id = completed_order()
    review(api, order_id, "bad")
    items = api.get("/me/notifications", user="provider-1").json["items"]
    assert [(n["kind"], n["order_id"]) for n in items] == [("reviewed", order_id)]
    assert "店铺装修" in items[0]["text"]
    assert not any(word in items[0]["text"] for word in ("好评", "中评", "差评"))
    assert api.get("/me/notifications", user="buyer-1").json["items"] == []
    review(api, order_id, "good", user="provider-1")
    told = api.get("/me/notifications", user="buyer-1").json["items"]
    assert len(told) == 1 and "公开" in told[0]["text"]


def test_a_review_after_the_service_was_deleted_still_moves_the_providers_credit(api):
    order_id = completed_order()
    ServiceModel(order_service_id(order_id)).delete()
    assert review(api, order_id, "good").status == 201
    assert provider_standing() == (1, (1, 0, 0))


def test_the_market_entries_of_the_service_are_refreshed(api):
    order_id = completed_order()  # its service is saved straight into storage, listed
    service_id = order_service_id(order_id)

    def card():
        items = api.get("/services?sort=rating").json["items"]
        return next((i for i in items if i["id"] == service_id), None)

    assert card()["rating_count"] == 0  # the services' stream indexed it
    review(api, order_id, "good")
    assert card()["rating_count"] == 1 and card()["rating"] is not None
    review(api, order_id, "good", user="provider-1")  # the buyer's credit: not the card's
    assert card()["rating_count"] == 1


def test_the_review_leaves_the_market_cards_to_the_services_stream(api):
    """The review's request writes no market entry (so an index in trouble cannot fail
    it); the card's rating moves when the stream's consumer applies the review."""
    order_id = completed_order()
    service_id = order_service_id(order_id)
    catch_up_market(api.client)
    api.market_catches_up = False

    def rating_count():
        items = api.get("/services?sort=rating").json["items"]
        return next(i for i in items if i["id"] == service_id)["rating_count"]

    assert review(api, order_id).status == 201
    assert provider_standing()[0] == 1
    assert rating_count() == 0  # committed, not yet applied to the index
    assert catch_up_market(api.client) >= 1
    assert rating_count() == 1


def test_credit_adds_up_over_several_orders(api):
    first = completed_order()
    second = completed_order(service_id=orders_support.listed_service())
    third = completed_order(buyer="buyer-2",
                            service_id=orders_support.listed_service(title="logo设计"))
    review(api, first, "good")
    review(api, second, "bad")
    review(api, third, "good", user="buyer-2")
    assert provider_standing() == (1, (2, 0, 1))


def test_a_review_that_keeps_conflicting_answers_409_conflict(moto_api, monkeypatch):
    def conflicting(*args, **kwargs):
        raise TransactWriteError("Transaction cancelled: TransactionConflict")

    monkeypatch.setattr(reviews, "_commit", conflicting)
    order_id = completed_order()
    reply = review(moto_api, order_id)
    assert reply.status == 409 and reply.error_code == "CONFLICT"
    assert moto_api.get("/me/notifications", user="provider-1").json["items"] == []


@pytest.mark.parametrize("aws", ["dynamodb_local"], indirect=True)
def test_concurrent_double_review_moves_credit_exactly_once(aws):
    order_id = completed_order()
    buyer = Caller("buyer-1")
    calls = [lambda r=r: reviews.submit_review(buyer, order_id, rating=r, comment="",
                                               now=clock.now())
             for r in ("good", "bad", "good", "bad")]
    results = race(*calls)
    won = [r for r in results if isinstance(r, dict)]
    lost = [r for r in results if not isinstance(r, dict)]
    assert len(won) == 1
    assert all(isinstance(e, ReviewNotAllowed) for e in lost), lost
    expected = 1 if won[0]["rating"] == "good" else -1
    assert provider_standing()[0] == expected
    assert service_rating(order_service_id(order_id))[1] == 1


@pytest.mark.parametrize("aws", ["dynamodb_local"], indirect=True)
def test_buyer_and_provider_reviewing_at_once_both_count(aws):
    order_id = completed_order()
    results = race(*[
        lambda: reviews.submit_review(Caller("buyer-1"), order_id, rating="good", comment="",
                                      now=clock.now()),
        lambda: reviews.submit_review(Caller("provider-1"), order_id, rating="bad",
                                      comment="", now=clock.now()),
    ])
    assert all(isinstance(r, dict) for r in results), results
    assert provider_standing()[0] == 1
    assert reviews.user_profile("buyer-1")["credit"] == -1
