"""Whole order stories per second on the local stack: the dev server (`make run`'s
process, with its Alipay stand-in) on DynamoDB Local, driven over HTTP by 1, 2 and 4
client processes at once.

A story is one order from start to end, as its people do it: the buyer places it and
pays (at the stand-in's cashier, then reads the order until the notification funded
it), the provider accepts, uploads the work (a presigned POST to the stack's S3) and
delivers, the buyer approves (the escrow is released). A story that ends anywhere else
is an error; stories/s counts completed stories over the wall time of the round.
"""
import json
import multiprocessing
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import requests

from bench import env, load, scenario

WORK = b"PK\x03\x04" + b"0" * 2044  # the delivered file: a small zip


class StoryFailed(Exception):
    pass


def _story(base: str, session, cashier, tokens, buyer: str, service_id: str) -> None:
    from chalicelib import clock

    def call(method, path, body=None, user=buyer):
        answer = session.request(method, base + path, timeout=30, headers=tokens[user],
                                 data=None if body is None else
                                 json.dumps(body, ensure_ascii=False).encode())
        if answer.status_code >= 300:
            raise StoryFailed(f"{method} {path.split('/')[-1]} → {answer.status_code}")
        return answer.json()

    order = call("POST", "/orders", {"service_id": service_id, "requirement": "首页改版，要简约",
                                     "due_at": clock.to_iso(clock.now() + timedelta(days=10))})
    oid = order["id"]
    payment = call("POST", f"/orders/{oid}/pay", {}).get("payment") or {}
    if payment.get("status") == "pending":
        try:
            load.pay_at_cashier(cashier, payment["redirect_url"])
        except (RuntimeError, requests.RequestException, KeyError, ValueError) as why:
            raise StoryFailed(f"cashier: {str(why)[:60]}") from None
        for _ in range(100):
            if call("GET", f"/orders/{oid}")["status"] != "awaiting_payment":
                break
            time.sleep(0.05)
    call("POST", f"/orders/{oid}/accept", {}, user=scenario.PROVIDER)
    ticket = call("POST", f"/orders/{oid}/deliverables", {
        "filename": "首页终稿.zip", "content_type": "application/zip", "size": len(WORK)},
        user=scenario.PROVIDER)
    upload = ticket["upload"]
    put = cashier.post(upload["url"], data=upload["fields"],
                       files={"file": ("首页终稿.zip", WORK, "application/zip")}, timeout=30)
    if put.status_code >= 300:
        raise StoryFailed(f"upload → {put.status_code}")
    call("POST", f"/orders/{oid}/deliver", {"file_ids": [ticket["file_id"]], "note": "终稿"},
         user=scenario.PROVIDER)
    if call("POST", f"/orders/{oid}/approve", {})["status"] != "completed":
        raise StoryFailed("approved order is not completed")


def _client(base: str, service_id: str, buyer: str, seconds: float, start_at: float, out):
    from chalicelib.api.auth import issue_token

    tokens = {u: {"Authorization": "Bearer " + issue_token(u, []),
                  "Content-Type": "application/json"} for u in (buyer, scenario.PROVIDER)}
    session, cashier = requests.Session(), requests.Session()
    done, errors = 0, {}
    time.sleep(max(0.0, start_at - time.time()))  # every process starts together
    started = time.monotonic()
    deadline = started + seconds
    while time.monotonic() < deadline:
        try:
            _story(base, session, cashier, tokens, buyer, service_id)
            done += 1
        except (StoryFailed, requests.RequestException) as why:
            key = str(why)[:80]
            errors[key] = errors.get(key, 0) + 1
    out.put({"done": done, "errors": errors, "wall": time.monotonic() - started})


def one_round(base: str, service_id: str, processes: int, seconds: float) -> dict:
    ctx = multiprocessing.get_context("fork")  # the children share the bench's settings
    out = ctx.Queue()
    start_at = time.time() + 1.0
    workers = [ctx.Process(target=_client, args=(base, service_id, f"story-buyer-{processes}-{i}",
                                                 seconds, start_at, out))
               for i in range(processes)]
    for w in workers:
        w.start()
    results = [out.get(timeout=seconds + 120) for _ in workers]
    for w in workers:
        w.join(timeout=30)
    errors: dict[str, int] = {}
    for r in results:
        for key, n in r["errors"].items():
            errors[key] = errors.get(key, 0) + n
    stories = sum(r["done"] for r in results)
    wall = max(r["wall"] for r in results)  # the last story started before the deadline ends
    return {"processes": processes, "stories": stories, "seconds": wall,
            "per_second": stories / wall, "errors": sum(errors.values()),
            "error_kinds": errors}


def measure_stories(process_counts=(1, 2, 4), seconds: float = 30.0) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-stories-") as tmp_name:
        try:
            stack, base, dynamodb, how = load.start_stack(Path(tmp_name))
        except (RuntimeError, OSError) as why:
            return {"pending": f"the local stack did not start: {str(why)[-300:]}"}
        try:
            from chalicelib.local.devserver import LOCAL_TABLE_PREFIX

            env.point_at(dynamodb, None, LOCAL_TABLE_PREFIX)
            ctx = scenario.seed_catalog(load.HttpApi(base))
            if "service" not in ctx:
                return {"pending": f"could not list a service: {ctx.get('skipped')}"}
            one_round(base, ctx["service"], 1, 3.0)  # unmeasured: first-request costs
            rounds = [one_round(base, ctx["service"], n, seconds) for n in process_counts]
        finally:
            load._stop(stack)
    return {"served_by": how, "seconds": seconds, "rounds": rounds,
            "errors": sum(r["errors"] for r in rounds)}
