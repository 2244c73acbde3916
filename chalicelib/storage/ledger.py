"""The double-entry ledger: immutable postings, account heads, and money instructions.

Access patterns (see README):
- a posting by id (= the instruction or funding id that made it) ... postings: id
- an account's head (payable balance) ............................ accounts: id
- an instruction by id (<order>:<kind>:<step|all>) ............... instructions: id
- unfinished instructions, oldest due first ...................... instructions.pending: "PENDING", next_attempt_at (sparse)
"""
from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.storage.base import table

PENDING_PK = "PENDING"


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
    kind = UnicodeAttribute()  # fund | release | refund
    at = UnicodeAttribute()


@table("accounts", money=True)
class AccountModel(Model):
    """A payable account's head: the balance the ledger owes a provider."""

    class Meta:
        table_name = "accounts"

    id = UnicodeAttribute(hash_key=True)  # payable:<provider id>
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
    """A release or refund decided by a transition, recorded in the same transaction,
    then executed (possibly later, possibly many times) until it is done or parked."""

    class Meta:
        table_name = "instructions"

    id = UnicodeAttribute(hash_key=True)  # <order>:<kind>:<step|all>
    order_id = UnicodeAttribute()
    kind = UnicodeAttribute()  # release | refund
    amount = NumberAttribute()
    step = NumberAttribute(null=True)  # the milestone index; None = whatever is held
    provider_id = UnicodeAttribute()
    payment_ref = UnicodeAttribute(null=True)
    status = UnicodeAttribute(default="pending")  # pending | done | parked
    attempts = NumberAttribute(default=0)
    last_error = UnicodeAttribute(null=True)
    gateway_ref = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    done_at = UnicodeAttribute(null=True)
    pending_pk = UnicodeAttribute(null=True)
    next_attempt_at = UnicodeAttribute()

    pending = PendingInstructions()
