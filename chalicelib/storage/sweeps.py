"""What the scheduled sweeps could not finish: one record per poisoned or parked item.

Access patterns (see README):
- every stuck item, by job then item ........ stuck_items: "STUCK#<shard>", "<job>#<item id>"

A healthy system has few stuck items, but a failing gateway can make every instruction
fail at once, and the sweeps clear a record (a write, even of nothing) for every
leftover they finish: so the records spread over shards too (storage.shards).
"""
from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib.storage import shards
from chalicelib.storage.base import table

STUCK_PK = "STUCK"


@table("stuck_items")
class StuckItemModel(Model):
    """A sweep item that failed (`retrying`, pushed back with backoff) or gave up on
    (`parked`, out of its index until a person acts)."""

    class Meta:
        table_name = "stuck_items"

    pk = UnicodeAttribute(hash_key=True)  # stuck_partition(job, item id)
    item_key = UnicodeAttribute(range_key=True)  # <job>#<item id>
    job = UnicodeAttribute()
    item_id = UnicodeAttribute()
    status = UnicodeAttribute()  # retrying | parked
    attempts = NumberAttribute(default=0)
    last_error = UnicodeAttribute(null=True)
    first_failed_at = UnicodeAttribute()
    last_failed_at = UnicodeAttribute()
    retry_at = UnicodeAttribute(null=True)


def stuck_partition(job: str, item_id: str) -> str:
    """stuck_items' partition key: `STUCK#<shard>` of the item's stuck key."""
    return shards.key(STUCK_PK, stuck_key(job, item_id))


def stuck_partitions(job: str, item_id: str) -> list[str]:
    """Every partition key a record of this item may be under while a shard count changes."""
    return shards.keys_of(STUCK_PK, stuck_key(job, item_id))


def stuck_key(job: str, item_id: str) -> str:
    """stuck_items' sort key: `<job>#<item id>`."""
    return f"{job}#{item_id}"
