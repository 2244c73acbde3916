"""The market: keeping each listed service's search entries and answering market
queries from them (storage/market.py explains the index)."""
from dataclasses import dataclass

from pynamodb.exceptions import DoesNotExist

from chalicelib import clock
from chalicelib.domain import catalog as catalog_rules
from chalicelib.domain import ranking
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.taxonomy import TAG_NAMES
from chalicelib.services import logos
from chalicelib.storage import base
from chalicelib.storage.base import bounded_query
from chalicelib.storage.catalog import ServiceModel
from chalicelib.storage.market import (ALL, MarketEntryModel, category_term, newest_key, price_key,
                                       provider_term, query_term, rating_key, tag_term)

SORTS = ("best", "newest", "rating", "price_asc", "price_desc")
DEFAULT_SORT = "best"
# Index entries one market request may read. A filter that matches little on a large
# partition (a provider's services of another category, a word found only beside an
# indexed one) stops here and answers what it found with a next_cursor, so no request's
# cost grows with the catalog: at most 2 calls of 100 items.
READ_BUDGET = base.READ_BUDGET
FILTERED_PAGE = 100
FEATURED = "FEATURED"


def terms_of(service: ServiceModel) -> list[str]:
    """Every term a listed service is found under."""
    tag_names = [TAG_NAMES.get(t, t) for t in service.tags or []]
    text = "\n".join([service.title, service.summary, *tag_names])
    terms = {ALL, category_term(service.category), provider_term(service.provider_id)}
    terms.update(tag_term(t) for t in service.tags or [])
    terms.update(query_term(token) for token in catalog_rules.search_tokens(text))
    if service.featured:
        terms.add(FEATURED)
    return sorted(terms)


def _entries(service: ServiceModel) -> list[MarketEntryModel]:
    tag_names = [TAG_NAMES.get(t, t) for t in service.tags or []]
    search_text = catalog_rules.normalize_search("\n".join([service.title, service.summary, *tag_names]))
    rating_part = catalog_rules.rating_sort_key(service.rating_sum or 0, service.rating_count or 0)
    return [MarketEntryModel(
        term, newest_key(service.listed_at, service.id),
        sort_price=price_key(service.price, service.id),
        sort_rating=rating_key(rating_part, service.listed_at, service.id),
        sort_best=ranking.best_key(featured=bool(service.featured),
                                   good=int(service.ratings_good or 0),
                                   neutral=int(service.ratings_neutral or 0),
                                   bad=int(service.ratings_bad or 0),
                                   listed_at=service.listed_at, service_id=service.id),
        service_id=service.id, title=service.title, headline=catalog_rules.headline(service.summary),
        price=service.price, pricing=service.pricing, category=service.category,
        tags=list(service.tags or []), provider_id=service.provider_id,
        logo_key=service.logo_key, rating_sum=service.rating_sum or 0,
        rating_count=service.rating_count or 0, listed_at=service.listed_at,
        trial_campaign_id=service.trial_campaign_id, search_text=search_text,
        featured=bool(service.featured),
    ) for term in terms_of(service)]


def remove_entries(service: ServiceModel) -> None:
    """Delete the entries a listing of `service` (as it was when listed) wrote."""
    if not service.listed_at:
        return
    sort_key = newest_key(service.listed_at, service.id)
    with MarketEntryModel.batch_write() as batch:
        for term in terms_of(service):
            batch.delete(MarketEntryModel(term, sort_key))


def remove_featured_entry(service: ServiceModel) -> None:
    """Take a service out of the featured list (its other entries stay)."""
    if service.listed_at:
        MarketEntryModel(FEATURED, newest_key(service.listed_at, service.id)).delete()


def refresh_market_entries(service_id: str, *, known: ServiceModel | None = None) -> None:
    """Bring a service's market entries in line with the service (after listing, or
    when a review moved its rating); a service that is not listed keeps none. `known`:
    the service as its caller has just committed it (spares the first read)."""
    service = known or _fresh(service_id)
    if service is None or service.status != catalog_rules.LISTED:
        return
    with MarketEntryModel.batch_write() as batch:
        for entry in _entries(service):
            batch.save(entry)
    # A delisting that committed while we wrote has already deleted what it saw; read
    # again so entries written after its delete do not outlive the listing.
    again = _fresh(service_id)
    if again is None or again.status != catalog_rules.LISTED or again.listed_at != service.listed_at:
        remove_entries(service)


def _fresh(service_id: str) -> ServiceModel | None:
    try:
        return ServiceModel.get(service_id, consistent_read=True)
    except DoesNotExist:
        return None


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
