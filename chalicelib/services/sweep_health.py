"""How each sweep's work stands after a run: the gauges operators alarm on.

Read from the same sparse indexes the sweeps drain (never a scan), each a query of one
item or a key-only count per shard (storage.shards, a few shards at a time), so a run
pays a few reads for them:
- the age of the oldest item due in the job's index (0 when nothing is late): a sweep
  that stops running, or cannot keep up, shows here first;
- the job's items parked for operators (GET /admin/stuck), and how many this run parked;
- per job what waits behind it: the notification outbox's backlog, payments with a
  problem, payouts not yet done, contract statements past a deadline.
"""
from datetime import datetime
from typing import Callable

from chalicelib import clock
from chalicelib.domain.payouts import PAYOUT
from chalicelib.services.stuck import PARKED
from chalicelib.storage import shards
from chalicelib.storage.contracts import TIMER_PK as CONTRACT_TIMER_PK
from chalicelib.storage.contracts import ContractModel, StatementModel
from chalicelib.storage.ledger import PENDING_PK as INSTRUCTION_PENDING_PK
from chalicelib.storage.ledger import InstructionModel
from chalicelib.storage.notifications import OUTBOX_PK, NotificationModel
from chalicelib.storage.orders import TIMER_PK, OrderModel
from chalicelib.storage.payments import PENDING_PK as PAYMENT_PENDING_PK
from chalicelib.storage.payments import PROBLEM_PK, PaymentModel
from chalicelib.storage.sweeps import STUCK_PK, StuckItemModel, stuck_key

# A backlog count reads the keys of every due notice; past this many the number no
# longer changes what an operator does, so the count stops there.
BACKLOG_CAP = 1000


def _oldest_due(index, hash_key: str, range_attribute: str) -> Callable[[], str | None]:
    def first() -> str | None:
        return shards.first_of(index, hash_key, range_attribute)

    return first


def _earliest(*firsts: Callable[[], str | None]) -> Callable[[], str | None]:
    """The earliest first key of several indexes a job drains (keys sort by due time)."""
    def first() -> str | None:
        return min((key for key in (f() for f in firsts) if key), default=None)

    return first


# job -> the first (earliest due) key of its index
_OLDEST = {
    "sweep_timeouts": _oldest_due(OrderModel.due_timers, TIMER_PK, "timer_due"),
    "release_escrow": _oldest_due(InstructionModel.pending, INSTRUCTION_PENDING_PK,
                                  "next_attempt_at"),
    "settle_payments": _oldest_due(PaymentModel.pending, PAYMENT_PENDING_PK, "check_at"),
    "deliver_notifications": _oldest_due(NotificationModel.outbox, OUTBOX_PK, "outbox_due"),
    "sweep_contracts": _earliest(
        _oldest_due(ContractModel.due_timers, CONTRACT_TIMER_PK, "timer_due"),
        _oldest_due(StatementModel.due_timers, CONTRACT_TIMER_PK, "timer_due")),
}


def _late_seconds(key: str | None, now: datetime) -> float:
    if not key:
        return 0.0
    # due_timers keys are `<due at>#<order id>`; the others are the due time itself.
    due = clock.from_key(key.split("#", 1)[0])
    return max(0.0, round((now - due).total_seconds(), 1))


def _outbox(now: datetime) -> dict[str, float]:
    due = shards.count(NotificationModel.outbox, OUTBOX_PK,
                       NotificationModel.outbox_due <= clock.to_key(now), cap=BACKLOG_CAP)
    return {"OutboxBacklog": min(due, BACKLOG_CAP)}


def _payments(now: datetime) -> dict[str, float]:
    return {"PaymentProblems": shards.count(PaymentModel.problems, PROBLEM_PK)}


def _payouts(now: datetime) -> dict[str, float]:
    pending = shards.count(InstructionModel.pending, INSTRUCTION_PENDING_PK,
                           filter_condition=InstructionModel.kind == PAYOUT)
    return {"WithdrawalsPending": pending}


def _statements(now: datetime) -> dict[str, float]:
    # A statement stays in its due index while a deadline of it (submit, confirm, pay)
    # is pending; one still there past the deadline after a run is work the sweep left.
    late = shards.count(StatementModel.due_timers, CONTRACT_TIMER_PK,
                        StatementModel.timer_due <= clock.to_key(now), cap=BACKLOG_CAP)
    return {"StatementsOverdue": min(late, BACKLOG_CAP)}


_WAITING = {"deliver_notifications": _outbox, "settle_payments": _payments,
            "release_escrow": _payouts, "sweep_contracts": _statements}


def _stuck(job: str, run_started: datetime) -> dict[str, float]:
    since = clock.to_key(run_started)

    def one(pk: str) -> tuple[int, int]:
        parked = parked_now = 0
        for record in StuckItemModel.query(pk, StuckItemModel.item_key.startswith(
                stuck_key(job, "")), consistent_read=True,
                attributes_to_get=["status", "last_failed_at"]):
            if record.status == PARKED:
                parked += 1
                parked_now += record.last_failed_at >= since
        return parked, parked_now

    counts = shards.fan_out(STUCK_PK, one)
    return {"StuckItems": sum(c[0] for c in counts), "SweepParked": sum(c[1] for c in counts)}


def gauges(job: str, now: datetime, run_started: datetime) -> dict[str, float]:
    """The job's gauges at `now`, after a run that began at `run_started`."""
    out = _stuck(job, run_started)
    if job in _OLDEST:
        out["OldestDueAgeSeconds"] = _late_seconds(_OLDEST[job](), now)
    if job in _WAITING:
        out.update(_WAITING[job](now))
    return out
