"""The optimistic loop every aggregate's change runs through: read, decide, commit one
conditional transaction, and when DynamoDB refuses it read again and decide again.

A change is anything with `commit(tx)` that conditions the aggregate's item (named
`lock`) on the status and version it read. A refusal of that item means somebody moved
first: the next read decides again, which turns into the right named refusal (409) if
the move no longer holds. `refused(refusal, change)` may turn other refused items into
named errors (raise), ask for another try (return True), or leave it (return False).
"""
from typing import Callable

from pynamodb.exceptions import TransactWriteError

from chalicelib.domain.errors import Conflict
from chalicelib.services import analytics
from chalicelib.storage.base import ATTEMPTS, Refusal, transaction

# A transaction that met another one in flight on a shared item (the buyer's counters,
# the service's slots, a day's figures) decided nothing: up to this many such meetings
# are tried again (each after a jittered pause, storage.base) beside the ATTEMPTS a
# change gets to be decided again after somebody moved first.
CONFLICT_RETRIES = 6


def run(build: Callable[[int], object], *, lock: str,
        refused: Callable[[Refusal, object], bool] | None = None,
        attempts: int = ATTEMPTS):
    """`build(attempt)` reads and decides (it may raise a named refusal, or return None
    when there is nothing left to do); the committed change, None, or `Conflict`."""
    attempt = decided = 0
    while decided < attempts:
        change = build(attempt)
        attempt += 1
        if change is None:
            return None
        tx = transaction()
        try:
            change.commit(tx)
        except TransactWriteError as error:
            refusal = tx.refusal(error)
            if refusal.conflict and attempt - decided <= CONFLICT_RETRIES:
                continue  # nothing was decided: a hot item was busy; it does not count
            decided += 1
            if refusal.failed(lock) or refusal.conflict:
                continue
            if analytics.retry_on(refusal):
                continue  # a day's buyer mark moved since it was read: decide again
            if refused is not None and refused(refusal, change):
                continue
            raise
        return change
    # Out of attempts: decided once more, so that a move that no longer holds (the order
    # was moved meanwhile) is answered with its named refusal rather than "retry".
    if build(attempt) is None:
        return None
    raise Conflict()
