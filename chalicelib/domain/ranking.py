"""The market's default order (`sort=best`): featured first, then a quality score, ties
newest first — as one string key that sorts that way, so the order is an index's.

The quality score is a Bayesian average of the share of good reviews:

    score = (good + ½·neutral + C·m) / (n + C),   n = good + neutral + bad

with PRIOR_WEIGHT C = 5 imagined reviews at PRIOR_SHARE m = 0.9 good (about what a
service's reviews look like here). A service with no reviews scores m; one good review
lifts it a little (0.917) and many lift it further (ten: 0.967); a bad review pulls it
below the unreviewed (one bad: 0.75), so many good reviews beat one, and a service with
no reviews ranks above one with only bad ones.
"""
# The market's orders (GET /services?sort=), best by default.
SORTS = ("best", "newest", "rating", "price_asc", "price_desc")
DEFAULT_SORT = "best"

PRIOR_WEIGHT = 5
PRIOR_SHARE = 0.9
SCALE = 1_000_000  # the score's digits in the key


def quality_score(good: int, neutral: int, bad: int) -> float:
    """The Bayesian average share of good reviews (neutral counts half), 0..1."""
    n = good + neutral + bad
    return (good + 0.5 * neutral + PRIOR_WEIGHT * PRIOR_SHARE) / (n + PRIOR_WEIGHT)


def best_key(*, featured: bool, good: int, neutral: int, bad: int, listed_at: str,
             service_id: str) -> str:
    """A key that sorts, descending, featured first, then by score, then newest."""
    score = round(quality_score(good, neutral, bad) * SCALE)
    return f"{1 if featured else 0}#{score:07d}#{listed_at}#{service_id}"
