"""Idempotency-Key handling, after Powertools' design: claim the key with one conditional
write, mark it complete with the answer, replay that answer to repeats.

- same caller + key + same request within 24 h → the first answer, changing nothing;
- same key, different request → IdempotencyKeyReused;
- first request still running → IdempotencyInProgress (a claim older than the
  in-progress window is considered crashed and may be retaken).
"""
import hashlib
import json
from dataclasses import dataclass

from pynamodb.exceptions import DoesNotExist, PutError

from chalicelib import settings as settings_module
from chalicelib.domain.errors import IdempotencyInProgress, IdempotencyKeyReused, InvalidRequest
from chalicelib.storage.base import condition_failed
from chalicelib.storage.idempotency import IdempotencyRecord, record_key

IN_PROGRESS_SECONDS = 60  # longer than any request may run (API Gateway stops at 29 s)

@dataclass
class StoredResponse:
    status: int
    body: str
    headers: dict


def fingerprint(method: str, path: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), body or b""):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def check_key(key: str) -> str:
    if not 1 <= len(key) <= 255 or any(ord(c) < 32 for c in key):
        raise InvalidRequest("Idempotency-Key must be 1-255 printable characters")
    return key


def claim(caller: str, key: str, print_: str, now_epoch: float) -> StoredResponse | None:
    """Claim the key for this request, or return the stored answer to replay."""
    cfg = settings_module.get()
    record = IdempotencyRecord(
        record_key(caller, key), fingerprint=print_, state="in_progress",
        claimed_until=int(now_epoch) + IN_PROGRESS_SECONDS,
        expires_epoch=int(now_epoch) + cfg.idempotency_ttl_seconds,
    )
    # Claim when nobody holds the key, or when the holder expired (TTL deletes lazily,
    # so an expired record may still be there), or when an in-progress claim is so old
    # that its request must have died.
    free = (
        IdempotencyRecord.key.does_not_exist()
        | (IdempotencyRecord.expires_epoch < int(now_epoch))
        | ((IdempotencyRecord.state == "in_progress")
           & (IdempotencyRecord.claimed_until < int(now_epoch))
           & (IdempotencyRecord.fingerprint == print_))
    )
    try:
        record.save(condition=free)
        return None
    except PutError as error:
        if not condition_failed(error):
            raise
    try:
        existing = IdempotencyRecord.get(record_key(caller, key), consistent_read=True)
    except DoesNotExist:  # expired and deleted between our two calls: try once more
        return claim(caller, key, print_, now_epoch)
    if existing.fingerprint != print_:
        raise IdempotencyKeyReused()
    if existing.state != "complete":
        raise IdempotencyInProgress()
    return StoredResponse(int(existing.response_status), existing.response_body or "",
                          json.loads(existing.response_headers or "{}"))


def complete(caller: str, key: str, response: StoredResponse) -> None:
    IdempotencyRecord(record_key(caller, key)).update(actions=[
        IdempotencyRecord.state.set("complete"),
        IdempotencyRecord.response_status.set(response.status),
        IdempotencyRecord.response_body.set(response.body),
        IdempotencyRecord.response_headers.set(json.dumps(response.headers)),
    ])


def release(caller: str, key: str) -> None:
    """Forget a claim whose request failed unexpectedly, so the client may retry."""
    IdempotencyRecord(record_key(caller, key)).delete()
