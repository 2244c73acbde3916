"""Sweep cost against table size: items `sweep_timeouts` reads with 100 due orders in
tables of 1,000 and 50,000 orders, on DynamoDB Local (moto slows down sharply with big
tables). The target is a ratio of about 1: the sweep's cost follows the due work only.

Two real orders are placed through the API — one four days ago (its payment window has
passed: due, and the sweep cancels it), one now (its timers are days away) — and cloned under fresh ids until the
table holds the wanted number, 100 of them due.
"""
import time

from bench import bulk, counters, env, scenario
from chalicelib import clock, ids

DUE = 100


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


def one_size(engines: dict, size: int) -> dict:
    clock.reset()
    env.point_at(engines["dynamodb"], engines["s3"], f"benchsw{size}-")
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
        prefix = due_id.split("_", 1)[0]
        started = time.perf_counter()
        bulk.put_all(bulk.table_name("orders"), (
            bulk.clone(due_item if n < DUE - 1 else fresh_item,
                       due_id if n < DUE - 1 else fresh_id, ids.new_id(prefix))
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
    return {"size": size, "due": DUE, "items_read": tally.items_read, "calls": tally.total,
            "shape": tally.detail(), "seconds": elapsed, "fill_seconds": fill_s,
            "handled": handled}


def measure_sweep(engines: dict, sizes=(1_000, 50_000)) -> dict:
    out = env.each_size(one_size, engines, sizes)
    small, large = out.get(sizes[0], {}), out.get(sizes[-1], {})
    if "items_read" in small and "items_read" in large and small["items_read"]:
        out["ratio"] = large["items_read"] / small["items_read"]
        out["time_ratio"] = large["seconds"] / small["seconds"] if small["seconds"] else None
    return out
