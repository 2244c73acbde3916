"""Public user profiles: a buyer's credit as providers reviewed them."""
from tests.api.review_support import completed_order


def test_a_user_never_reviewed_has_zero_credit(api):
    reply = api.get("/users/buyer-9")
    assert reply.status == 200
    assert reply.json == {"id": "buyer-9", "credit": 0, "credit_level": None,
                          "ratings": {"good": 0, "neutral": 0, "bad": 0}}


def test_the_profile_is_public_and_shows_providers_reviews(api):
    first, second = completed_order(), completed_order(provider_id="provider-2")
    api.post(f"/orders/{first}/reviews", {"rating": "good", "comment": "付款爽快"},
             user="provider-1")
    api.post(f"/orders/{second}/reviews", {"rating": "good"}, user="provider-2")
    for who in ({}, {"user": "buyer-2"}, {"user": "buyer-1"}):
        assert api.get("/users/buyer-1", **who).json == {
            "id": "buyer-1", "credit": 2, "credit_level": None, "ratings": {"good": 2, "neutral": 0, "bad": 0}}


def test_a_buyers_own_reviews_of_providers_do_not_change_their_profile(api):
    order_id = completed_order()
    api.post(f"/orders/{order_id}/reviews", {"rating": "bad"}, user="buyer-1")
    assert api.get("/users/buyer-1").json["credit"] == 0
    assert api.get("/users/provider-1").json["credit"] == 0  # provider credit lives on /providers


def test_an_impossible_user_id_is_not_found(api):
    assert api.get("/users/" + "x" * 300).status == 404
