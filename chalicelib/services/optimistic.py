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

# A transaction refused because of a shared item (the buyer's counters, the service's
# slots, a day's figures, the provider's stats) decided nothing about the aggregate: up to
# this many such refusals are tried again (a conflict after a jittered pause,
# storage.base) beside the ATTEMPTS a change gets after somebody moved it first.
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
            if refusal.failed(lock):
                decided += 1  # somebody moved this aggregate first: decide again
                continue
            # Not decided: a shared item was busy (a conflict) or moved since it was read
            # (a day's buyer mark, the provider's stats pair...), while this aggregate
            # stayed as read. Such tries count only beyond CONFLICT_RETRIES.
            if not (refusal.conflict or analytics.retry_on(refusal)
                    or (refused is not None and refused(refusal, change))):
                raise
            if attempt - decided > CONFLICT_RETRIES:
                decided += 1
            continue
        return change
    # Out of attempts: decided once more, so that a move that no longer holds (the order
    # was moved meanwhile) is answered with its named refusal rather than "retry".
    if build(attempt) is None:
        return None
    raise Conflict()
