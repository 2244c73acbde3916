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



def run(build: Callable[[int], object], *, lock: str,
        refused: Callable[[Refusal, object], bool] | None = None,
        attempts: int = ATTEMPTS):
    """`build(attempt)` reads and decides (it may raise a named refusal, or return None
    when there is nothing left to do); the committed change, None, or `Conflict`."""
    for attempt in range(attempts):
        change = build(attempt)
        if change is None:
            return None
        tx = transaction()
        try:
            change.commit(tx)
        except TransactWriteError as error:
            refusal = tx.refusal(error)
            if refusal.failed(lock) or refusal.conflict:
                continue
            if analytics.retry_on(refusal):
                continue  # a day's buyer mark moved since it was read: decide again
            if refused is not None and refused(refusal, change):
                continue
            raise
        return change
    raise Conflict()
