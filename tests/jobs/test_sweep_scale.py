"""The sweep at scale, on DynamoDB Local (moto slows down sharply with big tables):
a backlog of 2,000 due orders drains over several bounded runs with every order handled
exactly once, and with 3,000 orders in the table the sweep reads only the due ones."""
from datetime import timedelta

import pytest
from botocore import handlers

from chalicelib import clock, ids, settings
from chalicelib.domain import orders as life
from chalicelib.storage import base
from chalicelib.storage.catalog import ServiceModel
from chalicelib.storage import shards
from chalicelib.storage.orders import (TIMER_PK, OrderEventModel, OrderModel, ServiceSnapshot,
                                       timer_partition)
from tests.api.orders_support import BUYER, PROVIDER, listed_service
from tests.jobs.sweep_support import sweep
from tests.support import fresh_sandbox


@pytest.fixture
def ddb(aws):
    if aws == "moto":
        pytest.skip("thousands of items: DynamoDB Local only")
    fresh_sandbox()
    return aws


def unpaid_orders(service_id: str, count: int, *, placed_hours_ago: float) -> list[str]:
    """`count` awaiting_payment orders written straight into the table (batch)."""
    placed = clock.now() - timedelta(hours=placed_hours_ago)
    pay_by = placed + timedelta(seconds=settings.get().payment_window_seconds)
    at = clock.to_key(placed)
    made = []
    with OrderModel.batch_write() as batch:
        for _ in range(count):
            order_id = ids.new_id("ord")
            batch.save(OrderModel(
                order_id, buyer_id=BUYER, provider_id=PROVIDER, service_id=service_id,
                service=ServiceSnapshot(title="店铺首页装修", pricing="fixed", price=50000),
                requirement="双十一首页", due_at=clock.to_key(placed + timedelta(days=10)),
                amount=50000, status=life.AWAITING_PAYMENT, version=1, created_key=f"{at}#{order_id}",
                created_at=at, updated_at=at, buyer_status=f"{BUYER}#{life.AWAITING_PAYMENT}",
                provider_status=f"{PROVIDER}#{life.AWAITING_PAYMENT}",
                timer_pk=timer_partition(order_id),
                timer_due=f"{clock.to_key(pay_by)}#{order_id}"))
            made.append(order_id)
    return made


def closed_orders(service_id: str, count: int) -> None:
    """Orders with no pending timer: not in the due_timers index at all."""
    at = clock.to_key(clock.now())
    with OrderModel.batch_write() as batch:
        for _ in range(count):
            order_id = ids.new_id("ord")
            batch.save(OrderModel(
                order_id, buyer_id=BUYER, provider_id=PROVIDER, service_id=service_id,
                service=ServiceSnapshot(title="客服外包", pricing="fixed", price=50000),
                requirement="售前客服", due_at=at, amount=50000, status=life.CANCELLED,
                version=2, created_key=f"{at}#{order_id}", created_at=at, updated_at=at,
                buyer_status=f"{BUYER}#{life.CANCELLED}",
                provider_status=f"{PROVIDER}#{life.CANCELLED}"))


def open_orders(service_id: str, count: int) -> None:
    ServiceModel(service_id).update(actions=[ServiceModel.open_orders.set(count)])


@pytest.fixture
def small_runs(monkeypatch):
    monkeypatch.setenv("SWEEP_BUDGET_SECONDS", "3")
    monkeypatch.setenv("SWEEP_PAGE_SIZE", "50")
    settings.reload()


