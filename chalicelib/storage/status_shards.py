"""Operators' lists by status over write-sharded keys, merged back into one order.

`orders.by_status` and `contracts.by_status` once keyed every item on its bare status, so
at 1,000 orders a second one status took ~3,000 writes a second (docs/scale.md). Items now
carry `status_shard` = `<status>#<shard>` (storage.shards: the shard a CRC-32 of the item's
id, the count the DUE_SHARDS setting), and the `by_status_shard` index is keyed on it.

A page reads every shard and merges them (a k-way merge by updated_at, then id), so an
operator sees the same order as before. Its cursor records each shard's position: the key
of the last item the page returned from that shard, or the position the shard had before
the page when none of its items were returned. Each shard resumes from exactly where it
stopped in DynamoDB's own order, so every item is listed once even when many share an
`updated_at` (those come in DynamoDB's order within a shard — on DynamoDB not by id —
as they did before sharding; the merge keeps `updated_at` order across shards).
The cursor is an ordinary DynamoDB-shaped key of up to four string attributes
(api/pagination signs it), so its size is bounded by the shard count.
"""
import heapq
import json

from pynamodb.exceptions import UpdateError

from chalicelib.domain.errors import InvalidRequest
from chalicelib.storage import shards
from chalicelib.storage.base import condition_failed

# The cursor's positions, as JSON, cut into attributes of at most this many bytes
# (pagination accepts up to 4 attributes of 2,048 bytes: 65 shards of ~75 bytes fit).
_CHUNK, _MAX_CHUNKS = 2000, 4
_RANGE = "updated_at"


def status_key(status: str, item_id: str) -> str:
    """by_status_shard's partition key of an item in `status`: `<status>#<shard>`."""
    return shards.key(status, item_id)


def _positions(start_key, status: str, keys: list[str]) -> dict[str, tuple[str, str]]:
    if not start_key:
        return {}
    try:
        names = [f"p{i}" for i in range(len(start_key))]
        if sorted(start_key) != names:
            raise ValueError("not a merged cursor")
        raw = "".join(start_key[name]["S"] for name in names)
        positions = {}
        for suffix, at, item_id in json.loads(raw):
            k = status + suffix
            if k not in keys or not isinstance(at, str) or not isinstance(item_id, str):
                # A shard no longer read (the count changed), or made up.
                raise ValueError("unknown shard")
            positions[k] = (at, item_id)
        return positions
    except (ValueError, KeyError, TypeError):
        raise InvalidRequest("the cursor is invalid", field="cursor")


def _cursor(positions: dict[str, tuple[str, str]], status: str) -> dict:
    raw = json.dumps([[k[len(status):], at, item_id] for k, (at, item_id)
                      in sorted(positions.items())], separators=(",", ":"))
    chunks = [raw[i:i + _CHUNK] for i in range(0, len(raw), _CHUNK)]
    if len(chunks) > _MAX_CHUNKS:  # ids are short: only a shard count far past 64 gets here
        raise ValueError("too many shards for one cursor")
    return {f"p{i}": {"S": chunk} for i, chunk in enumerate(chunks)}


def merged_page(index, status: str, *, limit: int, start_key=None, newest_first: bool,
                id_name: str = "id") -> tuple[list, dict | None]:
    """Up to `limit` items in `status` from every shard of `index`, by (updated_at, id),
    oldest first or newest first; and the cursor of the next page (None: all listed)."""
    keys = shards.read_keys(status)
    positions = _positions(start_key, status, keys)
    hash_name = index._hash_key_attribute().attr_name
    streams, exhausted = [], set()
    for k in keys:
        at = positions.get(k)
        after = {hash_name: {"S": k}, _RANGE: {"S": at[0]}, id_name: {"S": at[1]}} if at else None
        result = index.query(k, limit=limit, last_evaluated_key=after,
                             scan_index_forward=not newest_first)
        items = list(result)
        if result.last_evaluated_key is None:
            exhausted.add(k)
        streams.append([((getattr(i, _RANGE), getattr(i, id_name)), k, i) for i in items])
    merged = heapq.merge(*streams, key=lambda entry: entry[0], reverse=newest_first)
    taken = [entry for _, entry in zip(range(limit), merged)]
    for (at, item_id), k, _ in taken:
        positions[k] = (at, item_id)
    left = sum(len(s) for s in streams) - len(taken)
    if left == 0 and exhausted == set(keys):
        return [i for _, _, i in taken], None
    return [i for _, _, i in taken], _cursor(positions, status)


def backfill(model, *, limit: int = 100, start_key=None) -> tuple[int, dict | None]:
    """Gives `status_shard` to up to `limit` scanned items written before it existed.

    Each write is conditional on the status it read and on the attribute still missing,
    so a transition racing the backfill wins (it writes its own key) and a second run
    changes nothing. Returns (items keyed, the scan's next start key or None: done)."""
    result = model.scan(model.status_shard.does_not_exist() & model.status.exists(),
                        limit=limit, last_evaluated_key=start_key)
    done = 0
    for item in result:
        try:
            item.update(actions=[model.status_shard.set(status_key(item.status, item.id))],
                        condition=(model.status == item.status)
                        & model.status_shard.does_not_exist())
            done += 1
        except UpdateError as error:
            if not condition_failed(error):
                raise
    return done, result.last_evaluated_key


def backfill_all(model, *, page: int = 100) -> int:
    """Runs `backfill` over the whole table (the one-off after deploying by_status_shard:
    docs/scale.md). Returns how many items it keyed."""
    total, start = 0, None
    while True:
        done, start = backfill(model, limit=page, start_key=start)
        total += done
        if start is None:
            return total
