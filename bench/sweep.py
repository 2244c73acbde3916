"""Sweep cost on DynamoDB Local (moto slows down sharply with big tables):

- against table size: items `sweep_timeouts` reads with 100 due orders in tables of 1,000
  and 50,000 orders; the target is a ratio of about 1;
- against due work, per shard layout: 100 vs 10,000 due orders in one table of the same
  size, with the default DUE_SHARDS and with DUE_SHARDS=1 (one bare key, as before
  sharding); items read should grow with the due orders (about 100×), the same in both
  layouts: reading every shard costs a query per shard, not a pass over the table.

Two real orders are placed through the API — one four days ago (its payment window has
passed: due, and the sweep cancels it), one now (its timers are days away) — and cloned under fresh ids until the
table holds the wanted number, 100 of them due.
"""
import os
import time
from contextlib import contextmanager

from bench import bulk, counters, env, scenario
from chalicelib import clock, ids, settings

DUE = 100
# The sweep must see all the due work in one run: the measure is what handling it costs,
# not where the production budget (SWEEP_BUDGET_SECONDS) would cut a run short.
UNBOUNDED = {"SWEEP_BUDGET_SECONDS": "7200"}


@contextmanager
def layout(shards: int | None):
    """The app's settings with DUE_SHARDS = `shards` (None: the default) for one block."""
    wanted = {**UNBOUNDED, **({"DUE_SHARDS": str(shards)} if shards else {})}
    before = {name: os.environ.get(name) for name in (*wanted, "DUE_SHARDS")}
    os.environ.pop("DUE_SHARDS", None)
    os.environ.update(wanted)
    settings.reload()
    try:
        yield settings.get().due_shards
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        settings.reload()


def _cloned(item: dict, old: str, new: str) -> dict:
    """A clone keyed as the app would have written it: its timer entry under its own
    id's shard, not the original's (storage.shards)."""
    from chalicelib.storage import shards

    copy = bulk.clone(item, old, new)
    if "timer_pk" in copy:
        copy["timer_pk"] = {"S": shards.key("DUE", new)}
    return copy


def _api():
    from chalice.test import Client

    from app import app
    from tests.support import ApiClient

    return Client(app, stage_name="local"), ApiClient


def _job_runner(client, api):
    from app import app

    if "sweep_timeouts" in {getattr(s, "name", None) for s in getattr(app, "event_sources", [])}:
        return lambda: api.invoke("sweep_timeouts")
    from chalicelib.jobs import load_all, registry

    load_all()
    return registry.JOBS.get("sweep_timeouts")


def _order_item(order_id: str) -> dict:
    items = [i for i in bulk.items_mentioning(bulk.table_name("orders"), order_id)
             if i.get("id", {}).get("S") == order_id]
    if not items:
        raise RuntimeError(f"order {order_id} is not in the orders table")
    return items[0]


def _count_status(buyer: str, status: str) -> int:
    answer = bulk.client().query(
        TableName=bulk.table_name("orders"), IndexName="by_buyer_status", Select="COUNT",
        KeyConditionExpression="buyer_status = :k",
        ExpressionAttributeValues={":k": {"S": f"{buyer}#{status}"}})
    total = answer["Count"]
    while "LastEvaluatedKey" in answer:
        answer = bulk.client().query(
            TableName=bulk.table_name("orders"), IndexName="by_buyer_status", Select="COUNT",
            KeyConditionExpression="buyer_status = :k", ExclusiveStartKey=answer["LastEvaluatedKey"],
            ExpressionAttributeValues={":k": {"S": f"{buyer}#{status}"}})
        total += answer["Count"]
    return total


def one_size(engines: dict, size: int, due: int = DUE, shards: int | None = None) -> dict:
    with layout(shards) as shard_setting:
        out = _one_size(engines, size, due, f"benchsw{size}-{due}-{shards or 'd'}-")
    if "items_read" in out:
        out["due_shards"] = shard_setting
    return out


def _one_size(engines: dict, size: int, due: int, prefix: str) -> dict:
    clock.reset()
    env.point_at(engines["dynamodb"], engines["s3"], prefix)
    env.fresh_tables()
    client, api_cls = _api()
    with client:
        api = api_cls(client)
        run_sweep = _job_runner(client, api)
        if run_sweep is None:
            return {"pending": "sweep_timeouts is not registered yet"}
        ctx = scenario.seed_catalog(api)
        if "service" not in ctx:
            return {"pending": f"could not list a service: {ctx['skipped']}"}
        clock.advance(-4 * 24 * 3600)
        try:
            due_id = scenario.place_order(api, ctx["service"])
        except scenario.StepFailed as why:
            return {"pending": f"could not place an order: {why}"}
        finally:
            clock.reset()
        fresh_id = scenario.place_order(api, ctx["service"])
        due_item, fresh_item = _order_item(due_id), _order_item(fresh_id)
        id_prefix = due_id.split("_", 1)[0]
        started = time.perf_counter()
        bulk.put_all(bulk.table_name("orders"), (
            _cloned(due_item if n < due - 1 else fresh_item,
                    due_id if n < due - 1 else fresh_id, ids.new_id(id_prefix))
            for n in range(size - 2)))
        fill_s = time.perf_counter() - started
        # Every clone counts as an open order of the service: closing them decrements it.
        bulk.client().update_item(
            TableName=bulk.table_name("services"), Key={"id": {"S": ctx["service"]}},
            UpdateExpression="ADD open_orders :n",
            ExpressionAttributeValues={":n": {"N": str(size)}})
        with counters.measure() as tally:
            started = time.perf_counter()
            run_sweep()
            elapsed = time.perf_counter() - started
        # The cancelled partition holds only what the sweep closed: cheap to count at any size.
        handled = _count_status(scenario.BUYER, "cancelled")
    return {"size": size, "due": due, "items_read": tally.items_read, "calls": tally.total,
            "shape": tally.detail(), "seconds": elapsed, "fill_seconds": fill_s,
            "handled": handled}


def _ratios(small: dict, large: dict) -> dict:
    if "items_read" in small and "items_read" in large and small["items_read"]:
        return {"ratio": large["items_read"] / small["items_read"],
                "time_ratio": large["seconds"] / small["seconds"] if small["seconds"] else None}
    return {}


def measure_sweep(engines: dict, sizes=(1_000, 50_000), due_counts=(100, 10_000),
                  layouts=(None, 1)) -> dict:
    out = env.each_size(one_size, engines, sizes)
    out.update(_ratios(out.get(sizes[0], {}), out.get(sizes[-1], {})))
    # One table size for both due counts: only the due work differs.
    table = max(due_counts) + DUE
    by_layout = {}
    for shards in layouts:
        runs = {}
        for due in due_counts:
            runs[due] = one_size(engines, table, due, shards)
            if "items_read" not in runs[due]:
                break
        by_layout[str(shards or "default")] = {
            "table": table, "runs": runs,
            **_ratios(runs.get(due_counts[0], {}), runs.get(due_counts[-1], {}))}
    out["by_due"] = by_layout
    return out
