"""The contract's one change: read, `domain.contracts.decide`, and commit the decided move
as ONE TransactWrite — the contract update (conditional on the status and version it
read, bumping the version), its money (postings, instructions), the notices and their
unread counters, and whatever else the use case adds (a statement's update) — through
the optimistic loop every aggregate shares (services.optimistic).

Refunds leave through the gateway, so they stay instructions, executed right after the
commit by the one driver (services.instructions) or by the `release_escrow` sweep after a
crash. The escrow's counters change only through storage.escrow_counters (`move_escrow`),
which checks funded = held + released + refunded on every change.
"""
from datetime import datetime, timedelta

from pynamodb.exceptions import DoesNotExist

from chalicelib import clock
from chalicelib.domain import contracts as deal
from chalicelib.domain import escrow as money
from chalicelib.domain.actors import Caller
from chalicelib.domain.errors import InvalidTransition, ProviderNotApproved
from chalicelib.services import analytics, instructions, notifications, optimistic
from chalicelib.services.contracts.state import (facts, load, role_of, terms_of, timer_values,
                                                 today)
from chalicelib.storage import escrow_counters
from chalicelib.storage.catalog import ProviderModel
from chalicelib.storage.contracts import ContractModel, deposit_refund_id
from chalicelib.storage.mirrored import MirroredUpdate
from chalicelib.storage import status_shards
from chalicelib.storage.ledger import (InstructionModel, PostingModel, new_instruction,
                                       new_posting)


class Change(MirroredUpdate):
    """One contract move: the item's writes (mirrored in `after`), and other writes of
    the same transaction (`extra`, each `op(tx)`)."""

    MODEL = ContractModel

    def __init__(self, contract: ContractModel, to: str, actor: Caller, now: datetime, *,
                 effects: tuple = (), params: dict | None = None,
                 request_key: str | None = None):
        self.contract, self.to, self.actor, self.now = contract, to, actor, now
        self.params = params or {}
        self.at = clock.to_key(now)
        self.after = ContractModel.from_raw_data(contract.serialize())
        self.conditions: list = []
        self.extra: list = []
        self.notices: list = []
        self.instructions: list[InstructionModel] = []
        self.escrow: dict = {}  # the escrow counters' change (storage.escrow_counters)
        self.version = int(contract.version) + 1
        for attribute, value in ((ContractModel.status, to),
                                 (ContractModel.status_shard,
                                  status_shards.status_key(to, contract.id)),
                                 (ContractModel.version, self.version),
                                 (ContractModel.updated_at, self.at)):
            self.set(attribute, value)
        if request_key:
            self.set(ContractModel.request_key, request_key)
        for effect in effects:
            getattr(self, f"_{effect}")()

    # --- the contract item's writes, mirrored in `after` ----------------------------
    def notify(self, user_id: str, kind: str, text: str):
        self.notices.append(notifications.notification_put(
            user_id, kind, order_id=self.contract.id, service_id=self.contract.service_id,
            text=text, now=self.now))

    def notify_parties(self, kind: str, text: str):
        for user in (self.contract.buyer_id, self.contract.provider_id):
            self.notify(user, kind, text)

    # --- effects (domain.contracts names them) ----------------------------------------
    def _set_terms(self):
        self.set(ContractModel.terms, self.params["terms"])
        self.set(ContractModel.signed_by, [])

    def _record_signature(self):
        signed = sorted(set(self.contract.signed_by or ()) | {self.params["role"]})
        self.set(ContractModel.signed_by, signed)

    def _check_provider(self):
        # Read by the signing transaction itself: a suspension landing meanwhile refuses it.
        self.extra.append(lambda tx: tx.condition_check(
            "provider", ProviderModel, self.contract.provider_id,
            condition=ProviderModel.user_id.does_not_exist() | (ProviderModel.status == "approved")))

    def _fund_deposit(self):
        amount, ref = self.params["amount"], self.params["payment_ref"]
        self.add(ContractModel.deposit_paid, amount)
        self.move_escrow(money.fund(amount))
        self.set(ContractModel.payment_ref, ref)
        posting = money.posting_for(money.FUND, self.contract.id, self.contract.provider_id,
                                    amount)
        # Under the trade's reference (the contract's id, or `<id>_t<n>` after a trade
        # timed out), as the gateway's payment record is: the reconciliation pairs them.
        trade_id = self.params.get("trade_id") or self.contract.id
        self.extra.append(lambda tx: tx.save(
            "posting", new_posting(money.funding_id(trade_id), money.FUND, posting,
                                   self.at, order_id=self.contract.id),
            condition=PostingModel.id.does_not_exist()))

    def _set_live_on(self):
        day = today(self.now).isoformat()
        self.set(ContractModel.live_on, day)
        self.set(ContractModel.next_period_start, day)
        self.extra.append(lambda tx: analytics.contract_went_live(tx, self.contract.id, self.now))

    def _end_today(self):
        self.set(ContractModel.ends_on, today(self.now).isoformat())

    def _give_notice(self):
        terms = terms_of(self.contract)
        self.set(ContractModel.ends_on,
                 (today(self.now) + timedelta(days=terms.notice_days)).isoformat())

    def _refund_deposit(self):
        self.refund_deposit()

    def _record_suspension(self):
        self.set(ContractModel.suspended_from, self.contract.status)

    def _clear_suspension(self):
        self.set(ContractModel.suspended_from, None)

    # --- money ---------------------------------------------------------------------
    def move_escrow(self, deltas: dict):
        """A movement of the contract's escrow, checked (and mirrored in `after`) now,
        written with the contract's update."""
        escrow_counters.mirror(self.after, deltas)
        self.escrow = escrow_counters.merged(self.escrow, deltas)

    def refund_deposit(self, amount: int | None = None, *, payment_ref: str | None = None):
        """Send what the deposit still holds (or `amount` of it) back to the buyer,
        through the gateway (against `payment_ref`, default the deposit's trade):
        recorded here, paid by the instruction driver."""
        held = (int(self.after.deposit_paid) - int(self.after.deposit_used)
                - int(self.after.deposit_returned) - int(self.after.deposit_instructed or 0))
        amount = held if amount is None else amount
        if amount <= 0:
            return
        n = int(self.after.deposit_returned) + int(self.after.deposit_instructed or 0)
        ins = new_instruction(deposit_refund_id(self.contract.id, n), money.REFUND, amount,
                              provider_id=self.contract.provider_id, at=self.at,
                              order_id=self.contract.id,
                              payment_ref=payment_ref or self.after.payment_ref)
        self.instructions.append(ins)
        self.add(ContractModel.deposit_instructed, amount)
        # Never promise back more than the deposit still holds, whatever ran before (the
        # condition reads the item before this change's own adds, e.g. a late deposit's).
        needed = amount - self.escrow.get("held", 0)
        if needed > 0:
            self.conditions.append(ContractModel.escrow_held >= needed)

    def commit(self, tx):
        c = self.contract
        for name, value in timer_values(self.after, terms_of(self.after)).items():
            self.set(ContractModel.get_attributes()[name], value)
        with tx:
            condition = (ContractModel.status == c.status) & (ContractModel.version == int(c.version))
            counters, held_covers = escrow_counters.update(ContractModel, self.escrow, before=c)
            for extra in [*self.conditions, *([held_covers] if held_covers is not None else [])]:
                condition &= extra
            tx.update("contract", ContractModel(c.id), actions=self.actions + counters,
                      condition=condition)
            for ins in self.instructions:
                tx.save("instruction", ins, condition=InstructionModel.id.does_not_exist())
            for op in self.extra:
                op(tx)
            if self.notices:
                notifications.write_in(tx, self.notices)


