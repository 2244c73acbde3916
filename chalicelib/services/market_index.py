"""Keeping the market's search entries in line with the services, from the services
table's stream (storage/market.py explains the entries and each service's head item).

A listing, delisting, featuring or review commits its one transaction and returns; the
change reaches search when the consumer has applied its stream record (README says how
long that takes). The consumer is
- batched: a batch's records are grouped by service and each group is applied once, to
  the last image, deleting whatever the group's earlier images (and the head) say was
  written and the last image no longer wants;
- ordered per service: the head's `version` is a fence, moved by a conditional update
  before any entry is written: a group whose last version is older than the head's is a
  stale delivery (a replayed batch, a record overtaken by a newer one) and writes
  nothing. Every change a card shows moves the service's version (listing, delisting,
  featuring, reviews), so an older image can never overwrite a newer one;
- idempotent: applying the same version again writes the same entries. The head ADDs the
  new keys before the entries are written and drops stale keys only once they are
  deleted, so a retry after a crash in between still finds everything to delete.
Within a group, the stream's per-item order (one shard lineage per item, read in order by
Lambda and by the local reader) means one service is never applied twice at once.
Records that change nothing a card shows (an order moving `open_orders`) cost no call.
"""
from dataclasses import dataclass, field

from pynamodb.exceptions import DoesNotExist, UpdateError

from chalicelib.domain import catalog as rules
from chalicelib.domain import ranking
from chalicelib.domain.taxonomy import TAG_NAMES
from chalicelib.services.market import FEATURED
from chalicelib.storage.base import condition_failed
from chalicelib.storage.catalog import ServiceModel
from chalicelib.storage.market import (ALL, HEAD, MarketEntryModel, category_term, entry_key,
                                       head_term, newest_key, price_key, provider_term,
                                       query_term, rating_key, split_entry_key, tag_term)

# What a card shows or the entries are keyed on: a change to anything else (open_orders,
# capacity, the content of a listed service's page) leaves the entries as they are.
_CARD_FIELDS = ("status", "listed_at", "title", "summary", "tags", "category", "price",
                "pricing", "provider_id", "logo_key", "rating_sum", "rating_count",
                "ratings_good", "ratings_neutral", "ratings_bad", "trial_campaign_id",
                "featured")


def terms_of(service: ServiceModel) -> list[str]:
    """Every term a listed service is found under."""
    tag_names = [TAG_NAMES.get(t, t) for t in service.tags or []]
    text = "\n".join([service.title, service.summary, *tag_names])
    terms = {ALL, category_term(service.category), provider_term(service.provider_id)}
    terms.update(tag_term(t) for t in service.tags or [])
    terms.update(query_term(token) for token in rules.search_tokens(text))
    if service.featured:
        terms.add(FEATURED)
    return sorted(terms)


def entries_of(service: ServiceModel | None) -> list[MarketEntryModel]:
    """The entries a service has in the market: one per term while listed, else none."""
    if service is None or service.status != rules.LISTED or not service.listed_at:
        return []
    tag_names = [TAG_NAMES.get(t, t) for t in service.tags or []]
    search_text = rules.normalize_search("\n".join([service.title, service.summary, *tag_names]))
    rating_part = rules.rating_sort_key(service.rating_sum or 0, service.rating_count or 0)
    return [MarketEntryModel(
        term, newest_key(service.listed_at, service.id),
        sort_price=price_key(service.price, service.id),
        sort_rating=rating_key(rating_part, service.listed_at, service.id),
        sort_best=ranking.best_key(featured=bool(service.featured),
                                   good=int(service.ratings_good or 0),
                                   neutral=int(service.ratings_neutral or 0),
                                   bad=int(service.ratings_bad or 0),
                                   listed_at=service.listed_at, service_id=service.id),
        service_id=service.id, title=service.title, headline=rules.headline(service.summary),
        price=service.price, pricing=service.pricing, category=service.category,
        tags=list(service.tags or []), provider_id=service.provider_id,
        logo_key=service.logo_key, rating_sum=service.rating_sum or 0,
        rating_count=service.rating_count or 0, listed_at=service.listed_at,
        trial_campaign_id=service.trial_campaign_id, search_text=search_text,
        featured=bool(service.featured),
    ) for term in terms_of(service)]


