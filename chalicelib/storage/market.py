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

The entries are written only by the stream consumer (services.market_index), never in a
request. Beside each service's entries it keeps one head item, SEQ#<service id> / HEAD:
the service version it last applied (`version`, the fence an older stream record cannot
pass) and the keys of the entries it wrote (`entry_keys`), so what a change leaves behind
is deleted even when the record that wrote it is long gone. A head item has no sort_price,
sort_rating or sort_best, so no index of this table holds it.
"""
from pynamodb.attributes import (BooleanAttribute, ListAttribute, NumberAttribute,
                                 UnicodeAttribute, UnicodeSetAttribute)
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
    # Null only on a service's head item (see above); every entry has both.
    sort_price = UnicodeAttribute(null=True)  # <zero-padded price>#<service id>
    sort_rating = UnicodeAttribute(null=True)  # <rating key>#<listed_at key>#<service id>
    sort_best = UnicodeAttribute(null=True)  # domain.ranking.best_key
    service_id = UnicodeAttribute(null=True)
    title = UnicodeAttribute(null=True)
    headline = UnicodeAttribute(null=True)
    price = NumberAttribute(null=True)
    pricing = UnicodeAttribute(null=True)
    category = UnicodeAttribute(null=True)
    tags = ListAttribute(of=UnicodeAttribute, default=list)
    provider_id = UnicodeAttribute(null=True)
    logo_key = UnicodeAttribute(null=True)
    rating_sum = NumberAttribute(default=0)
    rating_count = NumberAttribute(default=0)
    listed_at = UnicodeAttribute(null=True)
    trial_campaign_id = UnicodeAttribute(null=True)
    search_text = UnicodeAttribute(null=True)  # NFKC, case-folded title, summary and tag names
    featured = BooleanAttribute(default=False)
    # The head item's (see above).
    version = NumberAttribute(null=True)
    entry_keys = UnicodeSetAttribute(null=True)  # entry_key() of each entry written

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


# --- the consumer's head item of a service ------------------------------------------
HEAD = "HEAD"
_KEY_SEPARATOR = "\t"  # in no term (search tokens are letters, digits and CJK) or sort key


def head_term(service_id: str) -> str:
    return f"SEQ#{service_id}"


def entry_key(term: str, sort_newest: str) -> str:
    return f"{term}{_KEY_SEPARATOR}{sort_newest}"


def split_entry_key(key: str) -> tuple[str, str]:
    term, _, sort_newest = key.partition(_KEY_SEPARATOR)
    return term, sort_newest
