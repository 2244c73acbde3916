"""What the scheduled sweeps could not finish: one record per poisoned or parked item.

Access patterns (see README):
- every stuck item, by job then item ........ stuck_items: "STUCK", "<job>#<item id>"

One partition is enough: a healthy system has no stuck items, and each one is a case
for a person to look at, so the table stays tiny by design.
"""
from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib.storage.base import table

STUCK_PK = "STUCK"


@table("stuck_items")
class StuckItemModel(Model):
    """A sweep item that failed (`retrying`, pushed back with backoff) or gave up on
    (`parked`, out of its index until a person acts)."""

    class Meta:
        table_name = "stuck_items"

    pk = UnicodeAttribute(hash_key=True)  # STUCK_PK
    item_key = UnicodeAttribute(range_key=True)  # <job>#<item id>
    job = UnicodeAttribute()
    item_id = UnicodeAttribute()
    status = UnicodeAttribute()  # retrying | parked
    attempts = NumberAttribute(default=0)
    last_error = UnicodeAttribute(null=True)
    first_failed_at = UnicodeAttribute()
    last_failed_at = UnicodeAttribute()
    retry_at = UnicodeAttribute(null=True)


def stuck_key(job: str, item_id: str) -> str:
    """stuck_items' sort key: `<job>#<item id>`."""
    return f"{job}#{item_id}"
