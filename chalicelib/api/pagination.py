"""Cursors for list endpoints: DynamoDB's LastEvaluatedKey, signed so that a client
cannot forge a start key into another partition or another caller's list.

The signing key is derived from the stage's secret (chalicelib.secrets: the environment,
SSM or Secrets Manager), never from the local default a deployed stage does not use. A
start key of the wrong shape is refused here, and one DynamoDB still rejects is the
client's error too (routing answers 400, not 500)."""
import base64
import hashlib
import hmac
import json

from chalicelib import secrets
from chalicelib.domain.errors import InvalidRequest

DEFAULT_LIMIT, MAX_LIMIT = 20, 100
# A table key plus an index key; DynamoDB key values are at most 2048 bytes.
_MAX_KEY_ATTRIBUTES, _MAX_KEY_VALUE = 4, 2048
_KEY_TYPES = ("S", "N", "B")


def _key() -> bytes:
    return hashlib.sha256(b"cursor:" + secrets.jwt_secret().encode()).digest()


def _well_formed(start_key) -> bool:
    """A DynamoDB key: attribute name -> {"S" | "N" | "B": string}."""
    if not isinstance(start_key, dict) or not 1 <= len(start_key) <= _MAX_KEY_ATTRIBUTES:
        return False
    for name, value in start_key.items():
        if not isinstance(name, str) or not isinstance(value, dict) or len(value) != 1:
            return False
        (kind, raw), = value.items()
        if kind not in _KEY_TYPES or not isinstance(raw, str) or not raw:
            return False
        if len(raw.encode("utf-8")) > _MAX_KEY_VALUE:
            return False
    return True


def encode_cursor(last_key, scope: str = "") -> str | None:
    if not last_key:
        return None
    raw = json.dumps({"k": last_key, "s": scope}, separators=(",", ":"), sort_keys=True).encode()
    sig = hmac.new(_key(), raw, hashlib.sha256).digest()[:12]
    return base64.urlsafe_b64encode(sig + raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, scope: str = ""):
    """The start key inside `cursor`; a cursor from another query (scope) is refused."""
    if not cursor:
        return None
    try:
        blob = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        sig, raw = blob[:12], blob[12:]
        if not hmac.compare_digest(sig, hmac.new(_key(), raw, hashlib.sha256).digest()[:12]):
            raise ValueError("bad signature")
        data = json.loads(raw)
        if data.get("s") != scope:
            raise ValueError("cursor from another query")
        if not _well_formed(data["k"]):
            raise ValueError("not a start key")
        return data["k"]
    except (ValueError, KeyError, TypeError):
        raise InvalidRequest("the cursor is invalid", field="cursor")


def page(items: list, next_cursor: str | None) -> dict:
    return {"items": items, "next_cursor": next_cursor}
