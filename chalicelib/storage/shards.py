"""Write-sharded partition keys for due work, and the readers that read every shard.

The sparse "due" indexes (order and contract timers, pending instructions, pending and
problem payments, the notification outbox) and the stuck-items table once keyed every
item of a kind on one constant ("DUE", "PENDING" …). Their sort keys are time-ordered,
so DynamoDB cannot split such a partition for heat: one key capped the whole market at
about 1,000 writes a second. Each kind now spreads over `settings.due_shards` keys,
`<base>#<shard>`, the shard a stable hash (CRC-32, the same in every process, unlike
Python's `hash()`) of the item's own id.

An item carries the key it was written with, so changing the shard count never moves
anything: readers read the union of the current layout and the one being retired
(`settings.due_shards_previous`; 1 is the single bare key written before sharding), and
since every item sits under exactly one key, each is found once. docs/scale.md tells how
to change the count.

Reads go shard by shard, starting at a shard that rotates with the clock so that a run
cut short by its budget does not always leave the same shards for later. A start key is
an ordinary DynamoDB key: a query's LastEvaluatedKey (resume inside its shard) or just
`{<hash attribute>: <shard key>}` (start that shard from its beginning).
"""
import zlib
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, Callable

from chalicelib import settings as settings_module
from chalicelib.domain.errors import InvalidRequest

# Few threads: the fan-out reads are one small query per shard (gauges, counts).
_FAN_OUT_THREADS = 8
# Kinds written far more than the others get that many times the shards (docs/scale.md).
# The outbox takes two writes for each notice (in, and out once delivered) and an order
# sends about nine, a contract's period more. An order's timer entry moves (a delete and
# a put) at most transitions and carries the whole order (1-2 KB, two write units).
WEIGHT = {"OUTBOX": 4, "DUE": 2}


def shard_of(item_id: str, shards: int) -> int:
    """The shard of `item_id` among `shards`: the same in every process and run."""
    return zlib.crc32(item_id.encode("utf-8")) % shards


def shard_count(base: str, setting: int) -> int:
    """How many shards a kind has for a DUE_SHARDS `setting`; 1 (sharding off) stays 1."""
    return 1 if setting <= 1 else setting * WEIGHT.get(base, 1)


def key(base: str, item_id: str, shards: int | None = None) -> str:
    """The partition key an item with this id is written under now (or with the setting
    `shards`)."""
    n = shard_count(base, shards or settings_module.get().due_shards)
    return base if n <= 1 else f"{base}#{shard_of(item_id, n):02d}"


def keys_of(base: str, item_id: str) -> list[str]:
    """Every key this item may have been written under: one per layout being read."""
    cfg = settings_module.get()
    return list(dict.fromkeys(key(base, item_id, n)
                              for n in (cfg.due_shards, cfg.due_shards_previous)))


def read_keys(base: str) -> list[str]:
    """Every key an item of this kind may be under: the current and the retiring layout.

    Shard i is spelled the same in every layout of more than one shard, so reading shards
    0..max-1 covers both; a layout of 1 is the bare key."""
    cfg = settings_module.get()
    layouts = {shard_count(base, cfg.due_shards), shard_count(base, cfg.due_shards_previous)}
    top = max(layouts)
    return ([base] if 1 in layouts else []) + [f"{base}#{i:02d}" for i in range(top if top > 1 else 0)]


def turn(now: datetime) -> int:
    """The shard a sweep run at `now` begins with: the next one each minute (the sweeps'
    schedule), so a run its budget cut short leaves different shards for later each time."""
    return int(now.timestamp() // 60)


def _hash_name(target) -> str:
    return target._hash_key_attribute().attr_name


def query(target, base: str, range_key_condition=None, *, limit: int, start_key=None,
          first: int = 0, **kwargs) -> tuple[list, dict | None, int]:
    """Up to `limit` items of every shard of `base` in `target` (a model or an index).

    Returns (items, next start key or None when every shard was read, items DynamoDB
    read). `first` picks the shard to begin with (rotation); a run's pages must all pass
    the same one."""
    keys = read_keys(base)
    offset = first % len(keys)
    order = keys[offset:] + keys[:offset]
    hash_name = _hash_name(target)
    pos, inner = 0, None
    if start_key:
        at = (start_key.get(hash_name) or {}).get("S")
        if at not in order:
            # A cursor from before the shard count changed, or made up.
            raise InvalidRequest("the cursor is invalid", field="cursor")
        pos = order.index(at)
        inner = start_key if len(start_key) > 1 else None
    items: list = []
    read = 0
    while pos < len(order) and len(items) < limit:
        result = target.query(order[pos], range_key_condition, limit=limit - len(items),
                              last_evaluated_key=inner, **kwargs)
        items.extend(result)
        read += result.page_iter.total_scanned_count
        inner = result.last_evaluated_key
        if inner is None:
            pos += 1
    if pos >= len(order):
        return items, None, read
    return items, inner if inner is not None else {hash_name: {"S": order[pos]}}, read


def fan_out(base: str, read_one: Callable[[str], Any]) -> list:
    """`read_one(key)` for every key of `base`, a few at a time (independent small reads
    whose answers are combined, such as a sweep's gauges)."""
    keys = read_keys(base)
    if len(keys) == 1:
        return [read_one(keys[0])]
    # The first read runs here: it makes the connection's botocore client (whose
    # creation is not thread-safe) before the threads share it; clients are thread-safe.
    first = read_one(keys[0])
    with ThreadPoolExecutor(max_workers=min(_FAN_OUT_THREADS, len(keys) - 1)) as pool:
        return [first, *pool.map(read_one, keys[1:])]


def first_of(target, base: str, range_attribute: str) -> str | None:
    """The smallest sort key (the earliest due) over every shard, or None."""
    def one(k: str) -> str | None:
        for item in target.query(k, limit=1, attributes_to_get=[range_attribute]):
            return getattr(item, range_attribute)
        return None

    return min((v for v in fan_out(base, one) if v), default=None)


def count(target, base: str, range_key_condition=None, *, cap: int | None = None,
          **kwargs) -> int:
    """How many items every shard holds (each shard counted up to `cap`), capped at `cap`."""
    def one(k: str) -> int:
        return target.count(k, range_key_condition, limit=cap, **kwargs)

    total = sum(fan_out(base, one))
    return min(total, cap) if cap is not None else total
