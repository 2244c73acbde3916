"""The market's default order, `sort=best`: featured (小二推荐) first, then the quality
score (a Bayesian average of good reviews), ties newest first — read from one index,
within the read budget, paged by cursor."""
from datetime import timedelta

from chalicelib import clock, ids
from chalicelib.services import market, market_index
from chalicelib.storage.catalog import ServiceModel


def listed(title, *, good=0, neutral=0, bad=0, featured=False, category="logo-design"):
    """A listed service with these reviews, and its market entries."""
    clock.advance(1)  # listed one after the other: newest is well defined
    now = clock.to_key(clock.now())
    service = ServiceModel(ids.new_id("svc"), provider_id="provider-1", title=title,
                           category=category, summary="原创设计，源文件交付", content="内容",
                           pricing="fixed", price=50000, tags=[], status="listed",
                           created_at=now, updated_at=now, listed_at=now, featured=featured,
                           ratings_good=good, ratings_neutral=neutral, ratings_bad=bad,
                           rating_sum=good - bad, rating_count=good + neutral + bad)
    service.save()
    market_index.reindex_service(service.id)  # the backfill: moto-only tests read no stream
    return service.id


def market_ids(api, query=""):
    reply = api.get(f"/services{query}")
    assert reply.status == 200, reply
    return [s["id"] for s in reply.json["items"]], reply.json["next_cursor"]


def test_the_default_order_is_featured_then_quality_then_newest(api):
    only_bad = listed("只有差评", bad=2)
    older_unreviewed = listed("暂无评价（早）")
    one_good = listed("一个好评", good=1)
    many_good = listed("二十个好评", good=20, bad=1)
    featured = listed("小二推荐", bad=1, featured=True)
    newer_unreviewed = listed("暂无评价（新）")
    expected = [featured, many_good, one_good, newer_unreviewed, older_unreviewed, only_bad]
    assert market_ids(api)[0] == expected
    assert market_ids(api, "?sort=best")[0] == expected
    # Filters keep the order; `newest` is still there when asked for.
    assert market_ids(api, "?category=logo-design")[0] == expected
    assert market_ids(api, "?sort=newest")[0] == list(reversed(
        [only_bad, older_unreviewed, one_good, many_good, featured, newer_unreviewed]))


def test_the_best_order_pages_with_a_cursor(api):
    made = [listed(f"logo设计{i}", good=i) for i in range(5)]
    first, cursor = market_ids(api, "?limit=3")
    rest, end = market_ids(api, f"?limit=3&cursor={cursor}")
    assert first + rest == list(reversed(made)) and end is None


def test_a_new_review_moves_the_service_in_the_order(api):
    plain = listed("暂无评价")
    praised = listed("好评", good=3)
    assert market_ids(api)[0] == [praised, plain]
    ServiceModel(plain).update(actions=[ServiceModel.ratings_good.add(30)])  # via the stream
    assert market_ids(api)[0] == [plain, praised]


def test_best_reads_within_the_budget(moto_aws, monkeypatch):
    monkeypatch.setattr(market, "READ_BUDGET", 40)
    for i in range(60):
        listed(f"客服外包{i}", good=i % 7, category="customer-service")
    clock.advance(timedelta(days=1).total_seconds())
    page = market.search(category="logo-design", limit=20)  # nothing matches
    assert page.items == [] and page.scanned == 0
    page = market.search(provider_id="provider-1", category="logo-design", limit=20)
    assert page.items == [] and page.scanned <= 40 and page.last_key is not None
    first = market.search(limit=10)
    assert len(first.items) == 10 and first.scanned <= 20