def _refused(refusal, change) -> bool:
    if refusal.failed("provider"):
        raise ProviderNotApproved()
    if refusal.failed("posting"):
        return True  # funded meanwhile: the next read sees it
    return bool(refusal.failed("statement"))


def commit(build, now: datetime) -> Change | None:
    """Run a change through the optimistic loop; then pay out what it instructed."""
    change = optimistic.run(build, lock="contract", refused=_refused)
    if change is not None and change.instructions:
        done = instructions.execute_quietly(change.instructions, now)
        for ins in change.instructions:
            if ins.id in done:
                amount = int(ins.amount)
                change.after.deposit_instructed = int(change.after.deposit_instructed) - amount
                change.after.deposit_returned = int(change.after.deposit_returned) + amount
                escrow_counters.mirror(change.after, money.refund(amount))
    return change


def transition(actor: Caller, contract_id: str, action: str, now: datetime, *,
               params: dict | None = None, request_key: str | None = None,
               shape=None, read: ContractModel | None = None) -> ContractModel:
    """Apply one action to a contract: decide, commit conditionally, pay out; the
    contract as the move left it. `shape(change)` adds the use case's own writes
    (notices, a statement's update) to each attempt's change."""

    def build(attempt):
        contract = read if attempt == 0 and read is not None else load(contract_id)
        role = role_of(actor, contract)
        try:
            outcome = deal.decide(contract.status, action, role, facts(contract, role, now))
        except InvalidTransition:
            if request_key and contract.request_key == request_key:
                raise _AlreadyDone(contract)
            raise
        change = Change(contract, outcome.to, actor, now, effects=outcome.effects,
                        params={**(params or {}), "role": role}, request_key=request_key)
        change.outcome = outcome
        if shape:
            shape(change)
        return change

    try:
        return commit(build, now).after
    except _AlreadyDone as done:
        return done.contract


class _AlreadyDone(Exception):
    """This request's own change landed before (a retry whose answer was lost)."""

    def __init__(self, contract):
        super().__init__("already done")
        self.contract = contract


def get_or_none(contract_id: str) -> ContractModel | None:
    try:
        return ContractModel.get(contract_id, consistent_read=True)
    except DoesNotExist:
        return None
