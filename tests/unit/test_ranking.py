"""The market's default order as a key: featured first, then the Bayesian quality
score, ties newest first."""
import pytest

from chalicelib.domain import ranking


@pytest.mark.parametrize("reviews,score", [
    ((0, 0, 0), 0.9), ((1, 0, 0), 5.5 / 6), ((10, 0, 0), 14.5 / 15), ((0, 0, 1), 4.5 / 6),
    ((0, 2, 0), 5.5 / 7), ((3, 0, 2), 7.5 / 10)])
def test_the_score_is_the_bayesian_average_of_good_reviews(reviews, score):
    assert ranking.quality_score(*reviews) == pytest.approx(score)


def key(good=0, neutral=0, bad=0, featured=False, listed_at="2027-01-01T00:00:00.000000Z",
        service_id="svc_a"):
    return ranking.best_key(featured=featured, good=good, neutral=neutral, bad=bad,
                            listed_at=listed_at, service_id=service_id)


def test_the_order_the_contract_asks_for():
    best_first = [
        key(bad=3, featured=True),                          # featured before everything
        key(good=10),                                       # many good beat one good
        key(good=1),
        key(),                                              # no reviews
        key(listed_at="2026-12-01T00:00:00.000000Z"),       # tie: the newer first
        key(good=1, bad=1),
        key(bad=1),                                         # only bad: below no reviews
        key(bad=5),
    ]
    assert sorted(best_first, reverse=True) == best_first
