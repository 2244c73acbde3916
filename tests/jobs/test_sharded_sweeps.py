"""Sweeps over write-sharded due work (storage.shards), on moto: every due item in every
shard is found and handled once, pages cross shards, and items written under another
shard count (or before sharding, under the bare key) are still handled."""
from datetime import timedelta

import pytest

from chalicelib import clock, ids, settings
from chalicelib.domain import orders as life
from chalicelib.services import stuck
from chalicelib.storage import shards
from chalicelib.storage.catalog import ServiceModel
from chalicelib.storage.orders import TIMER_PK, OrderEventModel, OrderModel, ServiceSnapshot
from chalicelib.storage.sweeps import StuckItemModel
from tests.api.orders_support import BUYER, PROVIDER, listed_service
from tests.jobs.sweep_support import sweep


@pytest.fixture
def moto(aws):
    if aws != "moto":
        pytest.skip("shard bookkeeping, no races: moto is enough")
    return aws


@pytest.fixture
def layout(monkeypatch):
    """Switch the shard layout (DUE_SHARDS, DUE_SHARDS_PREVIOUS) and the sweep's page."""
    def use(now: int, previous: int, page: int = 100) -> None:
        monkeypatch.setenv("DUE_SHARDS", str(now))
        monkeypatch.setenv("DUE_SHARDS_PREVIOUS", str(previous))
        monkeypatch.setenv("SWEEP_PAGE_SIZE", str(page))
        settings.reload()

    yield use
    monkeypatch.undo()
    settings.reload()


def spread_ids(count: int, shard_count: int) -> list[str]:
    """`count` new order ids, as many in each due_timers shard (of the setting `shard_count`)."""
    keys = {shards.key(TIMER_PK, str(n), shard_count) for n in range(1000)}
    made: list[str] = []
    while len(made) < count:
        order_id = ids.new_id("ord")
        key = shards.key(TIMER_PK, order_id, shard_count)
        if sum(shards.key(TIMER_PK, o, shard_count) == key for o in made) < count // len(keys):
            made.append(order_id)
    return made


def unpaid_orders(service_id: str, count: int, *, shard_count: int,
                  order_ids: list[str] | None = None) -> list[str]:
    """`count` orders past their payment window, indexed as a writer using `shard_count`
    shards would have indexed them (1: the bare key written before sharding)."""
    placed = clock.now() - timedelta(hours=73)
    pay_by = placed + timedelta(seconds=settings.get().payment_window_seconds)
    at = clock.to_key(placed)
    made = []
    for n in range(count):
        order_id = order_ids[n] if order_ids else ids.new_id("ord")
        OrderModel(
            order_id, buyer_id=BUYER, provider_id=PROVIDER, service_id=service_id,
            service=ServiceSnapshot(title="店铺首页装修", pricing="fixed", price=50000),
            requirement="双十一首页", due_at=clock.to_key(placed + timedelta(days=10)),
            amount=50000, status=life.AWAITING_PAYMENT, version=1,
            created_key=f"{at}#{order_id}", created_at=at, updated_at=at,
            buyer_status=f"{BUYER}#{life.AWAITING_PAYMENT}",
            provider_status=f"{PROVIDER}#{life.AWAITING_PAYMENT}",
            timer_pk=shards.key(TIMER_PK, order_id, shard_count),
            timer_due=f"{clock.to_key(pay_by)}#{order_id}").save()
        made.append(order_id)
    ServiceModel(service_id).update(actions=[ServiceModel.open_orders.add(count)])
    return made


def closed_once(order_ids: list[str]) -> dict:
    """How many times each order's payment window was closed (its event log)."""
    return {o: sum(1 for e in OrderEventModel.query(o) if e.type == "payment_window_closed")
            for o in order_ids}


def test_the_sweep_closes_due_orders_in_every_shard_across_pages(api, moto, layout):
    layout(2, 2, page=3)  # the timers' 4 shards (2 x their weight)
    backlog = unpaid_orders(listed_service(), 16, shard_count=2, order_ids=spread_ids(16, 2))
    assert sorted(shards.key(TIMER_PK, o) for o in backlog) == sorted(
        [f"DUE#{i:02d}" for i in range(4)] * 4)
    summary = sweep(api)
    assert (summary["found"], summary["moved"], summary["failed"]) == (16, 16, 0)
    assert summary["pages"] >= 5  # pages of 3 items, crossing shard boundaries
    assert closed_once(backlog) == {o: 1 for o in backlog}
    assert sweep(api)["found"] == 0  # nothing left, nothing handled twice


@pytest.mark.parametrize("written_with, now, previous", [
    (1, 16, 1),   # written before sharding, read after the first deploy
    (16, 8, 16),  # the count lowered: the old shards 8..15 are still read
    (4, 16, 4),   # the count raised
])
def test_orders_indexed_under_another_shard_count_are_still_swept(api, moto, layout,
                                                                  written_with, now, previous):
    layout(written_with, written_with)
    service_id = listed_service()
    old = unpaid_orders(service_id, 6, shard_count=written_with)
    layout(now, previous, page=4)
    new = unpaid_orders(service_id, 6, shard_count=now)
    summary = sweep(api)
    assert (summary["found"], summary["moved"]) == (12, 12)
    assert closed_once(old + new) == {o: 1 for o in old + new}


def test_once_the_previous_layout_is_dropped_its_keys_are_not_read(api, moto, layout):
    # Why DUE_SHARDS_PREVIOUS must stay until the retired keys are empty (docs/scale.md).
    layout(1, 1)
    service_id = listed_service()
    old = unpaid_orders(service_id, 2, shard_count=1)
    layout(16, 16)
    assert sweep(api)["found"] == 0
    layout(16, 1)
    assert sweep(api)["found"] == 2
    assert closed_once(old) == {o: 1 for o in old}


def test_stuck_records_are_listed_and_cleared_across_shard_counts(api, moto, layout):
    now = clock.now()
    layout(1, 1)
    stuck.record_failure("sweep_timeouts", "ord_before", "boom", now)
    layout(8, 1)
    for n in range(10):
        stuck.record_failure("release_escrow", f"ins_{n}", "gateway down", now)
    listed, cursor, pages = [], None, 0
    while True:
        page, cursor = stuck.list_stuck(limit=3, start_key=cursor)
        listed += [(r["job"], r["id"]) for r in page]
        pages += 1
        if cursor is None:
            break
    assert sorted(listed) == sorted([("sweep_timeouts", "ord_before")]
                                    + [("release_escrow", f"ins_{n}") for n in range(10)])
    assert pages >= 4
    stuck.clear("sweep_timeouts", "ord_before")  # written under the bare key: found there
    for n in range(10):
        stuck.clear("release_escrow", f"ins_{n}")
    assert list(StuckItemModel.scan()) == []


def test_gauges_read_the_oldest_due_item_over_every_shard(api, moto, layout):
    from chalicelib.services import sweep_health

    layout(8, 8)
    old = unpaid_orders(listed_service(), 5, shard_count=8)
    earliest = min(OrderModel.get(o).timer_due for o in old)
    now = clock.now()  # once: a busy machine moves the real clock between two reads
    gauges = sweep_health.gauges("sweep_timeouts", now, now)
    due = clock.from_key(earliest.split("#", 1)[0])
    assert gauges["OldestDueAgeSeconds"] == round((now - due).total_seconds(), 1)
