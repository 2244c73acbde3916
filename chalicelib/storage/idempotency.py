"""Idempotency records: one item per (caller, Idempotency-Key)."""
from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib.storage.base import table


@table("idempotency", ttl_attribute="expires_epoch")
class IdempotencyRecord(Model):
    class Meta:
        table_name = "idempotency"

    key = UnicodeAttribute(hash_key=True)  # "<caller>#<Idempotency-Key>"
    fingerprint = UnicodeAttribute()  # sha256 of method, path and body
    state = UnicodeAttribute()  # "in_progress" | "complete"
    claimed_until = NumberAttribute()  # epoch seconds; a crashed claim may be retaken after
    expires_epoch = NumberAttribute()  # 24 h after the first request (TTL is lazy: we check it)
    response_status = NumberAttribute(null=True)
    response_body = UnicodeAttribute(null=True)
    response_headers = UnicodeAttribute(null=True)  # JSON


def record_key(caller: str, key: str) -> str:
    """`<caller>#<Idempotency-Key>`: the record's key, and the request key order events
    carry."""
    return f"{caller}#{key}"
