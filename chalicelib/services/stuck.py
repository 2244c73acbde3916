"""Sweep items that failed: recording each failure with backoff, parking an item after
too many tries, and the operators' view of everything stuck.

A sweep never stops on one bad item: it records the failure here, pushes the item back
in its own index (retry later) or takes it out (parked), and goes on with the rest.
"""
from datetime import datetime, timedelta

from pynamodb.exceptions import UpdateError

from chalicelib import clock, settings
from chalicelib.storage.base import condition_failed
from chalicelib.storage import shards
from chalicelib.storage.ledger import PENDING_PK, InstructionModel
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


def record_parked(job: str, item_id: str, reason: str, attempts: int, now: datetime) -> None:
    """Note an item another part of the system parked (e.g. an instruction out of tries)."""
    at = clock.to_key(now)
    StuckItemModel(stuck_partition(job, item_id), stuck_key(job, item_id)).update(actions=[
        StuckItemModel.job.set(job), StuckItemModel.item_id.set(item_id),
        StuckItemModel.attempts.set(attempts), StuckItemModel.last_error.set(reason[:ERROR_MAX]),
        StuckItemModel.first_failed_at.set(StuckItemModel.first_failed_at | at),
        StuckItemModel.last_failed_at.set(at), StuckItemModel.status.set(PARKED)])


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


# --- money instructions --------------------------------------------------------
def due_instruction_ids(now: datetime, *, limit: int, start_key=None):
    """One page of (instruction id, attempts) due for another try, oldest first, the next
    page's start key and how many index items DynamoDB read for it."""
    # Keys and counters only: a malformed instruction must not break the page for the
    # others; execute_instruction re-reads each one consistently anyway.
    found, next_key, read = shards.query(
        InstructionModel.pending, PENDING_PK, InstructionModel.next_attempt_at <= clock.to_key(now),
        limit=limit, start_key=start_key, first=shards.turn(now),
        attributes_to_get=["id", "attempts"])
    return [(i.id, int(i.attempts or 0)) for i in found], next_key, read


def note_parked_instruction(instruction_id: str, now: datetime) -> None:
    """An instruction ran out of tries: list it with its last error for operators."""
    ins = InstructionModel.get(instruction_id, consistent_read=True)
    record_parked("release_escrow", instruction_id, ins.last_error or "parked",
                  int(ins.attempts or 0), now)


def defer_instruction(instruction_id: str, retry_at: datetime | None) -> bool:
    """Push a pending instruction that crashed the sweep back, or park it (None); False
    when it was no longer pending."""
    if retry_at is None:
        actions = [InstructionModel.status.set("parked"), InstructionModel.pending_pk.remove()]
    else:
        actions = [InstructionModel.next_attempt_at.set(clock.to_key(retry_at))]
    try:
        # Only while still pending: a concurrent run that finished it must not be undone.
        InstructionModel(instruction_id).update(
            actions=actions, condition=InstructionModel.status == "pending")
    except UpdateError as error:
        if not condition_failed(error):
            raise
        return False
    return True
