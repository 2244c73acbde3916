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
    state = UnicodeAttribute()  # "in_progress" | "complete" | "released" (failed; retry runs)
    claimed_until = NumberAttribute()  # epoch seconds; a crashed claim may be retaken after
    # The key's window: from the first request (app clock, epoch seconds) to expires_epoch,
    # 24 h later. TTL deletes lazily, so expiry is decided on read; a new window is a new
    # request, and window_start tells the writes it makes apart from the old window's.
    window_start = NumberAttribute(null=True)
    expires_epoch = NumberAttribute()
    response_status = NumberAttribute(null=True)
    response_body = UnicodeAttribute(null=True)
    response_headers = UnicodeAttribute(null=True)  # JSON


def record_key(caller: str, key: str) -> str:
    """`<caller>#<Idempotency-Key>`: the record's key. The request key that writes carry
    adds the key's window (`services.idempotency.Claim.request_key`)."""
    return f"{caller}#{key}"
