"""Contracts (包月合同) and their statements: PynamoDB models and keys.

Access patterns (see README):
- contract by id .................................. contracts: id
- a buyer's contracts, newest first ............... contracts.by_buyer: buyer_id, created_key
- a provider's contracts, newest first ............ contracts.by_provider: provider_id, created_key
- contracts in one status, longest in it first .... contracts.by_status_shard: "<status>#<shard>", updated_at
  (operators; storage.status_shards merges the shards)
- contracts with a due timer, earliest first ...... contracts.due_timers: "DUE#<shard>", "<due key>#<id>" (sparse)
- a contract's statements, by period .............. statements: contract_id, id (ids sort by period_start)
- statements with a due deadline, earliest first .. statements.due_timers: "DUE#<shard>", "<due key>#<id>" (sparse)
- disputed statements, oldest first ............... statements.disputed: "DISPUTED", updated_at (sparse)
"""
from pynamodb.attributes import (BooleanAttribute, ListAttribute, MapAttribute, NumberAttribute,
                                 UnicodeAttribute)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.storage import shards
from chalicelib.storage.base import table

TIMER_PK = "DUE"
DISPUTED_PK = "DISPUTED"
CONTRACT_PREFIX, STATEMENT_PREFIX = "ctr_", "stm_"


def timer_partition(item_id: str) -> str:
    """due_timers' partition key of a contract or statement: `DUE#<shard>` (storage.shards)."""
    return shards.key(TIMER_PK, item_id)


def timer_due_key(at_key: str, item_id: str) -> str:
    return f"{at_key}#{item_id}"


def timer_due_bound(at_key: str) -> str:
    return f"{at_key}#~"


def statement_id(contract_id: str, period_start: str) -> str:
    """Deterministic: the statement of a period can be opened once, however often the
    sweep tries (`stm_<contract>_<YYYYMMDD>`, sorting by period)."""
    return f"{STATEMENT_PREFIX}{contract_id.removeprefix(CONTRACT_PREFIX)}_{period_start.replace('-', '')}"


def contract_of_statement(stmt_id: str) -> str:
    return CONTRACT_PREFIX + stmt_id.removeprefix(STATEMENT_PREFIX).rsplit("_", 1)[0]


def is_contract_money(ref: str | None) -> bool:
    """Whether a payment reference or escrow holder is a contract's (its deposit or a
    statement's bill) rather than an order's."""
    return bool(ref) and ref.startswith((CONTRACT_PREFIX, STATEMENT_PREFIX))


def _index(name: str, hash_name: str, range_name: str):
    meta = type("Meta", (), {"index_name": name, "projection": AllProjection()})
    return type(f"Index_{name}", (GlobalSecondaryIndex,), {
        "Meta": meta, hash_name: UnicodeAttribute(hash_key=True),
        range_name: UnicodeAttribute(range_key=True)})


class ServiceRef(MapAttribute):
    title = UnicodeAttribute()
    category = UnicodeAttribute(null=True)


@table("contracts", money=True)
class ContractModel(Model):
    """One contract. `status` and `version` are the optimistic lock every change
    conditions on; `deposit_*` and `escrow_held` are the head of its escrow account
    (`escrow:<id>`: the deposit still held plus prepaid bills not yet released)."""

    class Meta:
        table_name = "contracts"

    id = UnicodeAttribute(hash_key=True)
    buyer_id = UnicodeAttribute()
    provider_id = UnicodeAttribute()
    service_id = UnicodeAttribute()
    service = ServiceRef()
    requirement = UnicodeAttribute()
    terms = MapAttribute()
    signed_by = ListAttribute(of=UnicodeAttribute, default=list)
    status = UnicodeAttribute()
    # `<status>#<shard>`, written with `status` (by_status_shard; storage.status_shards).
    status_shard = UnicodeAttribute(null=True)
    version = NumberAttribute(default=1)
    live_on = UnicodeAttribute(null=True)  # YYYY-MM-DD, Beijing
    ends_on = UnicodeAttribute(null=True)  # the last day served
    next_period_start = UnicodeAttribute(null=True)  # the next statement to open
    suspended_from = UnicodeAttribute(null=True)
    deposit_paid = NumberAttribute(default=0)
    deposit_used = NumberAttribute(default=0)
    deposit_returned = NumberAttribute(default=0)
    deposit_instructed = NumberAttribute(default=0)  # a refund recorded, not yet paid out
    escrow_held = NumberAttribute(default=0)
    # The rest of the escrow's counters (funded = held + released + refunded): changed,
    # with escrow_held, only through storage.escrow_counters.
    escrow_funded = NumberAttribute(default=0)
    escrow_released = NumberAttribute(default=0)
    escrow_refunded = NumberAttribute(default=0)
    bills_refunded = NumberAttribute(default=0)  # bills' excess sent back to the buyer
    bills_instructed = NumberAttribute(default=0)
    deposit_check_on = UnicodeAttribute(null=True)  # ended: when to try returning it again
    payment_ref = UnicodeAttribute(null=True)  # the deposit's gateway reference
    terminated = MapAttribute(null=True)  # {"by", "reason", "at"}
    request_key = UnicodeAttribute(null=True)  # of the request that made the latest change
    created_key = UnicodeAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    timer_pk = UnicodeAttribute(null=True)
    timer_due = UnicodeAttribute(null=True)

    by_buyer = _index("by_buyer", "buyer_id", "created_key")()
    by_provider = _index("by_provider", "provider_id", "created_key")()
    by_status_shard = _index("by_status_shard", "status_shard", "updated_at")()
    due_timers = _index("due_timers", "timer_pk", "timer_due")()


