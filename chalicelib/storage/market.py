"""The market's search index: one small entry per (search term, listed service).

Access patterns:
- listed services of a term, newest first ... market_index: term, sort_newest
- ... cheapest / dearest first .............. market_index.by_price (LSI): term, sort_price
- ... best rated first ...................... market_index.by_rating (LSI): term, sort_rating
- ... best first (the default: featured, then
  quality score, then newest) ................ market_index.by_best (GSI): term, sort_best
  (a GSI, not an LSI, so that a deployed table gains it in place; a market page may
  lag a write by a moment, as it already lags the catalog)
Terms: ALL, CAT#<category>, TAG#<tag>, PROV#<provider>, Q#<search token>, and FEATURED
(小二推荐: only the services operators featured, so that list reads nothing else).

A query reads only the partition of its most selective term, so what it costs follows
what it returns, not the size of the catalog. Each entry carries the card fields, so a
market page needs no read of the services table.
"""
from pynamodb.attributes import (BooleanAttribute, ListAttribute, NumberAttribute,
                                 UnicodeAttribute)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, LocalSecondaryIndex
from pynamodb.models import Model

from chalicelib.storage.base import table


class ByPrice(LocalSecondaryIndex):
    class Meta:
        index_name = "by_price"
        projection = AllProjection()

    term = UnicodeAttribute(hash_key=True)
    sort_price = UnicodeAttribute(range_key=True)


class ByRating(LocalSecondaryIndex):
    class Meta:
        index_name = "by_rating"
        projection = AllProjection()

    term = UnicodeAttribute(hash_key=True)
    sort_rating = UnicodeAttribute(range_key=True)


class ByBest(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_best"
        projection = AllProjection()

    term = UnicodeAttribute(hash_key=True)
    sort_best = UnicodeAttribute(range_key=True)


@table("market_index")
class MarketEntryModel(Model):
    class Meta:
        table_name = "market_index"

    term = UnicodeAttribute(hash_key=True)
    sort_newest = UnicodeAttribute(range_key=True)  # <listed_at key>#<service id>
    sort_price = UnicodeAttribute()  # <zero-padded price>#<service id>
    sort_rating = UnicodeAttribute()  # <rating key>#<listed_at key>#<service id>
    sort_best = UnicodeAttribute(null=True)  # domain.ranking.best_key
    service_id = UnicodeAttribute()
    title = UnicodeAttribute()
    headline = UnicodeAttribute()
    price = NumberAttribute()
    pricing = UnicodeAttribute()
    category = UnicodeAttribute()
    tags = ListAttribute(of=UnicodeAttribute, default=list)
    provider_id = UnicodeAttribute()
    logo_key = UnicodeAttribute(null=True)
    rating_sum = NumberAttribute(default=0)
    rating_count = NumberAttribute(default=0)
    listed_at = UnicodeAttribute()
    trial_campaign_id = UnicodeAttribute(null=True)
    search_text = UnicodeAttribute()  # NFKC, case-folded title, summary and tag names
    featured = BooleanAttribute(default=False)

    by_price = ByPrice()
    by_rating = ByRating()
    by_best = ByBest()


def newest_key(listed_at: str, service_id: str) -> str:
    return f"{listed_at}#{service_id}"


def price_key(price: int, service_id: str) -> str:
    return f"{int(price):012d}#{service_id}"


def rating_key(rating_part: str, listed_at: str, service_id: str) -> str:
    return f"{rating_part}#{listed_at}#{service_id}"


# --- terms: what an entry is found under --------------------------------------------
ALL = "ALL"


def category_term(category: str) -> str:
    return f"CAT#{category}"


def tag_term(tag: str) -> str:
    return f"TAG#{tag}"


def provider_term(provider_id: str) -> str:
    return f"PROV#{provider_id}"


def query_term(token: str) -> str:
    return f"Q#{token}"
