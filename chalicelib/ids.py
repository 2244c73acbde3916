"""Opaque, unguessable ids that still sort roughly by creation time."""
import hashlib
import secrets
import time


def new_id(prefix: str) -> str:
    # 10 hex chars of milliseconds keep ids time-ordered for humans reading logs;
    # 16 random hex chars (64 bits) make them impossible to guess into access.
    return f"{prefix}_{int(time.time() * 1000):011x}{secrets.token_hex(8)}"


def keyed_id(prefix: str, key: str) -> str:
    """The same id for the same key: a create retried after its answer was lost finds
    the item it made instead of making a second one. Access never rests on an id being
    secret (every read checks who is asking), so a derived id is safe to hand out."""
    return f"{prefix}_{hashlib.sha256(key.encode()).hexdigest()[:27]}"