@table("statements", money=True)
class StatementModel(Model):
    """One period's bill. Conditional on `status` and `version` like the contract."""

    class Meta:
        table_name = "statements"

    contract_id = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)
    buyer_id = UnicodeAttribute()
    provider_id = UnicodeAttribute()
    billing = UnicodeAttribute()
    kind = UnicodeAttribute()  # trial | regular
    period_start = UnicodeAttribute()
    period_end = UnicodeAttribute()
    days = NumberAttribute()
    length = NumberAttribute()
    commission_bps = NumberAttribute(default=0)
    status = UnicodeAttribute()
    version = NumberAttribute(default=1)
    base = NumberAttribute()
    sales = NumberAttribute(null=True)
    commission = NumberAttribute(default=0)
    amount = NumberAttribute(null=True)
    paid = NumberAttribute(default=0)  # by the buyer or from the deposit, in all
    paid_from_deposit = NumberAttribute(default=0)
    fee_taken = NumberAttribute(default=0)
    releases = NumberAttribute(default=0)  # parts released to the provider (release ids)
    payment_ref = UnicodeAttribute(null=True)  # the gateway reference of its latest payment
    kpis = MapAttribute(null=True)
    files = ListAttribute(of=UnicodeAttribute, default=list)
    dispute = MapAttribute(null=True)
    resolution = MapAttribute(null=True)
    repriced = MapAttribute(null=True)  # cut short by a termination (prepaid)
    opened_at = UnicodeAttribute()
    submitted_at = UnicodeAttribute(null=True)
    payable_at = UnicodeAttribute(null=True)
    submit_by = UnicodeAttribute(null=True)
    confirm_by = UnicodeAttribute(null=True)
    pay_by = UnicodeAttribute(null=True)
    paid_at = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute()
    timer_pk = UnicodeAttribute(null=True)
    timer_due = UnicodeAttribute(null=True)
    disputed_pk = UnicodeAttribute(null=True)
    overdue = BooleanAttribute(default=False)
    reminders_sent = ListAttribute(of=UnicodeAttribute, default=list)  # reminder:<deadline>:<state>
    request_key = UnicodeAttribute(null=True)  # of the request that made the latest change

    due_timers = _index("statement_due_timers", "timer_pk", "timer_due")()
    disputed = _index("disputed", "disputed_pk", "updated_at")()


def deposit_refund_id(contract_id: str, n: int = 0) -> str:
    return f"{contract_id}:refund:deposit" + (f":{n}" if n else "")


def refunded(instruction_id: str, amount: int) -> list:
    """A contract's deposit or bill counters once a recorded refund has left through the
    gateway: of its deposit, or of a bill's excess (paid twice, or resolved lower). The
    escrow's own counters move through storage.escrow_counters."""
    if ":refund:deposit" in instruction_id:
        return [ContractModel.deposit_returned.add(amount),
                ContractModel.deposit_instructed.add(-amount)]
    return [ContractModel.bills_refunded.add(amount),
            ContractModel.bills_instructed.add(-amount)]
