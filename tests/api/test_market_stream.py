"""The market index follows the services from the services table's stream (issue 29): a
change commits in its request and shows in search once the consumer (`index_market`) has
applied its record — on moto and on DynamoDB Local, read through the streams API as the
dev server reads it. The consumer is ordered per service (an older record never
overwrites a newer one), idempotent (a redelivered batch changes nothing) and batched."""
import pytest

from chalicelib import clock
from chalicelib.jobs import index_market
from chalicelib.local.stream_reader import services_reader
from chalicelib.services import market_index
from chalicelib.storage.catalog import ServiceModel
from chalicelib.storage.market import HEAD, MarketEntryModel, head_term
from tests.api.catalog_support import OPERATOR, PROVIDER, approved_provider, listed
from tests.support import catch_up_market


@pytest.fixture
def lagging(api):
    """The API client without the market catching up before each read: what a buyer
    sees between a commit and the consumer's run."""
    api.market_catches_up = False
    return api


def market_ids(api, query="") -> list[str]:
    reply = api.get(f"/services{query}")
    assert reply.status == 200, reply
    return [card["id"] for card in reply.json["items"]]


def entries(service_id: str) -> list[MarketEntryModel]:
    return [e for e in MarketEntryModel.scan(MarketEntryModel.service_id == service_id)]


def apply(api, events) -> list[dict]:
    return [api.client.lambda_.invoke(index_market.NAME, e).payload for e in events]


def test_a_listing_shows_in_search_once_the_stream_is_applied(lagging):
    approved_provider(lagging)
    catch_up_market(lagging.client)
    service = listed(lagging, title="旗舰店铺装修")
    assert market_ids(lagging, "?q=装修") == []  # committed; the index is eventual
    assert entries(service["id"]) == []
    assert catch_up_market(lagging.client) >= 1
    assert market_ids(lagging, "?q=装修") == [service["id"]]
    assert lagging.post(f"/services/{service['id']}/delist", user=PROVIDER).status == 200
    assert market_ids(lagging, "?q=装修") == [service["id"]]  # not yet applied
    catch_up_market(lagging.client)
    assert market_ids(lagging, "?q=装修") == [] and entries(service["id"]) == []


def test_an_older_record_never_overwrites_a_newer_one(lagging):
    approved_provider(lagging)
    service = listed(lagging)
    listing = services_reader().read()
    assert lagging.post(f"/services/{service['id']}/delist", user=PROVIDER).status == 200
    delisting = services_reader().read()
    apply(lagging, delisting)
    # The listing's batch delivered late (a retry, a replay): fenced off by the version.
    [report] = apply(lagging, listing)
    assert report["stale"] == 1 and report["applied"] == 0
    assert entries(service["id"]) == [] and market_ids(lagging) == []
    head = MarketEntryModel.get(head_term(service["id"]), HEAD)
    assert head.version == ServiceModel.get(service["id"]).version  # the delisting's


def test_a_redelivered_batch_changes_nothing(lagging):
    approved_provider(lagging)
    service = listed(lagging)
    events = services_reader().read()
    apply(lagging, events)
    written = sorted((e.term, e.sort_newest) for e in entries(service["id"]))
    assert written and ("ALL", written[0][1]) in written
    apply(lagging, events)  # Lambda retries a batch after a timeout: the same again
    assert sorted((e.term, e.sort_newest) for e in entries(service["id"])) == written
    assert market_ids(lagging) == [service["id"]]


def test_a_batch_applies_each_service_once_and_skips_what_no_card_shows(lagging):
    approved_provider(lagging)
    service = listed(lagging)
    sid = service["id"]
    feature = lagging.post(f"/admin/services/{sid}/feature", user=OPERATOR, operator=True)
    assert feature.status == 200
    events = services_reader().read()
    [report] = apply(lagging, events)  # draft, logo, listing, featuring: one service
    assert report["services"] == 1 and report["applied"] == 1 and report["records"] >= 4
    assert market_ids(lagging, "?featured=true") == [sid]
    # An order's open_orders count moves the service, not its card: no index write.
    ServiceModel(sid).update(actions=[ServiceModel.open_orders.add(1)])
    [report] = apply(lagging, services_reader().read())
    assert report == {"records": 1, "services": 1, "applied": 0, "stale": 0, "unchanged": 1}
    assert lagging.post(f"/admin/services/{sid}/unfeature", user=OPERATOR,
                        operator=True).status == 200
    catch_up_market(lagging.client)
    assert market_ids(lagging, "?featured=true") == []
    assert [c["featured"] for c in lagging.get("/services").json["items"]] == [False]


def test_a_crash_between_the_fence_and_the_entries_is_finished_by_the_retry(lagging,
                                                                            monkeypatch):
    """Relisted at another time, a service's entries all change key. If the consumer dies
    after moving the head but before the entries, Lambda's retry of the batch still
    deletes every entry of the old listing (the head kept its keys)."""
    approved_provider(lagging)
    service = listed(lagging)
    sid = service["id"]
    catch_up_market(lagging.client)
    first = {e.sort_newest for e in entries(sid)}
    assert lagging.post(f"/services/{sid}/delist", user=PROVIDER).status == 200
    clock.advance(60)
    assert lagging.post(f"/services/{sid}/list", user=PROVIDER).status == 200
    events = services_reader().read()
    real_batch_write = MarketEntryModel.batch_write

    def dying(*args, **kwargs):
        raise RuntimeError("the function timed out")

    monkeypatch.setattr(MarketEntryModel, "batch_write", dying)
    with pytest.raises(RuntimeError):
        apply(lagging, events)
    monkeypatch.setattr(MarketEntryModel, "batch_write", real_batch_write)
    # The retry carries only the relisting's records (its batch was split, as Lambda's
    # bisect does): the old listing's keys come from the head alone.
    apply(lagging, [{"Records": events[0]["Records"][-1:]}])
    now = {e.sort_newest for e in entries(sid)}
    assert len(now) == 1 and now.isdisjoint(first)
    head = MarketEntryModel.get(head_term(sid), HEAD)
    assert {k.split("\t")[1] for k in head.entry_keys} == now


def test_the_backfill_writes_what_the_consumer_would(lagging):
    approved_provider(lagging)
    service = listed(lagging)
    assert market_index.reindex_service(service["id"]) is True
    by_backfill = sorted((e.term, e.title) for e in entries(service["id"]))
    catch_up_market(lagging.client)
    assert sorted((e.term, e.title) for e in entries(service["id"])) == by_backfill
    assert market_index.reindex_service("svc-none") is False
