"""The one owner of money instructions (release, refund, payout): driving each recorded
instruction to done, its one retry counter, and the sweep's view of what is due.

An instruction is made by `storage.ledger.new_instruction` and put in the transaction of
the decision that makes it. What executing it means depends on its kind, and belongs to
the module that owns that kind: each registers its executor here (`register`) —
services.escrow for releases and refunds, services.payouts for payouts — so this driver
imports none of them. `execute_instruction` may run any number of times, concurrently,
from the request that recorded it or from the `release_escrow` sweep after a crash; an
executor asks the gateway keyed by the instruction, and settles it in ONE transaction
conditional on the instruction still being pending, so it ends done exactly once.

A failure is counted on the instruction itself (`attempts`, the one retry counter) with
a backoff; at INSTRUCTION_MAX_ATTEMPTS it is parked and leaves the pending index.
"""
import logging
from datetime import datetime
from typing import Callable

from pynamodb.exceptions import DoesNotExist, UpdateError

from chalicelib import clock, lazy, settings
from chalicelib.domain import escrow as money
from chalicelib.domain import payouts as payout_rules
from chalicelib.domain.instructions import DONE, MISSING, PARKED, PENDING
from chalicelib.services import optimistic, stuck
from chalicelib.storage import shards
from chalicelib.storage.base import condition_failed
from chalicelib.storage.ledger import PENDING_PK, InstructionModel

log = logging.getLogger("market.instructions")

# One attempt: True once settled, False when somebody else moved under it (re-read and
# decide again); any exception is a failure, counted and retried later.
Executor = Callable[[InstructionModel, datetime], bool]
EXECUTORS: dict[str, Executor] = {}
# The module that registers each kind's executor when it is imported, imported here by
# name on first need: importing the app no longer imports them (chalicelib/lazy.py), and
# a contract's refund may be the first instruction a cold container drives.
OWNERS = {money.RELEASE: "chalicelib.services.escrow", money.REFUND: "chalicelib.services.escrow",
          payout_rules.PAYOUT: "chalicelib.services.payouts"}


def register(kind: str, executor: Executor) -> None:
    """`executor` drives the instructions of `kind` (called by the module that owns it)."""
    EXECUTORS[kind] = executor


def execute_instruction(instruction_id: str, now: datetime, *,
                        written: InstructionModel | None = None) -> str:
    """Drive one instruction to done (idempotent, safe concurrently); its final status.
    `written`: the instruction as its caller has just committed it, which spares the
    first attempt a read (every executor's transaction is conditional on it pending)."""
    for attempt in range(optimistic.ATTEMPTS):
        try:
            ins = written if attempt == 0 and written is not None else \
                InstructionModel.get(instruction_id, consistent_read=True)
        except DoesNotExist:
            return MISSING
        if ins.status != PENDING:
            return ins.status
        try:
            if _executor(ins.kind)(ins, now):
                return DONE
        except Exception as error:  # any failure is recorded and retried later
            log.exception("instruction %s failed", instruction_id)
            return record_failure(instruction_id, error, now)[0]
    return InstructionModel.get(instruction_id, consistent_read=True).status


def _executor(kind: str) -> Executor:
    return lazy.registered(EXECUTORS, OWNERS, kind,
                           missing=f"no executor registered for {kind} instructions")


def execute_quietly(written: list[InstructionModel], now: datetime) -> set[str]:
    """Run what a request has just committed; a failure leaves it pending for the sweep.
    The ids of those now done."""
    done = set()
    for ins in written:
        try:
            if execute_instruction(ins.id, now, written=ins) == DONE:
                done.add(ins.id)
        except Exception:  # the decision is committed; the sweep finishes it
            log.exception("instruction %s left pending", ins.id)
    return done


def record_failure(instruction_id: str, error: BaseException, now: datetime
                   ) -> tuple[str, int, datetime | None]:
    """Count one more failed try on the instruction (one atomic ADD, so two runs failing
    at once both count), push its next try back, and park it at the limit. Its status,
    attempts and next try (None once parked); (done, 0, None) when it was no longer
    pending (a concurrent run finished it)."""
    text = f"{type(error).__name__}: {error}"[:stuck.ERROR_MAX]
    item = InstructionModel(instruction_id)
    try:
        item.update(actions=[InstructionModel.attempts.add(1),
                             InstructionModel.last_error.set(text)],
                    condition=InstructionModel.status == PENDING)
    except UpdateError as failed:
        if not condition_failed(failed):
            raise
        return DONE, 0, None
    attempts = int(item.attempts)
    parked = attempts >= settings.get().instruction_max_attempts
    retry_at = None if parked else now + stuck.backoff(attempts)
    # Parked instructions leave the pending index: a person must look at them.
    actions = [InstructionModel.status.set(PARKED), InstructionModel.pending_pk.remove()] \
        if parked else [InstructionModel.next_attempt_at.set(clock.to_key(retry_at))]
    try:
        item.update(actions=actions, condition=InstructionModel.status == PENDING)
    except UpdateError as failed:
        if not condition_failed(failed):
            raise
        return DONE, attempts, None
    return (PARKED if parked else PENDING), attempts, retry_at


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


def last_failure(instruction_id: str) -> tuple[str, int]:
    """A parked instruction's last error and how many tries it had, for operators."""
    ins = InstructionModel.get(instruction_id, consistent_read=True)
    return ins.last_error or PARKED, int(ins.attempts or 0)
