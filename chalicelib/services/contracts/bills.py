"""One statement's change: its update (conditional on the status and version it read),
the money it moves on the contract's escrow account (`escrow:<contract>`), the releases
to the provider (less the platform fee, computed once on the statement's amount) and its
notices — ONE TransactWrite, through the optimistic loop every aggregate shares."""
from collections import Counter
from datetime import datetime, timedelta

from pynamodb.exceptions import DoesNotExist

from chalicelib import clock, settings
from chalicelib.domain import escrow as money
from chalicelib.domain import statements as bill
from chalicelib.domain.errors import NotFound
from chalicelib.domain.instructions import bill_release_id
from chalicelib.services import escrow, notifications
from chalicelib.storage import escrow_counters
from chalicelib.storage.contracts import (ContractModel, StatementModel, timer_due_key,
                                          timer_partition)
from chalicelib.storage.mirrored import MirroredUpdate
from chalicelib.storage.ledger import InstructionModel, PostingModel, new_instruction, new_posting


def load_statement(contract_id: str, statement_id: str) -> StatementModel:
    if not isinstance(statement_id, str) or not 1 <= len(statement_id) <= 128:
        raise NotFound("no such statement")
    try:
        return StatementModel.get(contract_id, statement_id, consistent_read=True)
    except DoesNotExist:
        raise NotFound("no such statement")


def days(n: int) -> timedelta:
    return timedelta(days=n)


def release_instruction(stmt: StatementModel, part: int, fee: int, n: int,
                        at: str) -> InstructionModel:
    """A release of `part` of a bill to its provider, done in the commit that decides it."""
    return new_instruction(bill_release_id(stmt.id, n), money.RELEASE, part,
                           provider_id=stmt.provider_id, at=at, done=True,
                           order_id=stmt.contract_id, fee=fee)


