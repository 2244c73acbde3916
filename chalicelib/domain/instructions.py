"""Money instructions (release, refund, payout, reversal), pure: their statuses and the
deterministic ids the hand-built ones get, so that recording the same decision twice
collides instead of paying twice.

An instruction is recorded `pending` with the decision that makes it, then driven to
`done` by its kind's executor (possibly later, possibly many times); after too many
failed tries it is `parked` for a person to look at. `missing` is what the driver
answers for an id nobody recorded.
"""
PENDING, DONE, PARKED, MISSING = "pending", "done", "parked", "missing"
STATUSES = (PENDING, DONE, PARKED)


def void_refund_id(payment_id: str) -> str:
    """The refund of a payment that funds nothing (its order closed, or its plan was
    superseded): never a milestone's. The first payment's id is the order's."""
    return f"{payment_id}:refund:void"


def bill_release_id(statement_id: str, n: int) -> str:
    """The `n`-th release of a contract's bill to its provider."""
    return f"{statement_id}:release:{n}"


def bill_refund_id(key: str, tag: str = "bill") -> str:
    """What a bill no longer needs, sent back to the buyer: one per statement, or one
    per gateway trade (`key`) when a payment arrives for more than is owed; `tag` tells
    apart a re-pricing's refund of the same statement."""
    return f"{key}:refund:{tag}"
