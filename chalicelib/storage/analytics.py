"""Daily counters (analytics) and the per-day buyer marks behind distinct-buyer counts.

Access patterns (see README):
- the market's counters for a range of days .. daily_counts: M#<shard>, day between (one
                                               Query per shard)
- a provider's counters for a range of days .. daily_counts: P#<provider>#<shard>, day between
- what a buyer did with a provider on a day .. daily_counts: B#<provider>#<buyer>, day

Every counter is ADDed in the transaction of the change it counts (`count`), so a crash
can never keep one without the other. A day's counters are spread over SHARDS items,
the shard chosen from the order's (contract's, inquiry's) id: a busy day's writes land
on a few items instead of one, and one change always adds to one item per scope, which
keeps a transaction's "one action per item" rule. Reading a range is SHARDS queries per
scope, whatever its length (a year is 366 items per shard, well under a page).
"""
import zlib
from collections import defaultdict

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist
from pynamodb.models import Model

from chalicelib.domain import analytics as rules
from chalicelib.storage.base import table

# 16: at 1,000 orders a second a story writes its day about six times (placed, paid,
# funded, released, completed …): 4 shards would put 1,500 writes a second on each
# (tests/deploy/test_scale_model.py); 16 put 375. A range costs one Query per shard.
SHARDS = 16
# The refusal name of a buyer mark whose condition failed: another change of the same
# buyer, provider and day committed since the mark was read. Nothing was written; the
# caller's loop reads again and decides again.
BUYER_MARK = "analytics_buyer_mark"


@table("daily_counts")
class DayCountsModel(Model):
    """One shard of one scope's counters for one Beijing day (or one buyer mark)."""

    class Meta:
        table_name = "daily_counts"

    key = UnicodeAttribute(hash_key=True)
    day = UnicodeAttribute(range_key=True)  # YYYY-MM-DD, Beijing
    for _name in rules.COUNTERS:
        locals()[_name] = NumberAttribute(null=True)
    del _name
    # On a buyer mark: what the buyer did with the provider that day, sorted and joined
    # ("inquired", "inquired,paid"): a string, so the condition compares it exactly.
    marks = UnicodeAttribute(null=True)


M = DayCountsModel


def shard_of(entity_id: str) -> int:
    """A stable shard for an id (crc32: Python's hash() differs between processes)."""
    return zlib.crc32(entity_id.encode()) % SHARDS


def counts_key(scope: str, shard: int) -> str:
    return f"M#{shard}" if scope == rules.MARKET else f"P#{scope}#{shard}"


def mark_key(provider_id: str, buyer_id: str) -> str:
    return f"B#{provider_id}#{buyer_id}"


def count(tx, entity_id: str, day: str, deltas: dict[str, dict[str, int]]) -> None:
    """Add `deltas` (scope → counter → amount) to `day`'s counters in `tx`. Deltas of one
    transaction are summed and written when it commits, one update per item."""
    pending = getattr(tx, "_day_counts", None)
    if pending is None:
        pending = tx._day_counts = defaultdict(lambda: defaultdict(int))
        tx.before_commit(lambda: _flush(tx, pending))
    shard = shard_of(entity_id)
    for scope, counters in deltas.items():
        for name, amount in counters.items():
            pending[(counts_key(scope, shard), day)][name] += int(amount)


def _flush(tx, pending) -> None:
    for (key, day), counters in sorted(pending.items()):
        actions = [getattr(M, name).add(amount)
                   for name, amount in sorted(counters.items()) if amount]
        if actions:  # ADD creates the item on the day's first change
            tx.update("daily_counts", M(key, day), actions=actions)


def read_marks(provider_id: str, buyer_id: str, day: str) -> frozenset:
    """What the buyer has done with the provider on `day` (read consistently)."""
    try:
        item = M.get(mark_key(provider_id, buyer_id), day, consistent_read=True)
    except DoesNotExist:
        return frozenset()
    return frozenset(item.marks.split(",")) if item.marks else frozenset()


def mark(tx, provider_id: str, buyer_id: str, day: str, read: frozenset,
         after: frozenset) -> None:
    """Move the buyer's mark from `read` to `after` in `tx`, conditional on it still
    being `read`: two changes of the same buyer at once cannot both count it."""
    condition = M.marks.does_not_exist() if not read else M.marks == ",".join(sorted(read))
    tx.update(BUYER_MARK, M(mark_key(provider_id, buyer_id), day),
              actions=[M.marks.set(",".join(sorted(after)))], condition=condition)


def totals(scope: str, first: str, last: str) -> dict[str, dict[str, int]]:
    """day → counter → total over the shards, for the days from `first` to `last`."""
    out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for shard in range(SHARDS):
        for item in M.query(counts_key(scope, shard), M.day.between(first, last)):
            for name in rules.COUNTERS:
                value = getattr(item, name)
                if value:
                    out[item.day][name] += int(value)
    return out
