"""HTTP under load: the local stack (`make run`'s dev server, with its Alipay stand-in)
on DynamoDB Local with concurrent clients on loopback, against the floor app served by
the same server code, on the same DynamoDB Local.

The mix, per client: two market searches, then an order placed, paid, read back and
accepted, the way a real client does it: `pay` answers `payment.status: "pending"`
with the cashier's `redirect_url`; the buyer opens it and pays there (requests to the
stand-in, not to the app, and not timed), the stand-in notifies the app
(`POST /payments/alipay/notify`, served by the app while the clients run, not timed by
them), and the client reads the order again until it is `awaiting_provider`; then the
provider accepts.

Every request of the app has a floor twin costing its route's floor (`bench.calls.floor`):
a read's twin is `GET /item/…` (one GetItem), a state change's `POST /item/…` (one GetItem
and one conditional transaction, which DynamoDB Local commits to disk as it does the
app's), so that the ratio is the app against the least such a request can cost.
"""
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlsplit

import requests

from bench import calls, coldstart, env, scenario
from chalicelib.local import engines

SEARCHES = [f"/services?q={quote('装修')}", "/services?sort=price_asc"]


class HttpApi:
    """The ApiClient interface (tests/support.py) over real HTTP, for seeding."""

    def __init__(self, base: str):
        self.base = base
        self.session = requests.Session()

    def call(self, method, path, body=None, *, user=None, operator=False, headers=None,
             raw=None, content_type="application/json"):
        from chalicelib.api.auth import issue_token

        hdrs = {"Content-Type": content_type, **(headers or {})}
        if user is not None:
            hdrs["Authorization"] = "Bearer " + issue_token(user, ["operator"] if operator else [])
        data = raw if raw is not None else (
            json.dumps(body, ensure_ascii=False).encode() if body is not None else None)
        answer = self.session.request(method, self.base + path, data=data, headers=hdrs,
                                      timeout=30)
        return _Reply(answer)


class _Reply:
    def __init__(self, answer):
        self.status = answer.status_code
        try:
            self.json = answer.json()
        except ValueError:
            self.json = None

    @property
    def error_code(self):
        return ((self.json or {}).get("error") or {}).get("code")


@dataclass
class Side:
    latencies: list[float] = field(default_factory=list)
    by_kind: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    requests: int = 0
    wall: float = 0.0
    round_p50: list[float] = field(default_factory=list)
    cashier: list[float] = field(default_factory=list)  # each buyer's time at the gateway
    clients: int = 1

    @property
    def busy(self) -> float:
        """Wall time less what an average client spent at the cashier, when it sent the
        app nothing: requests per busy second compare with the floor's, which waits not."""
        return max(1e-9, self.wall - sum(self.cashier) / max(1, self.clients))

    def summary(self) -> dict:
        return {"requests": self.requests, "errors": sum(self.errors.values()),
                "error_kinds": dict(self.errors),
                "p50": env.percentile(self.latencies, 50), "p95": env.percentile(self.latencies, 95),
                "p99": env.percentile(self.latencies, 99),
                "throughput": self.requests / self.busy if self.wall else 0.0,
                "cashier_p50": env.percentile(self.cashier, 50) if self.cashier else None,
                "p50_by_kind": {k: env.percentile(v, 50) for k, v in self.by_kind.items()}}


