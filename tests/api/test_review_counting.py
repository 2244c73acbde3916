"""Honest counting (防刷信誉): the reviews between one buyer and one provider move the
reviewed party's credit by at most +6 and -6 a calendar month (Beijing time); a review
beyond a cap still shows, with `counted: false`; two reviews committing at once cannot
both pass the cap."""
from datetime import datetime, timedelta, timezone

import pytest
from chalice.test import Client

from chalicelib import clock
from chalicelib.domain.actors import Caller
from chalicelib.services import reviews
from tests.api.orders_support import listed_service
from tests.api.review_support import completed_order, provider, provider_standing
from tests.support import ApiClient, race

BUYER, PROVIDER = "buyer-1", "provider-1"
# 2027-01-20 10:00 Beijing: the rest of January is well inside the review window.
JANUARY = datetime(2027, 1, 20, 2, 0, tzinfo=timezone.utc)


def orders_of_pair(n, buyer=BUYER):
    service_id = listed_service(provider=PROVIDER)
    return [completed_order(buyer=buyer, service_id=service_id) for _ in range(n)]


def review(api, order_id, rating, user=BUYER):
    reply = api.post(f"/orders/{order_id}/reviews", {"rating": rating}, user=user)
    assert reply.status == 201, reply
    return reply.json


@pytest.fixture
def moto_api(moto_aws, chalice_app):
    """The rules, not the engine, vary: moto only."""
    with Client(chalice_app, stage_name="local") as client:
        yield ApiClient(client)


@pytest.fixture
def january():
    clock.set_now(JANUARY)
    provider(PROVIDER)
    yield
    clock.reset()


def test_the_seventh_good_review_of_a_pair_in_a_month_shows_but_does_not_count(api, january):
    order_ids = orders_of_pair(7)
    counted = [review(api, o, "good")["counted"] for o in order_ids]
    assert counted == [True] * 6 + [False]
    assert provider_standing() == (6, (7, 0, 0))  # credit capped; the review still given
    assert api.get(f"/providers/{PROVIDER}").json["credit_level"]["label"] == "1心"
    shown = api.get(f"/orders/{order_ids[-1]}/reviews", user=BUYER).json["items"]
    assert [(r["rating"], r["counted"]) for r in shown] == [("good", False)]


def test_the_two_caps_are_separate_and_other_pairs_are_not_touched(api, january):
    for order_id in orders_of_pair(6):
        review(api, order_id, "good")
    bad, good = orders_of_pair(2)
    assert review(api, bad, "bad")["counted"] is True  # the minus cap is untouched
    assert review(api, good, "good")["counted"] is False
    other = orders_of_pair(1, buyer="buyer-2")[0]
    assert review(api, other, "good", user="buyer-2")["counted"] is True
    assert provider_standing()[0] == 6 - 1 + 1


def test_bad_reviews_stop_at_minus_six_and_neutral_always_shows_as_counted(moto_api, january):
    flags = [review(moto_api, o, "bad")["counted"] for o in orders_of_pair(8)]
    assert flags == [True] * 6 + [False, False]
    assert review(moto_api, orders_of_pair(1)[0], "neutral")["counted"] is True
    assert provider_standing()[0] == -6


def test_a_new_beijing_month_opens_new_caps(moto_api, january):
    for order_id in orders_of_pair(6):
        review(moto_api, order_id, "good")
    # 2027-01-31 23:59 Beijing is still January; a minute later it is February.
    clock.set_now(datetime(2027, 1, 31, 15, 59, tzinfo=timezone.utc))
    assert review(moto_api, orders_of_pair(1)[0], "good")["counted"] is False
    clock.set_now(datetime(2027, 1, 31, 16, 0, tzinfo=timezone.utc))
    assert review(moto_api, orders_of_pair(1)[0], "good")["counted"] is True
    assert provider_standing()[0] == 7


def test_the_providers_reviews_of_the_buyer_are_capped_too(moto_api, january):
    flags = [review(moto_api, o, "good", user=PROVIDER)["counted"] for o in orders_of_pair(7)]
    assert flags == [True] * 6 + [False]
    assert moto_api.get(f"/users/{BUYER}").json["credit"] == 6
    assert provider_standing()[0] == 0


@pytest.mark.parametrize("aws", ["dynamodb_local"], indirect=True)
def test_reviews_of_a_pair_committing_at_once_cannot_both_pass_the_cap(aws):
    clock.set_now(JANUARY + timedelta(days=1))
    try:
        provider(PROVIDER)
        used = orders_of_pair(5)
        for order_id in used:
            reviews.submit_review(Caller(BUYER), order_id, rating="good", comment="",
                                  now=clock.now())
        racing = orders_of_pair(3)
        results = race(*[lambda o=o: reviews.submit_review(Caller(BUYER), o, rating="good",
                                                          comment="", now=clock.now())
                         for o in racing])
    finally:
        clock.reset()
    assert all(isinstance(r, dict) for r in results), results
    assert sorted(r["counted"] for r in results) == [False, False, True]
    assert provider_standing()[0] == 6