def _keys_of(service: ServiceModel | None) -> set[str]:
    if service is None or service.status != rules.LISTED or not service.listed_at:
        return set()
    sort_key = newest_key(service.listed_at, service.id)
    return {entry_key(term, sort_key) for term in terms_of(service)}


def _card_state(service: ServiceModel | None):
    if service is None or service.status != rules.LISTED:
        return None
    return tuple(repr(getattr(service, name, None)) for name in _CARD_FIELDS)


@dataclass
class _Group:
    """One service's records of a batch, in stream order."""
    service_id: str
    images: list = field(default_factory=list)  # every old and new image, oldest first
    last: ServiceModel | None = None
    version: int = 0
    changes_cards: bool = False


def _image(raw: dict | None) -> ServiceModel | None:
    return ServiceModel.from_raw_data(raw) if raw else None


def apply_records(records: list[tuple[dict | None, dict | None]]) -> dict:
    """Apply a batch of the services stream's records, each (old image, new image) as
    DynamoDB's raw attribute maps, in stream order. Returns what it did."""
    groups: dict[str, _Group] = {}
    for old_raw, new_raw in records:
        old, new = _image(old_raw), _image(new_raw)
        service_id = (new or old).id
        group = groups.setdefault(service_id, _Group(service_id))
        group.images += [old, new]
        group.last = new
        # A deleted service (a draft or delisted one) fences every record before it.
        group.version = int(new.version or 0) if new else int(old.version or 0) + 1
        group.changes_cards |= _card_state(old) != _card_state(new)
    report = {"records": len(records), "services": len(groups), "applied": 0, "stale": 0,
              "unchanged": 0}
    for group in groups.values():
        if not group.changes_cards:
            report["unchanged"] += 1
            continue
        applied = apply_service(group.service_id, group.last, group.version,
                                earlier=group.images[:-1])
        report["applied" if applied else "stale"] += 1
    return report


def apply_service(service_id: str, service: ServiceModel | None, version: int,
                  earlier: list[ServiceModel | None] = ()) -> bool:
    """Make the service's entries those of `service` (None: deleted) at `version`; False
    when the head has already applied a newer version (then nothing is written).
    `earlier`: images of the service before it, whose entries may still be in place."""
    wanted = entries_of(service)
    wanted_keys = {entry_key(e.term, e.sort_newest) for e in wanted}
    E = MarketEntryModel
    actions = [E.version.set(version)]
    if wanted_keys:
        actions.append(E.entry_keys.add(wanted_keys))
    try:
        # The fence: equal versions pass (a redelivery writes the same again).
        answer = E._get_connection().update_item(
            head_term(service_id), HEAD, actions=actions,
            condition=E.version.does_not_exist() | (E.version <= version),
            return_values="ALL_OLD")
    except UpdateError as error:
        if condition_failed(error):
            return False
        raise
    remembered = set((answer.get("Attributes") or {}).get("entry_keys", {}).get("SS", []))
    stale = set().union(remembered, *(_keys_of(image) for image in earlier)) - wanted_keys
    with E.batch_write() as batch:
        for key in sorted(stale):
            batch.delete(E(*split_entry_key(key)))
        for entry in wanted:
            batch.save(entry)
    if stale & remembered:
        E(head_term(service_id), HEAD).update(actions=[E.entry_keys.delete(stale & remembered)])
    return True


def reindex_service(service_id: str, attempts: int = 3) -> bool:
    """Write a service's entries from the service as stored (a backfill: data written
    before its table had a stream, a batch the consumer gave up on, or services written
    straight into storage by a test or the bench). Safe beside the running consumer: if
    the head moved past what was written meanwhile, the entries are written again from
    the service as it is then."""
    for _ in range(attempts):
        try:
            service = ServiceModel.get(service_id, consistent_read=True)
        except DoesNotExist:
            return False
        version = int(service.version or 0)
        apply_service(service_id, service, version)
        head = MarketEntryModel.get(head_term(service_id), HEAD, consistent_read=True)
        if int(head.version or 0) <= version:
            return True
    return True
