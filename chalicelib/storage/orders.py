"""Orders, their event log and delivered files: the order side's PynamoDB models.

Access patterns (see README):
- order by id ....................................... orders: id
- a buyer's orders, newest first .................... orders.by_buyer: buyer_id, created_key
- a provider's orders, newest first ................. orders.by_provider: provider_id, created_key
- a buyer's orders in one status .................... orders.by_buyer_status: "<buyer>#<status>", created_key
- a provider's orders in one status ................. orders.by_provider_status: "<provider>#<status>", created_key
- orders with a pending timer, earliest first ....... orders.due_timers: "DUE#<shard>", "<due key>#<order id>" (sparse)
- every order in one status, by last change ......... orders.by_status_shard: "<status>#<shard>", updated_at
  (operators; storage.status_shards merges the shards)
- an order's events, oldest first ................... order_events: order_id, seq
- an order's delivered files ........................ deliverables: order_id, file_id
"""
from pynamodb.attributes import (BooleanAttribute, ListAttribute, MapAttribute, NumberAttribute,
                                 UnicodeAttribute)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.storage import shards
from chalicelib.storage.base import table

TIMER_PK = "DUE"
# Sorts after every character an order id may hold, so "<now>#~" bounds every key at now.
_AFTER_ANY_ID = "~"
# Ends the due_timers key of an order a failing sweep pushed back, to spot it on its retry.
RETRY_MARK = "#retry"


# --- keys: every composite key of the order tables is spelled here -------------------
def status_key(user_id: str, status: str) -> str:
    """by_buyer_status / by_provider_status: `<user>#<status>`."""
    return f"{user_id}#{status}"


def created_key(at_key: str, order_id: str) -> str:
    """The sort key of every orders index: `<created at key>#<order id>`."""
    return f"{at_key}#{order_id}"


def timer_partition(order_id: str) -> str:
    """due_timers' partition key of an order: `DUE#<shard>` (storage.shards)."""
    return shards.key(TIMER_PK, order_id)


def timer_due_key(at_key: str, order_id: str, *, retry: bool = False) -> str:
    """due_timers: `<due at key>#<order id>`, marked when a failing sweep deferred it."""
    return f"{at_key}#{order_id}{RETRY_MARK if retry else ''}"


def timer_due_bound(at_key: str) -> str:
    """The highest due_timers key due at `at_key`, whatever the order id."""
    return f"{at_key}#{_AFTER_ANY_ID}"


def is_retry_key(timer_due: str) -> bool:
    return timer_due.endswith(RETRY_MARK)


class ServiceSnapshot(MapAttribute):
    """The service as it was when ordered: later edits never change a placed order."""

    title = UnicodeAttribute()
    category = UnicodeAttribute(null=True)
    pricing = UnicodeAttribute()
    price = NumberAttribute()
    headline = UnicodeAttribute(null=True)
    logo_key = UnicodeAttribute(null=True)


class Milestone(MapAttribute):
    title = UnicodeAttribute()
    amount = NumberAttribute()
    release = UnicodeAttribute()  # on_approval | on_accept
    status = UnicodeAttribute(default="pending")  # pending | released | refunded
    # What partial refunds (部分退款) took off this step; `amount` is what is left of it.
    refunded = NumberAttribute(null=True)


