"""DynamoDB calls per API operation, for every route, next to the floor; and capacity
units per operation on DynamoDB Local.

Counts do not depend on the engine, so they are taken on moto through chalice.test.Client
(fast, in process); capacity needs a real answer to ReturnConsumedCapacity, so the same
scenario runs once more against DynamoDB Local.
"""
import re
from dataclasses import dataclass, field

from bench import counters, env, reasons, scenario

# The least a route can do. A read needs one call; a state change one read and one
# transaction. Routes that need no stored data, and jobs, have their own floor.
ZERO_CALLS = {("GET", "/health"), ("GET", "/openapi.json"), ("GET", "/categories"),
              ("GET", "/tags"), ("POST", "/_local/token"), ("POST", "/_local/clock")}
NO_FLOOR = {("POST", "/_local/sweeps"): "runs every scheduled job",
            ("GET", "/admin/ledger/check"): "audits every account: grows with the ledger",
            ("GET", "/admin/reconciliation"): "audits every gateway payment against the "
                                              "ledger: grows with the ledger"}


def floor(method: str, path: str) -> int | None:
    if (method, path) in ZERO_CALLS:
        return 0
    if (method, path) in NO_FLOOR:
        return None
    return 1 if method == "GET" else 2


@dataclass
class RouteResult:
    method: str
    path: str
    floor: int | None
    calls: list[int] = field(default_factory=list)  # one per successful call
    shapes: list[str] = field(default_factory=list)
    worst_targets: dict = field(default_factory=dict)  # the costliest call's tables
    capacity: list[float] = field(default_factory=list)
    items_read: list[int] = field(default_factory=list)
    failures: list[int] = field(default_factory=list)  # statuses of calls that failed

    @property
    def exercised(self) -> bool:
        return bool(self.calls)

    @property
    def worst(self) -> int:
        return max(self.calls)

    @property
    def verdict(self) -> str:
        if not self.calls:
            return "not exercised" + (f" (got {sorted(set(self.failures))})" if self.failures else "")
        if self.floor is None:
            return "n/a"
        return "at floor" if self.worst <= self.floor else f"ABOVE (+{self.worst - self.floor})"


NOTICE_TABLES = {"notifications", "notification_counters"}
MONEY_TABLE = "postings"  # a transaction that moves money: a release, refund or payout
INDEX_TABLE = "market_index"  # the market's search-index entries
WRITES = ("PutItem", "UpdateItem", "DeleteItem")


def why_above(targets: dict, method: str) -> str:
    """What the calls beyond the floor are, read from their operations and tables (the
    costliest observed call's: `worst_targets`)."""
    reads: dict[str, int] = {}  # "GetItem orders" / "Query reviews[by_public_service]" → n
    transactions: list[set[str]] = []
    outside: dict[str, list[str]] = {}  # table → single-item writes outside a transaction
    index_writes = 0
    for target, n in targets.items():
        op, _, tables = target.partition(" ")
        if op in ("GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"):
            reads[target] = reads.get(target, 0) + n
        elif op == "TransactWriteItems":
            transactions += [set(tables.split("+"))] * n
        elif op == "BatchWriteItem" or (op in WRITES and tables == INDEX_TABLE):
            index_writes += n
        elif op in WRITES:
            outside.setdefault(tables, []).extend([op] * n)
    reasons = []
    # A release is written in the state change's own transaction; a refund goes through
    # the gateway, and its posting follows in a transaction of its own once the gateway
    # has answered (services.instructions.execute_instruction): an external call sits between.
    money = [t for t in transactions if MONEY_TABLE in t and "order_events" not in t]
    notices = [t for t in transactions if t <= NOTICE_TABLES]
    if money and len(transactions) > 1:
        reasons.append(f"{len(money)} refunds: each posted in a transaction of its own "
                       "after the gateway's refund" if len(money) > 1 else
                       "a refund: posted in a transaction of its own after the gateway's "
                       "refund")
        reads.pop("GetItem instructions", None)
    if method == "GET":
        reasons += _extra_reads_of_a_read(reads)
    elif sum(reads.values()) > 1:
        reasons.append("reads " + ", ".join(
            f"`{target.partition(' ')[2]}`" + (" (query)" if target.startswith("Query") else "")
            + (f" {n}×" if n > 1 else "") for target, n in sorted(reads.items())))
    if notices and len(transactions) > len(notices):
        reasons.append("writes its notice in a transaction of its own, not in the state "
                       "change's")
    others = len(transactions) - len(money) - len(notices)
    if others > 1:
        reasons.append(f"{others} transactions for the state change")
    first_write = not transactions  # with no transaction, the first single write is the change
    for table, ops in sorted(outside.items()):
        if first_write:
            ops, first_write = ops[1:], False
        if ops:
            reasons.append(f"writes `{table}` outside the transaction ("
                           + ", ".join(sorted(set(ops))) + ")")
    if index_writes:
        reasons.append(f"{index_writes} write{'s' if index_writes > 1 else ''} of "
                       "search-index entries")
    return "; ".join(reasons)


ACCESS_CHECK = "item first to check who may see it"


def _extra_reads_of_a_read(reads: dict) -> list[str]:
    """A read's calls beyond its one: the item it lists or shows is under a parent (an
    order, a service, a provider) read first to decide who may see it — a legitimate
    reason — or data kept in an item of its own."""
    gets = [t for t in reads if t.startswith("GetItem")]
    parent = next((t for t in ("GetItem orders", "GetItem services", "GetItem providers")
                   if t in reads), gets[0] if gets else None)
    reasons = []
    for target, n in sorted(reads.items()):
        table = target.partition(" ")[2]
        if target == parent:
            if n > 1:
                reasons.append(f"reads `{table}` {n}×")
        elif table.endswith("_stats"):
            reasons.append(f"reads `{table}`, kept in an item of its own")
        elif parent is not None:
            reasons.append(f"reads the parent `{parent.partition(' ')[2]}` {ACCESS_CHECK}")
        else:
            reasons.append(f"also reads `{table}`" + (f" {n}×" if n > 1 else ""))
    return reasons


