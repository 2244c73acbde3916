"""Sweep items that failed: recording each failure with backoff, parking an item after
too many tries, and the operators' view of everything stuck.

A sweep never stops on one bad item: it records the failure here, pushes the item back
in its own index (retry later) or takes it out (parked), and goes on with the rest.
"""
from datetime import datetime, timedelta

from chalicelib import clock, settings
from chalicelib.storage import shards
from chalicelib.storage.sweeps import (STUCK_PK, StuckItemModel, stuck_key, stuck_partition,
                                      stuck_partitions)

RETRYING, PARKED = "retrying", "parked"
ERROR_MAX = 500


def backoff(attempts: int) -> timedelta:
    """One minute after the first failure, doubling, at most an hour."""
    return timedelta(seconds=min(3600, 60 * 2 ** max(0, min(attempts, 7) - 1)))


def record_failure(job: str, item_id: str, error: BaseException | str, now: datetime) -> StuckItemModel:
    """Count one more failure of `item_id` in `job`; parked once it reaches the limit."""
    at = clock.to_key(now)
    text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    record = StuckItemModel(stuck_partition(job, item_id), stuck_key(job, item_id))
    # One UpdateItem (an upsert) counts attempts atomically, so two sweeps failing on the
    # same item at once both count.
    record.update(actions=[
        StuckItemModel.job.set(job), StuckItemModel.item_id.set(item_id),
        StuckItemModel.attempts.add(1), StuckItemModel.last_error.set(text[:ERROR_MAX]),
        StuckItemModel.first_failed_at.set(StuckItemModel.first_failed_at | at),
        StuckItemModel.last_failed_at.set(at), StuckItemModel.status.set(RETRYING)])
    attempts = int(record.attempts)
    if attempts >= settings.get().instruction_max_attempts:
        record.update(actions=[StuckItemModel.status.set(PARKED),
                               StuckItemModel.retry_at.remove()])
    else:
        record.update(actions=[StuckItemModel.retry_at.set(clock.to_key(now + backoff(attempts)))])
    return record


def record_parked(job: str, item_id: str, reason: str, attempts: int, now: datetime, *,
                  retry_at: datetime | None = None) -> None:
    """Show operators an item whose failures another part of the system counts (a money
    instruction counts its own tries): parked, or retrying at `retry_at`. `attempts` is
    that count, copied here for the view, never added to."""
    at = clock.to_key(now)
    StuckItemModel(stuck_partition(job, item_id), stuck_key(job, item_id)).update(actions=[
        StuckItemModel.job.set(job), StuckItemModel.item_id.set(item_id),
        StuckItemModel.attempts.set(attempts), StuckItemModel.last_error.set(reason[:ERROR_MAX]),
        StuckItemModel.first_failed_at.set(StuckItemModel.first_failed_at | at),
        StuckItemModel.last_failed_at.set(at),
        StuckItemModel.status.set(PARKED if retry_at is None else RETRYING),
        StuckItemModel.retry_at.set(clock.to_key(retry_at)) if retry_at is not None
        else StuckItemModel.retry_at.remove()])


def clear(job: str, item_id: str) -> None:
    """A retried item went through: it is no longer stuck."""
    # Under every layout being read: a record written before the shard count changed is
    # cleared too (a delete of nothing costs one write and changes nothing).
    for pk in stuck_partitions(job, item_id):
        StuckItemModel(pk, stuck_key(job, item_id)).delete()


def present(record: StuckItemModel) -> dict:
    return {"job": record.job, "id": record.item_id, "status": record.status,
            "attempts": int(record.attempts or 0), "last_error": record.last_error,
            "first_failed_at": clock.key_to_iso(record.first_failed_at),
            "last_failed_at": clock.key_to_iso(record.last_failed_at),
            "retry_at": clock.key_to_iso(record.retry_at)}


def list_stuck(*, limit: int, start_key) -> tuple[list[dict], dict | None]:
    """Every parked or retrying sweep item, shard by shard, by job then id in each
    (operators only)."""
    found, next_key, _ = shards.query(StuckItemModel, STUCK_PK, consistent_read=True,
                                      limit=limit, start_key=start_key)
    return [present(r) for r in found], next_key