def test_a_backlog_of_2000_due_orders_drains_over_bounded_runs_exactly_once(api, ddb,
                                                                           small_runs):
    service_id = listed_service()
    backlog = unpaid_orders(service_id, 2000, placed_hours_ago=73)
    open_orders(service_id, 2000)
    runs = []
    while not runs or runs[-1]["found"]:
        runs.append(sweep(api))
        assert len(runs) < 200, runs[-1]
    assert len(runs) > 2  # bounded: no single run took it all
    assert any(r["more"] for r in runs)
    assert sum(r["moved"] for r in runs) == 2000
    assert sum(r["failed"] for r in runs) == 0
    statuses = {}
    for order in OrderModel.batch_get(backlog):
        statuses.setdefault((order.status, int(order.version), order.timer_pk), 0)
        statuses[(order.status, int(order.version), order.timer_pk)] += 1
    assert statuses == {("cancelled", 2, None): 2000}
    closings = sum(1 for order_id in backlog
                   for e in OrderEventModel.query(order_id) if e.type == "payment_window_closed")
    assert closings == 2000
    # Each closing gave the service its slot back exactly once.
    assert int(ServiceModel.get(service_id, consistent_read=True).open_orders) == 0


@pytest.fixture
def index_reads():
    """Items DynamoDB examined in Query calls on the due_timers index (a botocore hook)."""
    counted = {"items": 0, "calls": 0}

    def note_index(params, context, **_):
        context["sweep_index"] = params.get("IndexName")

    def count(parsed, context, **_):
        if context.get("sweep_index") == OrderModel.due_timers.Meta.index_name:
            counted["calls"] += 1
            counted["items"] += int(parsed.get("ScannedCount", 0))

    hooks = [("before-parameter-build.dynamodb.Query", note_index),
             ("after-call.dynamodb.Query", count)]
    # botocore copies these into every session it makes; PynamoDB makes its own, so the
    # connections are dropped to pick the hooks up.
    handlers.BUILTIN_HANDLERS.extend(hooks)
    base.configure()
    yield counted
    for hook in hooks:
        handlers.BUILTIN_HANDLERS.remove(hook)
    base.configure()


def test_the_sweep_reads_the_due_orders_not_the_table(api, ddb, index_reads):
    service_id = listed_service()
    due = unpaid_orders(service_id, 7, placed_hours_ago=73)
    later = unpaid_orders(service_id, 1500, placed_hours_ago=1)  # in the index, due in 71 h
    closed_orders(service_id, 1493)  # no timer at all
    open_orders(service_id, 1507)
    summary = sweep(api)
    assert (summary["found"], summary["moved"]) == (7, 7)
    assert len(due) == summary["read"]
    # Plus, after the run, the first key of each shard holding any order: the oldest due
    # item's, for its gauge (sweep_health). One query per key read, for each.
    holding = {timer_partition(o) for o in later}
    assert index_reads["items"] == len(due) + len(holding)
    assert index_reads["calls"] == 2 * len(shards.read_keys(TIMER_PK))
    assert all(api.get(f"/orders/{o}", user=BUYER).json["status"] == "cancelled" for o in due)


# --- the runner's bounds, without AWS -------------------------------------------
def fake_index(items):
    """A runner `fetch` serving `items` in pages, the offset as the start key."""

    def fetch(limit, start):
        offset = start or 0
        chunk = items[offset:offset + limit]
        return chunk, (offset + limit if offset + limit < len(items) else None), len(chunk)

    return fetch


def test_a_run_pages_through_the_index_and_isolates_a_poisoned_item():
    from chalicelib.jobs import runner

    fetch = fake_index([f"订单{n}" for n in range(7)])
    failures = []

    def handle(item):
        if item == "订单4":
            raise ValueError("坏数据")
        return "moved" if item != "订单6" else "skipped"

    summary = runner.drain("test", fetch=fetch, handle=handle,
                           on_failure=lambda item, e: failures.append((item, str(e))),
                           budget_seconds=60, page_size=3)
    assert (summary.found, summary.moved, summary.skipped, summary.failed) == (7, 5, 1, 1)
    assert (summary.pages, summary.read, summary.more) == (3, 7, False)
    assert failures == [("订单4", "坏数据")]


def test_a_spent_budget_leaves_the_rest_for_the_next_run():
    from chalicelib.jobs import runner

    fetch = fake_index(["订单1", "订单2"])
    summary = runner.drain("test", fetch=fetch, handle=lambda item: "moved",
                           on_failure=lambda item, e: None, budget_seconds=0, page_size=10)
    assert (summary.found, summary.moved, summary.more) == (0, 0, True)