def route_matcher():
    """Map an actual path to its RouteSpec; literal segments win over parameters."""
    import app  # noqa: F401 - importing the app is what fills ROUTES
    from chalicelib.api.routing import ROUTES

    compiled = []
    for spec in ROUTES:
        pattern = "^" + re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(spec.path)) + "$"
        compiled.append((spec.path.count("{"), re.compile(pattern), spec))
    compiled.sort(key=lambda entry: entry[0])

    def match(method: str, path: str):
        bare = path.split("?", 1)[0]
        for _, pattern, spec in compiled:
            if spec.method == method and pattern.match(bare):
                return spec
        return None

    return match


def collect(runs: list[scenario.Run], results: dict | None = None, capacity_run=None) -> dict:
    """Fold observations into one RouteResult per route of ROUTES."""
    from chalicelib.api.routing import ROUTES

    if results is None:
        results = {(s.method, s.path): RouteResult(s.method, s.path, floor(s.method, s.path))
                   for s in ROUTES}
    match = route_matcher()
    for run in runs:
        for obs in run.observations:
            spec = match(obs.method, obs.path)
            if spec is None:
                continue
            result = results[(spec.method, spec.path)]
            if obs.status < 300:
                result.calls.append(obs.tally.total)
                result.shapes.append(obs.tally.detail())
                if obs.tally.total >= max(result.calls):
                    result.worst_targets = dict(obs.tally.targets)
                result.items_read.append(obs.tally.items_read)
            else:
                result.failures.append(obs.status)
    if capacity_run is not None:
        for obs in capacity_run.observations:
            spec = match(obs.method, obs.path)
            if spec is not None and obs.status < 300:
                results[(spec.method, spec.path)].capacity.append(obs.tally.capacity)
    return results


def _chalice_api():
    from chalice.test import Client

    from app import app
    from tests.support import ApiClient

    return Client(app, stage_name="local"), ApiClient


def _jobs(api) -> dict:
    """Calls made by each scheduled job run once after the scenario (little is due)."""
    from app import app

    out = {}
    for name in ("sweep_timeouts", "release_escrow"):
        if name not in {f.name for f in getattr(app, "event_sources", [])}:
            out[name] = None
            continue
        with counters.measure() as tally:
            api.invoke(name)
        out[name] = tally
    return out


def measure_calls(repeats: int = 3) -> dict:
    """Run the scenario `repeats` times on moto (fresh tables each time)."""
    counters.install()
    counters.set_capacity(False)
    runs, jobs = [], {}
    for i in range(repeats):
        with env.moto_engine(f"bench{i}-"):
            client, api_cls = _chalice_api()
            with client:
                api = api_cls(client)
                runs.append(scenario.run_scenario(api))
                jobs = _jobs(api)
    return {"runs": runs, "jobs": jobs}


def measure_capacity(engines: dict) -> scenario.Run:
    """The scenario once on DynamoDB Local, asking for ConsumedCapacity on every call."""
    from chalicelib import clock

    counters.install()
    counters.set_capacity(True)
    try:
        clock.reset()
        env.point_at(engines["dynamodb"], engines["s3"], "benchcap-")
        env.fresh_tables()
        client, api_cls = _chalice_api()
        with client:
            return scenario.run_scenario(api_cls(client))
    finally:
        counters.set_capacity(False)
        clock.reset()


def calls_as_served(runs: list[scenario.Run], results: dict) -> dict:
    """Median calls per (method, route) for the load's table; `pay` as the local stack
    serves it (through Alipay: `pending`, funded later by the notification), which is
    not what the scenario's sandbox payments cost."""
    out = {(r.method, r.path): env.median(r.calls) for r in results.values() if r.calls}
    pending = [o.tally.total for run in runs for o in run.observations
               if o.step == "order_paid_through_alipay" and o.method == "POST"
               and o.path.endswith("/pay") and o.status < 300]
    if pending:
        out[("POST", "/orders/{order_id}/pay")] = env.median(pending)
    return out


def summarise(results: dict) -> list[dict]:
    rows = []
    for (method, path), r in sorted(results.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        shape = max(set(r.shapes), key=r.shapes.count) if r.shapes else ""
        why = why_above(r.worst_targets, method) if r.verdict.startswith("ABOVE") else ""
        if why and min(r.calls) != max(r.calls):
            why = f"at worst ({r.worst} calls): {why}"
        rows.append({
            "route": f"{method} {path}", "floor": r.floor,
            "calls": (f"{min(r.calls)}–{max(r.calls)}" if r.calls and min(r.calls) != max(r.calls)
                      else (str(r.calls[0]) if r.calls else "—")),
            "median_calls": env.median(r.calls) if r.calls else None,
            "shape": shape, "capacity": env.median(r.capacity) if r.capacity else None,
            "verdict": r.verdict, "worst": r.worst if r.calls else None,
            "why": reasons.explained(f"{method} {path}", why) if why else "",
            "server_errors": sorted(f for f in r.failures if f >= 500),
            # Above only to read the parent item that decides who may see it: legitimate.
            "access_check": bool(why) and all(ACCESS_CHECK in part for part in why.split("; ")),
        })
    return rows
