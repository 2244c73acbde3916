"""Opaque, unguessable ids that still sort roughly by creation time."""
import secrets
import time


def new_id(prefix: str) -> str:
    # 10 hex chars of milliseconds keep ids time-ordered for humans reading logs;
    # 16 random hex chars (64 bits) make them impossible to guess into access.
    return f"{prefix}_{int(time.time() * 1000):011x}{secrets.token_hex(8)}"