def _wait_http(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def start_stack(tmp: Path) -> tuple[subprocess.Popen, str, str, str]:
    """The dev server (`make run`'s process) on free ports and a throwaway data dir."""
    port, ddb_port, s3_port = engines.free_port(), engines.free_port(), engines.free_port()
    standin_port = engines.free_port()
    child = {**os.environ, "PORT": str(port), "DYNAMODB_PORT": str(ddb_port),
             "S3_PORT": str(s3_port), "LOCAL_DATA_DIR": str(tmp / "stack"),
             # Its own stand-in, not the fixed port a developer's `make run` holds.
             "ALIPAY_STANDIN_PORT": str(standin_port), "PAYMENT_GATEWAY": "alipay",
             # Sweeps on a timer would add noise that the floor does not have.
             "SWEEP_INTERVAL_SECONDS": "3600"}
    for name in ("DYNAMODB_ENDPOINT", "S3_ENDPOINT", "TABLE_PREFIX", "PYTHONPATH"):
        child.pop(name, None)
    log = open(tmp / "devserver.log", "w")
    process = subprocess.Popen([sys.executable, "-m", "chalicelib.local.devserver"],
                               cwd=str(env.ROOT), env=child, stdout=log, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_http(base + "/health", 120)
    except TimeoutError:
        _stop(process)
        raise RuntimeError("dev server did not start: "
                           + (tmp / "devserver.log").read_text()[-800:]) from None
    return process, base, f"http://127.0.0.1:{ddb_port}", "devserver"


# --- the buyer at the gateway's cashier (the stand-in; not the app, not timed) ----------
def pay_at_cashier(session: requests.Session, redirect_url: str, timeout: float = 15.0) -> str:
    """Open the cashier `pay` sent the buyer to, press 确认付款, and wait until the
    stand-in's notification of it was acknowledged by the app. Answers the trade's
    out_trade_no; raises RuntimeError when the payment was not confirmed in time."""
    parts = urlsplit(redirect_url)
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    out_trade_no = json.loads(params["biz_content"])["out_trade_no"]
    root = f"{parts.scheme}://{parts.netloc}"
    answer = session.get(redirect_url, timeout=30)
    if answer.status_code != 200:
        raise RuntimeError(f"cashier → {answer.status_code}")
    answer = session.post(f"{root}/standin/pay/{out_trade_no}", timeout=30)
    if answer.status_code != 200:
        raise RuntimeError(f"pay at the cashier → {answer.status_code}")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        deliveries = session.get(f"{root}/_standin/trades", timeout=30).json()["deliveries"]
        if any(d["out_trade_no"] == out_trade_no and d["status"] == 200
               and d["answer"].strip() == "success" for d in deliveries):
            return out_trade_no
        time.sleep(0.05)
    raise RuntimeError(f"no acknowledged notification for {out_trade_no} in {timeout:.0f}s")


def start_served(project: Path, stage: str, extra_env: dict, tmp: Path, name: str):
    port = engines.free_port()
    child = {**os.environ, **extra_env}
    child.pop("PYTHONPATH", None)
    log = open(tmp / f"{name}.log", "w")
    process = subprocess.Popen([sys.executable, "-m", "bench.serve", str(project), stage,
                                str(port)], cwd=str(env.ROOT), env=child, stdout=log,
                               stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_http(base + ("/health" if name == "app" else "/item/floor-1"), 60)
    except TimeoutError:
        _stop(process)
        raise RuntimeError(f"{name} server did not start: "
                           + (tmp / f"{name}.log").read_text()[-800:]) from None
    return process, base


def app_plan(ctx: dict) -> list[tuple[str, str, str, str]]:
    """(kind, method, path, route) of one client cycle, limited to routes that exist;
    `{id}` in a path stands for the order placed earlier in the cycle."""
    match = calls.route_matcher()
    wanted = [("search", "GET", path) for path in SEARCHES]
    if ctx.get("service"):
        wanted += [("place", "POST", "/orders"), ("pay", "POST", "/orders/{id}/pay"),
                   ("read", "GET", "/orders/{id}"), ("accept", "POST", "/orders/{id}/accept")]
    plan = []
    for kind, method, path in wanted:
        spec = match(method, path.replace("{id}", "x"))
        if spec is not None and (kind in ("search", "place") or any(k == "place" for k, *_ in plan)):
            plan.append((kind, method, path, spec.path))
    return plan


def _client(base, plan, cycles, deadline, side, lock, buyer, ctx, floor_calls, cashier_s):
    session = requests.Session()
    cashier = requests.Session()  # the buyer's browser at the gateway
    from chalicelib import clock
    from chalicelib.api.auth import issue_token

    tokens = {u: {"Authorization": "Bearer " + issue_token(u, []),
                  "Content-Type": "application/json"} for u in (buyer, scenario.PROVIDER)}

    def timed(kind, method, path, body=None, headers=None):
        started = time.perf_counter()
        answer = None
        try:
            answer = session.request(method, base + path, data=body, headers=headers,
                                     timeout=30)
            status = answer.status_code
        except requests.RequestException as error:
            status = type(error).__name__
        elapsed = time.perf_counter() - started
        with lock:
            side.requests += 1
            side.latencies.append(elapsed)
            side.by_kind.setdefault(kind, []).append(elapsed)
            if not (isinstance(status, int) and status < 300):
                key = f"{kind} → {status}"
                if answer is not None:
                    try:
                        key += f" {answer.json()['error']['code']}"
                    except (ValueError, KeyError, TypeError):
                        pass
                side.errors[key] = side.errors.get(key, 0) + 1
        return answer if isinstance(status, int) and status < 300 else None

    def failed(kind, why):
        with lock:
            key = f"{kind}: {why}"
            side.errors[key] = side.errors.get(key, 0) + 1

    for _ in range(cycles):
        order_id = None
        for kind, method, path, _ in plan:
            if time.monotonic() > deadline:
                return
            if floor_calls is not None:
                if floor_calls[kind] > 1:  # a state change: a read and a transaction
                    # Each client its own item, as each of the app's clients its own order.
                    timed(kind, "POST", f"/item/{coldstart.FLOOR_ITEM}-{buyer}",
                          headers=tokens[buyer])
                else:
                    timed(kind, "GET", f"/item/{coldstart.FLOOR_ITEM}", headers=tokens[buyer])
                if kind == "pay" and cashier_s:
                    # The floor's buyer is away as long as the app's was: the server sees
                    # the same number of clients at work at once.
                    time.sleep(cashier_s)
                    with lock:
                        side.cashier.append(cashier_s)
                continue
            if kind == "search":
                timed(kind, method, path, headers=tokens[buyer])
            elif kind == "place":
                body = json.dumps({"service_id": ctx["service"], "requirement": "首页改版，要简约",
                                   "due_at": clock.to_iso(clock.now() + timedelta(days=10))},
                                  ensure_ascii=False).encode()
                answer = timed(kind, method, path, body, tokens[buyer])
                order_id = answer.json()["id"] if answer is not None else None
            elif order_id is None:
                continue  # nothing placed: nothing to pay, read or accept
            elif kind == "pay":
                answer = timed(kind, method, path.replace("{id}", order_id), b"{}", tokens[buyer])
                payment = (answer.json().get("payment") or {}) if answer is not None else {}
                if answer is None:
                    order_id = None
                elif payment.get("status") == "pending":
                    try:
                        started = time.perf_counter()
                        pay_at_cashier(cashier, payment["redirect_url"])
                        with lock:
                            side.cashier.append(time.perf_counter() - started)
                    except (RuntimeError, requests.RequestException, KeyError, ValueError) as why:
                        failed("cashier", str(why)[:80])
                        order_id = None
            elif kind == "read":
                # What a client does after the cashier: read the order until it is funded.
                for _ in range(40):
                    answer = timed(kind, method, path.replace("{id}", order_id),
                                   headers=tokens[buyer])
                    if answer is None or answer.json()["status"] != "awaiting_payment":
                        break
                    time.sleep(0.05)
                if answer is None or answer.json()["status"] != "awaiting_provider":
                    failed("read", "the order was never funded")
                    order_id = None
            elif kind == "accept":
                timed(kind, method, path.replace("{id}", order_id), b"{}",
                      tokens[scenario.PROVIDER])


def drive(base, plan, side, *, clients, cycles, time_limit, ctx, floor_calls=None,
          cashier_s=0.0):
    lock = threading.Lock()
    before = len(side.latencies)
    deadline = time.monotonic() + time_limit
    threads = [threading.Thread(target=_client, args=(
        base, plan, cycles, deadline, side, lock, f"load-buyer-{i}", ctx, floor_calls,
        cashier_s))
        for i in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    side.wall += time.perf_counter() - started
    side.clients = clients
    side.round_p50.append(env.percentile(side.latencies[before:], 50))


def measure_load(calls_by_route: dict, *, clients=4, cycles=8, rounds=3,
                 time_limit=60.0) -> dict:
    """Alternate rounds of app and floor traffic; return percentiles and the p50 ratio."""
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp_name:
        tmp = Path(tmp_name)
        processes = []
        try:
            try:
                stack, app_base, dynamodb, how = start_stack(tmp)
                processes.append(stack)
            except (RuntimeError, OSError) as why:
                return {"pending": f"the local stack did not start: {str(why)[-300:]}"}
            coldstart.seed_floor(dynamodb)
            floor, floor_base = start_served(coldstart.FLOOR_DIR, "dev", {
                "DYNAMODB_ENDPOINT": dynamodb, "FLOOR_TABLE": coldstart.FLOOR_TABLE}, tmp, "floor")
            processes.append(floor)
            from chalicelib.local.devserver import LOCAL_TABLE_PREFIX

            # Seeding may write straight into the stack's tables (scenario.stored_catalog).
            env.point_at(dynamodb, None, LOCAL_TABLE_PREFIX)
            ctx = scenario.seed_catalog(HttpApi(app_base))
            plan = app_plan(ctx)
            if not plan:
                return {"pending": "no market or order routes yet", "seed": ctx.get("skipped")}
            # The floor twin of each request costs what its route's floor allows; the app's
            # own count (from the counting run on moto) is reported beside it.
            floor_calls = {kind: max(1, calls.floor(method, route) or 1)
                           for kind, method, _, route in plan}
            app_calls = {kind: calls_by_route.get((method, route)) for kind, method, _, route in plan}
            app_side, floor_side = Side(), Side()
            # One short unmeasured round each: first-request costs are the cold start's.
            drive(app_base, plan, Side(), clients=clients, cycles=1, time_limit=30, ctx=ctx)
            drive(floor_base, plan, Side(), clients=clients, cycles=1, time_limit=30, ctx=ctx,
                  floor_calls=floor_calls)
            for _ in range(rounds):
                drive(app_base, plan, app_side, clients=clients, cycles=cycles,
                      time_limit=time_limit, ctx=ctx)
                away = env.median(app_side.cashier) if app_side.cashier else 0.0
                drive(floor_base, plan, floor_side, clients=clients, cycles=cycles,
                      time_limit=time_limit, ctx=ctx, floor_calls=floor_calls, cashier_s=away)
        finally:
            for process in reversed(processes):
                _stop(process)
    ratios = [a / f for a, f in zip(app_side.round_p50, floor_side.round_p50)]
    return {"served_by": how, "clients": clients, "rounds": rounds,
            "plan": [f"{m} {p}" for _, m, p, _ in plan], "floor_calls": floor_calls,
            "app_calls": app_calls,
            "notify_calls": calls_by_route.get(("POST", "/payments/{gateway}/notify")),
            "app": app_side.summary(), "floor": floor_side.summary(),
            "p50_ratio": env.median(ratios), "round_ratios": ratios,
            "seed_skipped": ctx.get("skipped")}
