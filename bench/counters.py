"""Counting DynamoDB calls, items read and capacity with botocore event hooks.

PynamoDB 6 talks to botocore directly and creates a fresh botocore session per
Connection per thread (`pynamodb.connection.base.get_session`), so a hook on one
session would miss most calls. botocore copies `botocore.handlers.BUILTIN_HANDLERS`
into every session it creates; registering there reaches PynamoDB's sessions (and any
boto3 client) as long as `install()` runs before the first connection is made — call
`chalicelib.storage.base.configure()` afterwards to drop connections made earlier.

Counting only happens inside `measure()`, so the benchmark's own setup writes are not
billed to the operation under test.
"""
import threading
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field

from botocore import handlers

# Operations that accept ReturnConsumedCapacity; DescribeTable and friends refuse it.
CAPACITY_OPERATIONS = {
    "GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem",
    "BatchWriteItem", "TransactGetItems", "TransactWriteItems",
}
READ_OPERATIONS = {"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"}


@dataclass
class Tally:
    calls: Counter = field(default_factory=Counter)  # operation name -> calls
    targets: Counter = field(default_factory=Counter)  # "GetItem orders" -> calls
    items_read: int = 0  # items DynamoDB examined: ScannedCount, or items returned by gets
    items_returned: int = 0
    capacity: float = 0.0  # read + write capacity units, when requested

    @property
    def total(self) -> int:
        return sum(self.calls.values())

    @property
    def reads(self) -> int:
        return sum(n for op, n in self.calls.items() if op in READ_OPERATIONS)

    @property
    def writes(self) -> int:
        return self.total - self.reads

    def shape(self) -> str:
        """The calls as `GetItem, 2×Query`, in a stable order."""
        return ", ".join(op if n == 1 else f"{n}×{op}" for op, n in sorted(self.calls.items()))

    def detail(self) -> str:
        """The calls with their tables: `GetItem orders, 2×PutItem notifications`."""
        return ", ".join(t if n == 1 else f"{n}×{t}" for t, n in sorted(self.targets.items()))


_lock = threading.Lock()
_active: list[Tally] = []
_capacity = False
_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    handlers.BUILTIN_HANDLERS.extend([
        ("before-parameter-build.dynamodb", _before_build),
        ("before-call.dynamodb", _count_call),
        ("after-call.dynamodb", _count_result),
    ])
    _installed = True


def set_capacity(enabled: bool) -> None:
    """Ask DynamoDB for ConsumedCapacity on every call (DynamoDB Local answers it)."""
    global _capacity
    _capacity = enabled


@contextmanager
def measure():
    tally = Tally()
    with _lock:
        _active.append(tally)
    try:
        yield tally
    finally:
        with _lock:
            _active.remove(tally)


def _before_build(params, model, context=None, **_):
    if not _active:
        return
    if _capacity and model.name in CAPACITY_OPERATIONS:
        params.setdefault("ReturnConsumedCapacity", "TOTAL")
    # before-call only sees the serialised request; note the tables while they are readable.
    if context is not None:
        context["bench_tables"] = _tables(params)


def _count_call(model, context=None, **_):
    target = f"{model.name} {(context or {}).get('bench_tables', '')}".strip()
    with _lock:
        for tally in _active:
            tally.calls[model.name] += 1
            tally.targets[target] += 1


def _tables(params: dict) -> str:
    from chalicelib import settings

    prefix = settings.get().table_prefix
    names = []
    if "TableName" in params:
        names.append(params["TableName"] + (f"[{params['IndexName']}]" if "IndexName" in params
                                            else ""))
    for action in params.get("TransactItems") or []:
        names += [op.get("TableName", "") for op in action.values()]
    names += list((params.get("RequestItems") or {}).keys())
    return "+".join(n[len(prefix):] if n.startswith(prefix) else n for n in names)


def _count_result(parsed, model, **_):
    if not _active or not isinstance(parsed, dict):
        return
    read, returned = _items(model.name, parsed)
    capacity = _capacity_units(parsed.get("ConsumedCapacity"))
    with _lock:
        for tally in _active:
            tally.items_read += read
            tally.items_returned += returned
            tally.capacity += capacity


def _items(operation: str, parsed: dict) -> tuple[int, int]:
    if operation in ("Query", "Scan"):
        return int(parsed.get("ScannedCount", 0)), int(parsed.get("Count", 0))
    if operation == "GetItem":
        found = 1 if parsed.get("Item") else 0
        return found, found
    if operation == "BatchGetItem":
        found = sum(len(items) for items in (parsed.get("Responses") or {}).values())
        return found, found
    if operation == "TransactGetItems":
        found = sum(1 for r in parsed.get("Responses") or [] if r.get("Item"))
        return found, found
    return 0, 0


def _capacity_units(consumed) -> float:
    if not consumed:
        return 0.0
    entries = consumed if isinstance(consumed, list) else [consumed]
    return float(sum(e.get("CapacityUnits", 0) for e in entries))