class BillChange(MirroredUpdate):
    """A statement's move and what it carries with it."""

    MODEL = StatementModel

    def __init__(self, stmt: StatementModel, to: str, now: datetime, *, title: str = ""):
        self.stmt, self.to, self.now, self.title = stmt, to, now, title
        self.at = clock.to_key(now)
        self.after = StatementModel.from_raw_data(stmt.serialize())
        # The contract's deposit and bill counters this move changes (one add each), and
        # its escrow's (storage.escrow_counters, which checks them).
        self.contract_deltas: Counter = Counter()
        self.escrow: dict = {}
        self.refunds: list[InstructionModel] = []  # through the gateway, after the commit
        self.extra: list = []  # other writes of the same transaction, each `op(tx)`
        self.postings: list[PostingModel] = []
        self.releases: list[InstructionModel] = []
        self.notices: list = []
        self.set(StatementModel.status, to)
        self.set(StatementModel.version, int(stmt.version) + 1)
        self.set(StatementModel.updated_at, self.at)

    def notify(self, user_id: str, kind: str, text: str):
        self.notices.append(notifications.notification_put(
            user_id, kind, order_id=self.stmt.contract_id, text=text, now=self.now))

    def notify_parties(self, kind: str, text: str):
        for user in (self.stmt.buyer_id, self.stmt.provider_id):
            self.notify(user, kind, text)

    # --- money ---------------------------------------------------------------------
    def move_escrow(self, deltas: dict):
        """A movement of the contract's escrow, written with this move's contract update
        (`commit`), or by the caller that moves the contract itself (`write_in`)."""
        self.escrow = escrow_counters.merged(self.escrow, deltas)

    def fund(self, trade_id: str, amount: int, ref: str):
        """Money from the gateway into the contract's escrow (a bill's payment)."""
        posting = money.posting_for(money.FUND, self.stmt.contract_id, self.stmt.provider_id,
                                    amount)
        # Under the trade's reference, as the gateway's payment record is: the
        # reconciliation matches the two by it (the account says whose escrow it is).
        self.postings.append(new_posting(money.funding_id(trade_id), money.FUND, posting,
                                         self.at, order_id=trade_id))
        self.set(StatementModel.payment_ref, ref)
        self.move_escrow(money.fund(amount))

    def release(self, part: int):
        """`part` of the bill out of escrow to the provider, with its share of the fee."""
        if part <= 0:
            return
        s = self.after
        total_fee = money.platform_fee(int(s.amount), settings.get().platform_fee_bps)
        # A postpaid bill may be paid in parts (the deposit, then the buyer); a prepaid
        # one is released whole.
        paid_before = int(self.stmt.paid) if s.billing == bill.POSTPAID else 0
        fee = bill.fee_part(total_fee, int(s.fee_taken), int(s.amount), paid_before, part)
        n = int(self.stmt.releases or 0) + len(self.releases)
        self.releases.append(release_instruction(self.stmt, part, fee, n, self.at))
        self.add(StatementModel.fee_taken, fee)
        self.add(StatementModel.releases, 1)

    def mark_paid(self):
        self.set(StatementModel.paid_at, self.at)
        if self.stmt.billing == bill.PREPAID:
            # Released after the period, when the buyer confirms or CONFIRM_DAYS pass.
            after_period = datetime.fromisoformat(self.stmt.period_end).replace(
                tzinfo=clock.MARKET_TIME) + days(1)
            start = max(after_period, self.now)
            self.set(StatementModel.confirm_by,
                     clock.to_key(start + days(settings.get().confirm_days)))

    def commit(self, tx):
        with tx:
            self.write_in(tx)
            deltas = {k: v for k, v in self.contract_deltas.items() if v}
            counters, held_covers = escrow_counters.update(ContractModel, self.escrow)
            if deltas or counters:
                attrs = ContractModel.get_attributes()
                tx.update("contract", ContractModel(self.stmt.contract_id),
                          actions=[attrs[k].add(v) for k, v in deltas.items()] + counters,
                          condition=held_covers)

    def write_in(self, tx):
        """The statement's own writes, for a transaction that also moves its contract."""
        s = self.stmt
        self._timer()
        tx.update("statement", StatementModel(s.contract_id, s.id), actions=self.actions,
                  condition=(StatementModel.status == s.status)
                  & (StatementModel.version == int(s.version)))
        for posting in self.postings:
            tx.save("posting", posting, condition=PostingModel.id.does_not_exist())
        for ins in self.refunds:
            tx.save("instruction", ins, condition=InstructionModel.id.does_not_exist())
        if self.releases:
            escrow.release_within(tx, self.releases, self.at)
        for op in self.extra:
            op(tx)
        if self.notices:
            notifications.write_in(tx, self.notices)

    def _timer(self):
        at = timer_of(self.after)
        self.set(StatementModel.timer_pk, timer_partition(self.stmt.id) if at else None)
        self.set(StatementModel.timer_due, timer_due_key(at, self.stmt.id) if at else None)
        self.set(StatementModel.disputed_pk, "DISPUTED" if self.to == bill.DISPUTED else None)


# The deadline a statement waits on in each state, and who must act before it.
_DEADLINES = {bill.OPEN: ("submit_by", "provider"), bill.SUBMITTED: ("confirm_by", "buyer"),
              bill.PAYABLE: ("pay_by", "buyer")}


def pending_deadline(s: StatementModel) -> tuple[str, str] | None:
    """(deadline name, who must act) the statement waits on now, or None."""
    if s.status == bill.PAID and s.billing == bill.PREPAID:
        return "confirm_by", "buyer"
    if s.status == bill.PAYABLE and s.overdue:
        return None
    return _DEADLINES.get(s.status)


def reminder_at(s: StatementModel) -> str | None:
    """When the 24 h reminder of the pending deadline is due, unless already sent."""
    pending = pending_deadline(s)
    if pending is None or not getattr(s, pending[0]) or \
            f"reminder:{pending[0]}:{s.status}" in (s.reminders_sent or []):
        return None
    before = timedelta(seconds=settings.get().reminder_before_seconds)
    return clock.to_key(clock.from_key(getattr(s, pending[0])) - before)


def timer_of(s: StatementModel) -> str | None:
    """The next moment the sweep acts on a statement: its reminder, then its deadline."""
    pending = pending_deadline(s)
    if pending is None:
        return None
    return min(filter(None, (reminder_at(s), getattr(s, pending[0]))), default=None)
