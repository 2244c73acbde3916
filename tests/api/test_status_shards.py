"""The operators' lists by status over write-sharded keys (storage.status_shards): through
GET /admin/orders and its signed cursor, every order is listed exactly once and in the
order the list always had (by updated_at, then id), with pages that cross shards and
orders that share one updated_at; and orders written before `status_shard` existed are
found once the backfill has keyed them."""
from datetime import timedelta

import pytest

from chalicelib import clock, ids, settings
from chalicelib.domain import orders as life
from chalicelib.storage import shards, status_shards
from chalicelib.storage.orders import OrderModel, ServiceSnapshot
from tests.api.orders_support import BUYER, OPERATOR, PROVIDER

AS_OPERATOR = {"user": OPERATOR, "operator": True}


@pytest.fixture
def four_shards(monkeypatch):
    monkeypatch.setenv("DUE_SHARDS", "4")
    monkeypatch.setenv("DUE_SHARDS_PREVIOUS", "1")
    settings.reload()
    yield
    monkeypatch.undo()
    settings.reload()


@pytest.fixture
def moto(aws):
    if aws != "moto":
        pytest.skip("key bookkeeping: moto is enough (one variant runs on DynamoDB Local)")


def put_orders(status: str, count: int, *, keyed: bool = True) -> list[OrderModel]:
    """`count` orders in `status`, three to each updated_at (ties the merge must keep),
    keyed as the writers key them now, or (keyed=False) as written before status_shard."""
    start = clock.now() - timedelta(days=1)
    made = []
    for n in range(count):
        order_id = ids.new_id("ord")
        at = clock.to_key(start + timedelta(minutes=n // 3))
        order = OrderModel(
            order_id, buyer_id=BUYER, provider_id=PROVIDER, service_id="svc_x",
            service=ServiceSnapshot(title="店铺首页装修", pricing="fixed", price=50000),
            requirement="双十一首页", due_at=at, amount=50000, status=status, version=1,
            status_shard=status_shards.status_key(status, order_id) if keyed else None,
            created_key=f"{at}#{order_id}", created_at=at, updated_at=at,
            buyer_status=f"{BUYER}#{status}", provider_status=f"{PROVIDER}#{status}")
        order.save()
        made.append(order)
    return made


def in_order(listed: list[str], orders: list[OrderModel], newest_first: bool) -> bool:
    """Every order listed exactly once, by updated_at (the list's order). Orders sharing one
    updated_at come in DynamoDB's order within a shard (moto: by id; DynamoDB Local: by
    its hash of the table key), as they did before sharding, so ties are not compared."""
    at = {o.id: o.updated_at for o in orders}
    times = [at[i] for i in listed]
    return (len(listed) == len(set(listed)) and set(listed) == set(at)
            and times == sorted(times, reverse=newest_first))


def pages(api, status: str, limit: int) -> list[list[str]]:
    """Every page of /admin/orders?status=…, following the signed cursor to the end."""
    out, cursor = [], None
    while True:
        query = f"?status={status}&limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        reply = api.get(f"/admin/orders{query}", **AS_OPERATOR)
        assert reply.status == 200, reply
        out.append([o["id"] for o in reply.json["items"]])
        cursor = reply.json["next_cursor"]
        if cursor is None:
            return out
        assert len(out) < 50, "the cursor never ends"


def test_the_dispute_queue_pages_across_shards_oldest_first_each_order_once(api, four_shards):
    """Also on DynamoDB Local: its ExclusiveStartKey on an index is the real one."""
    orders = put_orders(life.DISPUTED, 14)
    keys = {o.status_shard for o in orders}
    assert len(keys) >= 3 and all(k.startswith("disputed#") for k in keys)
    got = pages(api, life.DISPUTED, 3)
    assert in_order(sum(got, []), orders, newest_first=False)
    assert all(len(p) == 3 for p in got[:-1])
    by_id = {o.id: o.status_shard for o in orders}
    # Pages cross shards: most hold orders of more than one shard.
    assert sum(len({by_id[i] for i in p}) > 1 for p in got) >= 3


def test_other_statuses_page_newest_first(api, moto, four_shards):
    orders = put_orders(life.AWAITING_PROVIDER, 10)
    other = put_orders(life.COMPLETED, 2)
    for limit in (1, 4, 10, 11):
        got = pages(api, life.AWAITING_PROVIDER, limit)
        assert in_order(sum(got, []), orders, newest_first=True), limit
    assert in_order(sum(pages(api, life.COMPLETED, 5), []), other, newest_first=True)
    # A page that takes the last order of every shard says there is no more.
    only = pages(api, life.AWAITING_PROVIDER, 10)
    assert len(only) == 1 and in_order(only[0], orders, newest_first=True)


def test_a_cursor_bound_to_another_shard_layout_or_status_is_refused(api, moto, four_shards,
                                                                    monkeypatch):
    put_orders(life.DISPUTED, 9)
    first = api.get(f"/admin/orders?status={life.DISPUTED}&limit=4", **AS_OPERATOR).json
    assert first["next_cursor"]
    other = api.get(f"/admin/orders?status=resolved&limit=4&cursor={first['next_cursor']}",
                    **AS_OPERATOR)
    assert other.status == 400 and other.json["error"]["details"]["field"] == "cursor"
    # Sharding turned off (DUE_SHARDS=1 and 1 before): the shards the cursor names are no
    # longer read, so it is refused rather than silently skipping them.
    monkeypatch.setenv("DUE_SHARDS", "1")
    settings.reload()
    stale = api.get(f"/admin/orders?status={life.DISPUTED}&limit=4&cursor={first['next_cursor']}",
                    **AS_OPERATOR)
    assert stale.status == 400 and stale.json["error"]["details"]["field"] == "cursor"


def test_orders_written_before_status_shard_are_listed_once_backfilled(api, moto, four_shards):
    legacy = put_orders(life.DISPUTED, 5, keyed=False)
    current = put_orders(life.DISPUTED, 4)
    assert in_order(sum(pages(api, life.DISPUTED, 3), []), current, newest_first=False)
    done, start = status_shards.backfill(OrderModel, limit=2)
    total = done
    while start is not None:
        done, start = status_shards.backfill(OrderModel, limit=2, start_key=start)
        total += done
    assert total == 5  # only the unkeyed ones were written
    for order in legacy:
        fresh = OrderModel.get(order.id)
        assert fresh.status_shard == shards.key(life.DISPUTED, order.id) and fresh.version == 1
    assert in_order(sum(pages(api, life.DISPUTED, 3), []), legacy + current, newest_first=False)
    assert status_shards.backfill_all(OrderModel) == 0  # a second run changes nothing


def test_a_transition_writes_the_new_status_shard(api, moto, four_shards):
    from tests.api.orders_support import paid_order
    order_id = paid_order(api)
    order = OrderModel.get(order_id)
    assert order.status_shard == status_shards.status_key(order.status, order_id)
    assert order.status_shard.startswith(f"{life.AWAITING_PROVIDER}#")
