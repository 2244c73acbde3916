"""The app's single clock. Every timestamp and deadline reads `now()`.

In the local stage the clock can be moved (POST /_local/clock) so a person can watch
an order expire in seconds; tests travel in time the same way instead of sleeping.
Deployed stages never move it: the offset API is only reachable from local routes.
"""
import threading
from datetime import datetime, timedelta, timezone

_lock = threading.Lock()
_offset = timedelta(0)


def real_now() -> datetime:
    return datetime.now(timezone.utc)


def now() -> datetime:
    return real_now() + _offset


def advance(seconds: float) -> datetime:
    global _offset
    with _lock:
        _offset += timedelta(seconds=seconds)
    return now()


def set_now(when: datetime) -> datetime:
    global _offset
    with _lock:
        _offset = when - real_now()
    return now()


def is_moved() -> bool:
    return _offset != timedelta(0)


def reset() -> None:
    global _offset
    with _lock:
        _offset = timedelta(0)


def to_iso(dt: datetime) -> str:
    """The API's time format: ISO 8601 with offset, UTC, second precision."""
    return dt.astimezone(timezone.utc).isoformat(timespec="seconds")


def to_key(dt: datetime) -> str:
    """A sortable UTC timestamp with microseconds, for keys and stored fields."""
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_key(raw: str) -> datetime:
    # The shape to_key writes is read by fromisoformat: ten times faster than strptime,
    # whose first call also imports _strptime and builds its locale tables (a cold start's
    # first answer pays that). Any other shape goes through strptime, as it always did.
    if len(raw) == 27 and raw[10] == "T" and raw[-1] == "Z":
        return datetime.fromisoformat(raw)
    return datetime.strptime(raw, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


def key_to_iso(raw: str | None) -> str | None:
    return to_iso(from_key(raw)) if raw else None


# China keeps one offset all year (no daylight saving): a fixed zone needs no tz database.
MARKET_TIME = timezone(timedelta(hours=8), "CST")


def for_people(raw: str | None) -> str | None:
    """A stored time as the market's people read it: 2027-01-15 18:00 (Beijing time)."""
    return from_key(raw).astimezone(MARKET_TIME).strftime("%Y-%m-%d %H:%M") if raw else None