class OrdersByBuyer(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_buyer"
        projection = AllProjection()

    buyer_id = UnicodeAttribute(hash_key=True)
    created_key = UnicodeAttribute(range_key=True)


class OrdersByProvider(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_provider"
        projection = AllProjection()

    provider_id = UnicodeAttribute(hash_key=True)
    created_key = UnicodeAttribute(range_key=True)


class OrdersByBuyerStatus(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_buyer_status"
        projection = AllProjection()

    buyer_status = UnicodeAttribute(hash_key=True)
    created_key = UnicodeAttribute(range_key=True)


class OrdersByProviderStatus(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_provider_status"
        projection = AllProjection()

    provider_status = UnicodeAttribute(hash_key=True)
    created_key = UnicodeAttribute(range_key=True)


class OrdersByStatusShard(GlobalSecondaryIndex):
    """The operators' lists (the dispute queue), write-sharded: `status_shard` is set with
    `status` by every write that sets it (storage.status_shards), so one status is not one
    hot key (docs/scale.md). A disputed order changes only when it is resolved, so for the
    queue `updated_at` is the moment the dispute was opened."""

    class Meta:
        index_name = "by_status_shard"
        projection = AllProjection()

    status_shard = UnicodeAttribute(hash_key=True)
    updated_at = UnicodeAttribute(range_key=True)


class DueTimers(GlobalSecondaryIndex):
    """Sparse: only orders with a pending timer carry timer_pk, so a sweep queries
    exactly the due work, earliest first, and never scans."""

    class Meta:
        index_name = "due_timers"
        projection = AllProjection()

    timer_pk = UnicodeAttribute(hash_key=True)
    timer_due = UnicodeAttribute(range_key=True)


@table("orders", money=True)
class OrderModel(Model):
    """One order. `status` and `version` are the optimistic lock every transition
    conditions on; the escrow_* numbers are the head of the order's escrow account."""

    class Meta:
        table_name = "orders"

    id = UnicodeAttribute(hash_key=True)
    buyer_id = UnicodeAttribute()
    provider_id = UnicodeAttribute()
    service_id = UnicodeAttribute()
    service = ServiceSnapshot()
    requirement = UnicodeAttribute()
    due_at = UnicodeAttribute()  # clock.to_key
    amount = NumberAttribute()  # fen
    # False while a negotiable order's amount waits for its provider's agreement; None on
    # orders placed before prices could be negotiated (their price stood).
    price_agreed = BooleanAttribute(null=True)
    currency = UnicodeAttribute(default="CNY")
    status = UnicodeAttribute()
    # `<status>#<shard>`, written with `status` (by_status_shard); None only on orders
    # written before it existed, until status_shards.backfill or their next transition.
    status_shard = UnicodeAttribute(null=True)
    version = NumberAttribute(default=1)
    milestones = ListAttribute(of=Milestone, default=list)
    current_step = NumberAttribute(default=0)
    revision_count = NumberAttribute(default=0)
    escrow_funded = NumberAttribute(default=0)
    escrow_released = NumberAttribute(default=0)
    escrow_refunded = NumberAttribute(default=0)
    escrow_held = NumberAttribute(default=0)
    # Recorded by a transition but not yet executed: held minus this is what is still
    # undecided, so a later refund never counts money already promised to the provider.
    escrow_instructed = NumberAttribute(default=0)
    payment_ref = UnicodeAttribute(null=True)
    created_key = UnicodeAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    paid_at = UnicodeAttribute(null=True)
    accepted_at = UnicodeAttribute(null=True)
    delivered_at = UnicodeAttribute(null=True)  # the latest delivery
    first_delivered_at = UnicodeAttribute(null=True)  # what "on time" is measured by
    completed_at = UnicodeAttribute(null=True)
    closed_at = UnicodeAttribute(null=True)
    late_cancel_eligible = BooleanAttribute(default=False)
    dispute = MapAttribute(null=True)  # the latest dispute
    # When each dispute was opened, the withdrawn ones too: what the daily figures'
    # disputes_opened counts can be recounted from (an order may be disputed again).
    disputes_opened_at = ListAttribute(of=UnicodeAttribute, null=True)
    timer_pk = UnicodeAttribute(null=True)
    timer_due = UnicodeAttribute(null=True)
    reminders_sent = ListAttribute(of=UnicodeAttribute, default=list)
    reviewed_by_buyer = BooleanAttribute(default=False)
    reviewed_by_provider = BooleanAttribute(default=False)
    buyer_status = UnicodeAttribute()
    provider_status = UnicodeAttribute()
    delivery_count = NumberAttribute(default=0)
    # The one open proposal (storage.proposals); removed by whatever ends it.
    open_proposal = UnicodeAttribute(null=True)
    # When the sweep ends it (clock.to_key), and whether it is a buyer's refund request
    # (granted then, 退款超时) rather than lapsing: timers, so they live on the order.
    proposal_expires_at = UnicodeAttribute(null=True)
    refund_request_open = BooleanAttribute(null=True)
    # Before and when ordering (issue 26): the inquiry a custom offer answered, and the
    # package, extras and requirement-form answers chosen, as they were when ordered.
    inquiry_id = UnicodeAttribute(null=True)
    package = MapAttribute(null=True)  # name, price, delivery_days, revisions, description
    extras = ListAttribute(of=MapAttribute, null=True)  # [{name, price}]
    answers = MapAttribute(null=True)  # question id -> text or attachment file id
    # The plan the buyer pays (issue 21): bumped by every price or plan change; a payment
    # funds the order only for the version it was started for (None: placed before, 1).
    plan_version = NumberAttribute(null=True)
    # The payment open at the gateway (its merchant reference, storage.payments), while
    # it is; `payment_seq` counts the payments started, naming the next one.
    pending_payment = UnicodeAttribute(null=True)
    payment_seq = NumberAttribute(null=True)
    # Whether the order holds one of its service's capacity slots (taken when a payment
    # starts; None: placed when placing took it) and counts among its buyer's unpaid
    # orders (UserModel.unpaid_orders).
    holds_slot = BooleanAttribute(null=True)
    unpaid_counted = BooleanAttribute(null=True)
    # Disputes the parties end (issue 24): when a withdrawn dispute restarted the relative
    # timers, and how much evidence each party gave in the open dispute (reset when one
    # opens; the submission's write is conditional on the count, so the cap holds).
    timers_restarted_at = UnicodeAttribute(null=True)
    evidence_by_buyer = NumberAttribute(null=True)
    evidence_by_provider = NumberAttribute(null=True)

    by_buyer = OrdersByBuyer()
    by_provider = OrdersByProvider()
    by_buyer_status = OrdersByBuyerStatus()
    by_provider_status = OrdersByProviderStatus()
    by_status_shard = OrdersByStatusShard()
    due_timers = DueTimers()


@table("order_events", money=True)
class OrderEventModel(Model):
    """One state change, written in the same transaction as the order; `seq` is the
    order's version after it, so two writers can never log the same step twice."""

    class Meta:
        table_name = "order_events"

    order_id = UnicodeAttribute(hash_key=True)
    seq = NumberAttribute(range_key=True)
    type = UnicodeAttribute()
    from_status = UnicodeAttribute(attr_name="from", null=True)
    to_status = UnicodeAttribute(attr_name="to", null=True)
    actor = UnicodeAttribute()
    at = UnicodeAttribute()  # clock.to_key
    data = MapAttribute(default=dict)
    # `<caller>#<Idempotency-Key>@<window start>` of the request that made the change, if any.
    request_key = UnicodeAttribute(null=True)


@table("deliverables")
class DeliverableModel(Model):
    """A file the provider asked to upload; `version` (the delivery that included it) and
    `pinned_key` (the copy that delivery fixed) are set together, once."""

    class Meta:
        table_name = "deliverables"

    order_id = UnicodeAttribute(hash_key=True)
    file_id = UnicodeAttribute(range_key=True)
    s3_key = UnicodeAttribute()  # where the upload form puts it
    pinned_key = UnicodeAttribute(null=True)  # the delivered bytes, never written again
    filename = UnicodeAttribute()
    content_type = UnicodeAttribute()
    size = NumberAttribute()
    created_at = UnicodeAttribute()
    version = NumberAttribute(null=True)  # the delivery number that included it
    note = UnicodeAttribute(null=True)
    delivered_at = UnicodeAttribute(null=True)
