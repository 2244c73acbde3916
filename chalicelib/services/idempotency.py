"""Idempotency-Key handling, after Powertools' design: claim the key with one conditional
write, mark it complete with the answer, replay that answer to repeats.

- same caller + key + same request within 24 h → the first answer, changing nothing;
- same key, different request → IdempotencyKeyReused;
- first request still running → IdempotencyInProgress (a claim older than the
  in-progress window is considered crashed and may be retaken);
- after the 24 h window (by the app's clock, decided on read: DynamoDB's TTL deletes
  whenever it gets round to it) the key starts a new request in a new window. The
  window's start is part of the request key the route passes to the writes
  (`Claim.request_key`, as `Request.request_key`), so nothing of the old window — an
  order id derived from the key, an event made by it — can be mistaken for this
  request's own work and answered instead.
- as with Stripe, only requests that ran are remembered: one refused on its input
  before the API began to act on it (`is_input_refusal`: 400, 401, 404, 422
  VALIDATION_FAILED) gives its key back (`forget`), so the same key with a corrected
  body is a new request. Refusals decided by the resource's state (409 …) are replayed.
"""
import hashlib
import json
from dataclasses import dataclass

from pynamodb.exceptions import DeleteError, DoesNotExist, PutError, UpdateError

from chalicelib import settings as settings_module
from chalicelib.domain.errors import IdempotencyInProgress, IdempotencyKeyReused, InvalidRequest
from chalicelib.storage.base import condition_failed
from chalicelib.storage.idempotency import IdempotencyRecord, record_key

IN_PROGRESS_SECONDS = 60  # longer than any request may run (API Gateway stops at 29 s)
IN_PROGRESS, COMPLETE, RELEASED = "in_progress", "complete", "released"
# Statuses that refuse the request itself (its input, its caller, the thing it names)
# whatever state the resources are in; 422 only for the input's own validation (other
# 422 codes, e.g. SERVICE_INCOMPLETE, are decided by a resource's state).
_INPUT_REFUSAL_STATUSES = {400, 401, 404}
_INPUT_REFUSAL_CODES = {422: {"VALIDATION_FAILED"}}

@dataclass
class StoredResponse:
    status: int
    body: str
    headers: dict


@dataclass
class Claim:
    """The key held for this request (replay None), or the answer to replay."""

    caller: str
    key: str
    window_start: int
    replay: StoredResponse | None = None
    # False when the claim retook a window an earlier try had (crashed or released):
    # that try may have acted, so the window must outlive this try's refusal.
    fresh: bool = True

    @property
    def request_key(self) -> str:
        """`<caller>#<Idempotency-Key>@<window start>`: what the writes of this request
        remember, so that a retry whose first commit landed but whose answer was lost
        recognises its own work (the same within the window, new after it)."""
        return f"{record_key(self.caller, self.key)}@{self.window_start}"


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


def claim(caller: str, key: str, print_: str, now_epoch: float, _tries: int = 3) -> Claim:
    """Claim the key for this request (a new window if none is open at `now_epoch`, the
    app clock's now), or answer the stored response to replay."""
    R = IdempotencyRecord
    now = int(now_epoch)
    ttl = settings_module.get().idempotency_ttl_seconds
    key_ = record_key(caller, key)
    try:
        # A new window when nobody holds the key, or when the holder's window is over:
        # an expired record may still be there, and it is decided here, by our clock.
        R(key_, fingerprint=print_, state=IN_PROGRESS,
          claimed_until=now + IN_PROGRESS_SECONDS, window_start=now,
          expires_epoch=now + ttl).save(condition=R.key.does_not_exist()
                                        | (R.expires_epoch <= now))
        return Claim(caller, key, now)
    except PutError as error:
        if not condition_failed(error):
            raise
    try:
        existing = R.get(key_, consistent_read=True)
    except DoesNotExist:
        existing = None  # expired and deleted between our two calls
    if existing is None or int(existing.expires_epoch) <= now:
        if _tries <= 1:
            raise IdempotencyInProgress()
        return claim(caller, key, print_, now_epoch, _tries - 1)
    if existing.fingerprint != print_:
        raise IdempotencyKeyReused()
    # Records from before windows were kept: their window began a TTL before expiry.
    window = int(existing.window_start if existing.window_start is not None
                 else int(existing.expires_epoch) - ttl)
    if existing.state == COMPLETE:
        return Claim(caller, key, window, StoredResponse(
            int(existing.response_status), existing.response_body or "",
            json.loads(existing.response_headers or "{}")))
    crashed = existing.state == IN_PROGRESS and int(existing.claimed_until) < now
    if existing.state != RELEASED and not crashed:
        raise IdempotencyInProgress()
    try:
        # Retake the same window (the retry must recognise what the first try wrote):
        # conditioned on the claim as read, so of two retries exactly one runs.
        R(key_).update(
            actions=[R.state.set(IN_PROGRESS), R.claimed_until.set(now + IN_PROGRESS_SECONDS),
                     R.window_start.set(window)],
            condition=(R.state == existing.state)
            & (R.claimed_until == existing.claimed_until)
            & (R.expires_epoch == existing.expires_epoch))
    except UpdateError as error:
        if not condition_failed(error):
            raise
        raise IdempotencyInProgress()
    return Claim(caller, key, window, fresh=False)


def is_input_refusal(status: int, code: str | None) -> bool:
    """Whether an answer refused the request before the API began to act on it: such an
    answer is not the key's to keep."""
    return status in _INPUT_REFUSAL_STATUSES or code in _INPUT_REFUSAL_CODES.get(status, ())


def forget(claim_: Claim) -> None:
    """Give the key back after an input refusal: the next request with it (a corrected
    body, say) is a new request. A retaken window is only released, since an earlier try
    of it may have acted: its same-body retry runs again, another body stays refused."""
    if not claim_.fresh:
        release(claim_)
        return
    R = IdempotencyRecord
    try:
        # Only our own claim, still running: a newer window (or another claimant after
        # ours expired) is never removed.
        R(record_key(claim_.caller, claim_.key)).delete(
            condition=(R.state == IN_PROGRESS) & (R.window_start == claim_.window_start))
    except DeleteError as error:
        if not condition_failed(error):
            raise


def complete(claim_: Claim, response: StoredResponse) -> None:
    R = IdempotencyRecord
    R(record_key(claim_.caller, claim_.key)).update(actions=[
        R.state.set(COMPLETE),
        R.response_status.set(response.status),
        R.response_body.set(response.body),
        R.response_headers.set(json.dumps(response.headers)),
    ], condition=R.window_start == claim_.window_start)


def release(claim_: Claim) -> None:
    """Give up a claim whose request failed unexpectedly, so the client may retry: the
    retry runs again, in the same window."""
    R = IdempotencyRecord
    try:
        R(record_key(claim_.caller, claim_.key)).update(
            actions=[R.state.set(RELEASED)],
            condition=(R.state == IN_PROGRESS) & (R.window_start == claim_.window_start))
    except UpdateError as error:
        if not condition_failed(error):
            raise
