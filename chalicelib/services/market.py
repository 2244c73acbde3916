"""The market: answering market queries from the search entries (storage/market.py
explains the index; services/market_index.py keeps it, from the services' stream)."""
from dataclasses import dataclass

from chalicelib import clock
from chalicelib.domain import catalog as catalog_rules
from chalicelib.domain import ranking
from chalicelib.domain.errors import ValidationFailed
from chalicelib.services import logos
from chalicelib.storage import base
from chalicelib.storage.base import bounded_query
from chalicelib.storage.market import (ALL, MarketEntryModel, category_term, provider_term,
                                       query_term, tag_term)

SORTS, DEFAULT_SORT = ranking.SORTS, ranking.DEFAULT_SORT
# Index entries one market request may read. A filter that matches little on a large
# partition (a provider's services of another category, a word found only beside an
# indexed one) stops here and answers what it found with a next_cursor, so no request's
# cost grows with the catalog: at most 2 calls of 100 items.
READ_BUDGET = base.READ_BUDGET
FILTERED_PAGE = 100
FEATURED = "FEATURED"


@dataclass
class MarketPage:
    items: list[dict]
    last_key: dict | None
    scanned: int  # entries DynamoDB read to answer, for cost tests and the bench


def pick_term(q: str | None, category: str | None, tag: str | None,
              provider_id: str | None, featured: bool = False) -> str:
    """The most selective term the filters allow: the few featured services, a search
    token, then tag, provider, category, and ALL last. A `q` with no indexed word (a
    single Latin letter, only punctuation) is refused: it could only filter the whole
    market."""
    if featured:
        return FEATURED
    parts = catalog_rules.query_parts(q or "")
    for part in parts:
        token = catalog_rules.query_token(part)
        if token:
            return query_term(token)
    if parts:
        raise ValidationFailed(
            "q needs a word of two or more letters or digits, or a Chinese character",
            errors=[{"field": "q", "problem": "no searchable word"}])
    if tag:
        return tag_term(tag)
    if provider_id:
        return provider_term(provider_id)
    if category:
        return category_term(category)
    return ALL


def search(*, q: str | None = None, category: str | None = None, tag: str | None = None,
           provider_id: str | None = None, featured: bool = False, sort: str = DEFAULT_SORT,
           limit: int = 20, start_key: dict | None = None) -> MarketPage:
    """Listed services matching every filter, in the order asked."""
    term = pick_term(q, category, tag, provider_id, featured)
    condition = None
    filters = [MarketEntryModel.search_text.contains(p) for p in catalog_rules.query_parts(q or "")]
    if tag and term != tag_term(tag):
        filters.append(MarketEntryModel.tags.contains(tag))
    if provider_id and term != provider_term(provider_id):
        filters.append(MarketEntryModel.provider_id == provider_id)
    if category and term != category_term(category):
        filters.append(MarketEntryModel.category == category)
    for f in filters:
        condition = f if condition is None else condition & f
    target = {
        "best": MarketEntryModel.by_best,
        "newest": MarketEntryModel, "rating": MarketEntryModel.by_rating,
        "price_asc": MarketEntryModel.by_price, "price_desc": MarketEntryModel.by_price,
    }[sort]
    # Pages are read until `limit` matches, the end, or READ_BUDGET items read. The first
    # reads `limit` items (a search word's own partition mostly matches its filter); if
    # the filter left too few, the rest is read in big pages (entries are small), so the
    # budget takes at most three calls.
    found, last_key, read = bounded_query(
        MarketEntryModel, target, term, filter_condition=condition,
        scan_index_forward=(sort == "price_asc"), limit=limit, read_budget=READ_BUDGET,
        last_evaluated_key=start_key, page_size=limit, later_page_size=FILTERED_PAGE)
    return MarketPage([card(e) for e in found], last_key, read)


def card(entry: MarketEntryModel) -> dict:
    return {
        "id": entry.service_id, "provider_id": entry.provider_id, "title": entry.title,
        "headline": entry.headline, "category": entry.category, "tags": list(entry.tags or []),
        "pricing": entry.pricing, "price": int(entry.price), "currency": "CNY",
        "logo_url": logos.logo_url(entry.logo_key),
        "rating": catalog_rules.rating(entry.rating_sum, entry.rating_count),
        "rating_count": int(entry.rating_count or 0),
        "trial_campaign_id": entry.trial_campaign_id,
        "featured": bool(entry.featured),
        "listed_at": clock.key_to_iso(entry.listed_at),
    }
