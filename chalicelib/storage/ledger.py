"""The double-entry ledger: immutable postings, account heads, and money instructions.

Access patterns (see README):
- a posting by id (= the instruction or funding id that made it) ... postings: id
- a provider's statement, newest first ........ postings.by_account: account, at (sparse)
- an account's head (payable, withdrawing balance) ............... accounts: id
- an instruction by id (<order>:<kind>:<step|all>, <wd>:payout) .. instructions: id
- unfinished instructions, oldest due first per shard ...
  instructions.pending: "PENDING#<shard>", next_attempt_at (sparse)
"""
from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib import clock
from chalicelib.domain import analytics as analytics_rules
from chalicelib.domain import instructions as lifecycle
from chalicelib.domain.escrow import Posting, statement_account
from chalicelib.storage import analytics as daily_counts
from chalicelib.storage import shards
from chalicelib.storage.base import table

PENDING_PK = "PENDING"


def pending_partition(instruction_id: str) -> str:
    """The pending index's partition key of an unfinished instruction: `PENDING#<shard>`."""
    return shards.key(PENDING_PK, instruction_id)


class PostingsByAccount(GlobalSecondaryIndex):
    """Sparse: only postings that move a provider's payable money carry `account`
    (domain.escrow.statement_account), so GET /me/statement reads one partition."""

    class Meta:
        index_name = "by_account"
        projection = AllProjection()

    account = UnicodeAttribute(hash_key=True)
    at = UnicodeAttribute(range_key=True)


@table("postings", money=True)
class PostingModel(Model):
    """One balanced movement of `amount` from `from_account` to `to_account` (a debit
    and a credit in one item, so it sums to zero by construction). Its id is put with
    attribute_not_exists, which makes posting the same movement twice impossible."""

    class Meta:
        table_name = "postings"

    id = UnicodeAttribute(hash_key=True)
    from_account = UnicodeAttribute()
    to_account = UnicodeAttribute()
    amount = NumberAttribute()  # fen, > 0
    currency = UnicodeAttribute(default="CNY")
    order_id = UnicodeAttribute(null=True)
    # fund | release | fee | refund | withdrawal | payout | withdrawal_returned
    kind = UnicodeAttribute()
    at = UnicodeAttribute()
    # The statement this posting belongs to (the by_account index). Postings written
    # before the index was sparse carry their to_account here, which for a release is
    # the same payable account and for anything else an account no statement reads.
    account = UnicodeAttribute(null=True)
    fee = NumberAttribute(null=True)  # on a release: what the platform kept of it
    withdrawal_id = UnicodeAttribute(null=True)

    by_account = PostingsByAccount()

    def writes_with_save(self, tx) -> None:
        """Saved in a transaction, a posting adds to its day's money counters in it; put
        with attribute_not_exists, it can only ever be counted once."""
        deltas = analytics_rules.posting_deltas(self.kind, self.to_account, self.amount)
        if deltas:
            day = analytics_rules.day_of(clock.from_key(self.at))
            daily_counts.count(tx, self.order_id or self.id, day, deltas)


def new_posting(posting_id: str, kind: str, posting: Posting, at: str, **extra) -> PostingModel:
    """An unsaved posting of `posting`, its statement account (the sparse index's key)
    filled in; saved with `PostingModel.id.does_not_exist()`."""
    return PostingModel(posting_id, from_account=posting.from_account,
                        to_account=posting.to_account, amount=posting.amount, kind=kind,
                        at=at, account=statement_account(posting), **extra)


@table("accounts", money=True)
class AccountModel(Model):
    """An account's head: what the ledger owes a provider (`payable:<p>`, available to
    withdraw) or holds for their withdrawals in flight (`withdrawing:<p>`). Conditions
    on these heads keep both from ever going below zero."""

    class Meta:
        table_name = "accounts"

    id = UnicodeAttribute(hash_key=True)  # payable:<provider id> | withdrawing:<provider id>
    balance = NumberAttribute(default=0)
    currency = UnicodeAttribute(default="CNY")
    updated_at = UnicodeAttribute(null=True)


class PendingInstructions(GlobalSecondaryIndex):
    """Sparse: pending_pk exists only while an instruction is unfinished."""

    class Meta:
        index_name = "pending"
        projection = AllProjection()

    pending_pk = UnicodeAttribute(hash_key=True)
    next_attempt_at = UnicodeAttribute(range_key=True)


@table("instructions", money=True)
class InstructionModel(Model):
    """A release, refund or payout decided by a transition or a withdrawal, recorded in
    the same transaction, then executed (possibly later, possibly many times) until it
    is done or parked."""

    class Meta:
        table_name = "instructions"

    id = UnicodeAttribute(hash_key=True)  # <order>:<kind>:<step|all> | <withdrawal>:payout
    order_id = UnicodeAttribute(null=True)  # none on a payout
    kind = UnicodeAttribute()  # release | refund | payout
    amount = NumberAttribute()
    fee = NumberAttribute(null=True)  # a release's platform fee, fixed when it is decided
    withdrawal_id = UnicodeAttribute(null=True)
    step = NumberAttribute(null=True)  # the milestone index; None = whatever is held
    provider_id = UnicodeAttribute()
    payment_ref = UnicodeAttribute(null=True)
    status = UnicodeAttribute(default=lifecycle.PENDING)  # domain.instructions.STATUSES
    attempts = NumberAttribute(default=0)
    last_error = UnicodeAttribute(null=True)
    gateway_ref = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    done_at = UnicodeAttribute(null=True)
    pending_pk = UnicodeAttribute(null=True)
    next_attempt_at = UnicodeAttribute()

    pending = PendingInstructions()


def new_instruction(instruction_id: str, kind: str, amount: int, *, provider_id: str, at: str,
                    done: bool = False, order_id: str | None = None, step: int | None = None,
                    fee: int | None = None, payment_ref: str | None = None,
                    withdrawal_id: str | None = None) -> InstructionModel:
    """The one way a money instruction is made (unsaved; put with
    `InstructionModel.id.does_not_exist()` in the transaction of its decision): pending
    and in the pending index, for its executor to drive; or `done`, written whole by a
    move that does it in its own transaction (a release, a reversal), and never pending."""
    ins = InstructionModel(instruction_id, kind=kind, amount=amount, provider_id=provider_id,
                           order_id=order_id, step=step, fee=fee, payment_ref=payment_ref,
                           withdrawal_id=withdrawal_id, created_at=at, next_attempt_at=at)
    if done:
        ins.status, ins.attempts, ins.done_at = lifecycle.DONE, 1, at
    else:
        ins.status, ins.attempts, ins.pending_pk = lifecycle.PENDING, 0, pending_partition(instruction_id)
    return ins
