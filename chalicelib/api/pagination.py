"""Cursors for list endpoints: DynamoDB's LastEvaluatedKey, signed so that a client
cannot forge a start key into another partition (DynamoDB would reject it with a 500)."""
import base64
import hashlib
import hmac
import json

from chalicelib import settings as settings_module
from chalicelib.domain.errors import InvalidRequest

DEFAULT_LIMIT, MAX_LIMIT = 20, 100


def _key() -> bytes:
    secret = settings_module.get().jwt_secret or settings_module.LOCAL_DEFAULT_JWT_SECRET
    return hashlib.sha256(b"cursor:" + secret.encode()).digest()


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
        return data["k"]
    except (ValueError, KeyError, TypeError):
        raise InvalidRequest("the cursor is invalid", field="cursor")


def page(items: list, next_cursor: str | None) -> dict:
    return {"items": items, "next_cursor": next_cursor}
