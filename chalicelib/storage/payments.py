"""Payments at the gateway, one record per order: what we asked the gateway for and what
it told us (its notifications and query answers). The ledger (postings, the order's
escrow counters) says what the platform did with the money; this table says what the
gateway did, so the two can be reconciled.

Access patterns (see README):
- a payment by merchant reference (= the order id) .... payments: id
- payments not yet settled, next check first ........... payments.pending: "PENDING#<shard>", check_at (sparse)
- payments with a problem for operators, oldest first .. payments.problems: "PROBLEM#<shard>", problem_at (sparse)
"""
from pynamodb.attributes import MapAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.storage import shards
from chalicelib.storage.base import table

PENDING_PK = "PENDING"
PROBLEM_PK = "PROBLEM"


def pending_partition(payment_id: str) -> str:
    """The pending index's partition key of an unsettled payment: `PENDING#<shard>`."""
    return shards.key(PENDING_PK, payment_id)


def problem_partition(payment_id: str) -> str:
    """The problems index's partition key of a payment with a problem: `PROBLEM#<shard>`."""
    return shards.key(PROBLEM_PK, payment_id)


class PendingPayments(GlobalSecondaryIndex):
    """Sparse: pending_pk exists only while the gateway has not settled the payment."""

    class Meta:
        index_name = "pending"
        projection = AllProjection()

    pending_pk = UnicodeAttribute(hash_key=True)
    check_at = UnicodeAttribute(range_key=True)


class PaymentProblems(GlobalSecondaryIndex):
    """Sparse: problem_pk exists while a problem waits for an operator."""

    class Meta:
        index_name = "problems"
        projection = AllProjection()

    problem_pk = UnicodeAttribute(hash_key=True)
    problem_at = UnicodeAttribute(range_key=True)


@table("payments", money=True)
class PaymentModel(Model):
    """One payment at the gateway.

    status: pending (started, not settled) → paid (escrow funded with it) | voided (it
    arrived for an order closed meanwhile and is refunded) | closed (the gateway closed
    it unpaid); unknown: the gateway reported a payment we never started."""

    class Meta:
        table_name = "payments"

    id = UnicodeAttribute(hash_key=True)  # the merchant reference: Alipay's out_trade_no
    order_id = UnicodeAttribute(null=True)
    gateway = UnicodeAttribute()
    amount = NumberAttribute(null=True)  # fen we asked for
    plan_version = NumberAttribute(null=True)  # the order's plan it pays (None: the first)
    currency = UnicodeAttribute(default="CNY")
    status = UnicodeAttribute()
    gateway_ref = UnicodeAttribute(null=True)  # Alipay's trade_no
    gateway_status = UnicodeAttribute(null=True)  # the gateway's last word (TRADE_SUCCESS …)
    gateway_amount = NumberAttribute(null=True)  # fen the gateway says were paid
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    settled_at = UnicodeAttribute(null=True)
    checks = NumberAttribute(default=0)  # gateway queries made by the reconciliation sweep
    pending_pk = UnicodeAttribute(null=True)
    check_at = UnicodeAttribute(null=True)
    problem = UnicodeAttribute(null=True)  # the latest problem's kind
    problem_detail = MapAttribute(null=True)
    problem_count = NumberAttribute(null=True)
    problem_pk = UnicodeAttribute(null=True)
    problem_at = UnicodeAttribute(null=True)

    pending = PendingPayments()
    problems = PaymentProblems()
