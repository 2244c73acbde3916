"""Executing recorded releases and refunds: the only code that moves escrowed money, and
the one driver of every money instruction (payouts are settled by services.payouts).

A release (escrow → provider) never leaves the platform: it is written whole, done, in
the transaction of the move that decides it (`release_within`). A refund must go through
the gateway: its move records an instruction (deterministic id, status pending) in the
same transaction, and `execute_instruction` then moves the money. It may run any number
of times, concurrently, from the request that recorded it or from the `release_escrow`
sweep after a crash:
- a refund first asks the gateway, keyed by the instruction id, so a retry never
  refunds twice;
- then ONE transaction puts the posting under the instruction's id (attribute_not_exists:
  it can never be posted twice), moves the order's escrow counters (held never below
  zero), and marks the instruction done (only if still pending). A pending release (left
  by a version that recorded releases as instructions) is driven the same way and also
  credits the provider's payable head.
"""
import logging
from dataclasses import dataclass
from datetime import datetime

from pynamodb.exceptions import DoesNotExist, TransactWriteError

from chalicelib import clock, observability, settings
from chalicelib.domain import escrow as money
from chalicelib.domain import payouts as payout_rules
from chalicelib.services import payouts, stuck
from chalicelib import payments
from chalicelib.storage import shards
from chalicelib.storage.base import transaction
from chalicelib.storage.contracts import ContractModel, is_contract_money, refunded
from chalicelib.storage.ledger import (PENDING_PK, AccountModel, InstructionModel, PostingModel,
                                       new_posting, pending_partition)
from chalicelib.storage.orders import OrderModel

log = logging.getLogger("market.escrow")

PENDING, DONE, PARKED = "pending", "done", "parked"
_ATTEMPTS_PER_CALL = 3


def new_instruction(order: OrderModel, kind: str, amount: int, step: int | None,
                    now: datetime, *, instruction_id: str | None = None) -> InstructionModel:
    """An unsaved pending instruction, to be put (attribute_not_exists) with its decision."""
    at = clock.to_key(now)
    # The fee is fixed with the decision: changing PLATFORM_FEE_BPS later never changes
    # what an already approved step pays.
    fee = money.platform_fee(amount, settings.get().platform_fee_bps) \
        if kind == money.RELEASE else None
    instruction_id = instruction_id or money.instruction_id(order.id, kind, step)
    return InstructionModel(
        instruction_id, order_id=order.id,
        kind=kind,
        amount=amount, fee=fee, step=step, provider_id=order.provider_id,
        payment_ref=order.payment_ref, status=PENDING, attempts=0, created_at=at,
        pending_pk=pending_partition(instruction_id), next_attempt_at=at)


def execute_instruction(instruction_id: str, now: datetime, *,
                        written: InstructionModel | None = None) -> str:
    """Drive one instruction to done (idempotent, safe concurrently); its final status.
    `written`: the instruction as its caller has just committed it, which spares the
    first attempt a read (the posting transaction is conditional on it being pending)."""
    for attempt in range(_ATTEMPTS_PER_CALL):
        try:
            ins = written if attempt == 0 and written is not None else \
                InstructionModel.get(instruction_id, consistent_read=True)
        except DoesNotExist:
            return "missing"
        if ins.status != PENDING:
            return ins.status
        try:
            if _post(ins, now):
                return DONE
        except Exception as error:  # any failure is recorded and retried later
            log.exception("instruction %s failed", instruction_id)
            return _record_failure(ins, error, now)
    return InstructionModel.get(instruction_id, consistent_read=True).status


def _post(ins: InstructionModel, now: datetime) -> bool:
    """One attempt; False when somebody else moved under us (re-read and decide again)."""
    if ins.kind == payout_rules.PAYOUT:
        return payouts.execute_payout(ins, now)
    gateway_ref = ins.gateway_ref
    if ins.kind == money.REFUND and ins.amount > 0:
        gateway_ref = payments.gateway().refund(ins.payment_ref, ins.amount, ins.id)
    at = clock.to_key(now)
    counter = OrderModel.escrow_released if ins.kind == money.RELEASE else OrderModel.escrow_refunded
    tx = transaction()
    try:
        with tx:
            for posting in _postings(ins, at):
                tx.save("posting", posting, condition=PostingModel.id.does_not_exist())
            # held >= amount keeps escrow from ever going negative, whatever happened
            # before; the order's version is not touched so that money arriving never
            # makes a user's concurrent action fail.
            if is_contract_money(ins.order_id):
                # A contract's escrow (deposit, bills) is counted on the contract.
                tx.update("order", ContractModel(ins.order_id),
                          actions=refunded(ins.id, ins.amount),
                          condition=ContractModel.escrow_held >= ins.amount)
            else:
                tx.update("order", OrderModel(ins.order_id),
                          actions=[OrderModel.escrow_held.add(-ins.amount),
                                   counter.add(ins.amount),
                                   OrderModel.escrow_instructed.add(-ins.amount)],
                          condition=OrderModel.escrow_held >= ins.amount)
            net = ins.amount - int(ins.fee or 0)
            if ins.kind == money.RELEASE and net:
                tx.update("account", AccountModel(money.payable_account(ins.provider_id)),
                          actions=[AccountModel.balance.add(net),
                                   AccountModel.currency.set("CNY"),
                                   AccountModel.updated_at.set(at)])
            tx.update("instruction", ins,
                      actions=[InstructionModel.status.set(DONE),
                               InstructionModel.done_at.set(at),
                               InstructionModel.pending_pk.remove(),
                               InstructionModel.attempts.add(1),
                               *([InstructionModel.gateway_ref.set(gateway_ref)]
                                 if gateway_ref else [])],
                      condition=InstructionModel.status == PENDING)
        observability.money_moved(ins.kind, ins.amount)
        return True
    except TransactWriteError as error:
        refusal = tx.refusal(error)
        if refusal.conflict:
            return False
        if refusal.failed("posting") or refusal.failed("instruction"):
            # Already posted or already done by a concurrent run: re-read settles it.
            return False
        raise


def _postings(ins: InstructionModel, at: str) -> list[PostingModel]:
    """The postings of one release or refund, each under a deterministic id (the
    instruction's, and `<instruction>:fee` beside a release's), so that nothing can be
    posted twice. The platform's revenue has no head item: its balance is the sum of
    its postings, and a head that every release in the market updated would make them
    conflict with each other."""
    if ins.kind != money.RELEASE:
        posting = money.posting_for(ins.kind, ins.order_id, ins.provider_id, ins.amount)
        return [new_posting(ins.id, ins.kind, posting, at, order_id=ins.order_id)]
    fee = int(ins.fee or 0)
    return [new_posting(ins.id if kind == money.RELEASE else money.fee_posting_id(ins.id),
                        kind, posting, at, order_id=ins.order_id,
                        fee=fee if kind == money.RELEASE else None)
            for kind, posting in money.release_postings(ins.order_id, ins.provider_id,
                                                        ins.amount, fee)]


def _record_failure(ins: InstructionModel, error: Exception, now: datetime) -> str:
    attempts = (ins.attempts or 0) + 1
    parked = attempts >= settings.get().instruction_max_attempts
    backoff = stuck.backoff(attempts)
    actions = [InstructionModel.attempts.set(attempts),
               InstructionModel.last_error.set(f"{type(error).__name__}: {error}"[:500]),
               InstructionModel.next_attempt_at.set(clock.to_key(now + backoff))]
    if parked:
        # Parked instructions leave the pending index: a person must look at them.
        actions += [InstructionModel.status.set(PARKED), InstructionModel.pending_pk.remove()]
    try:
        ins.update(actions=actions, condition=InstructionModel.status == PENDING)
    except Exception:  # it stays pending and the sweep finds it again
        log.exception("could not record the failure of %s", ins.id)
    return PARKED if parked else PENDING


def execute_quietly(written: list[InstructionModel], now: datetime) -> set[str]:
    """Run what a request has just committed; a failure leaves it pending for the sweep.
    The ids of those now done."""
    done = set()
    for ins in written:
        try:
            if execute_instruction(ins.id, now, written=ins) == DONE:
                done.add(ins.id)
        except Exception:  # the decision is committed; the sweep finishes it
            log.exception("instruction %s left pending", ins.id)
    return done


@dataclass(frozen=True)
class Heads:
    """A provider's available balance and debt as read before a move that changes them;
    the move's transaction is conditional on both still being what was read."""

    provider_id: str
    available: int | None  # None: no payable head yet
    debt_balance: int | None  # the debt account's balance (≤ 0); None: no head yet

    @property
    def owed(self) -> int:
        return -int(self.debt_balance or 0)


def read_heads(provider_id: str) -> Heads:
    """The provider's payable and debt heads, read consistently."""
    def balance(account: str) -> int | None:
        try:
            return int(AccountModel.get(account, consistent_read=True).balance or 0)
        except DoesNotExist:
            return None

    return Heads(provider_id, balance(money.payable_account(provider_id)),
                 balance(money.debt_account(provider_id)))


def _unchanged(head: int | None):
    return AccountModel.balance.does_not_exist() if head is None \
        else AccountModel.balance == head


def released_fee(order_id: str, step: int) -> int:
    """The platform fee a released step paid (fixed on its release instruction)."""
    try:
        ins = InstructionModel.get(money.instruction_id(order_id, money.RELEASE, step),
                                   consistent_read=True)
    except DoesNotExist:
        return 0
    return int(ins.fee or 0)


def reverse_within(tx, order_id: str, reversals: list, heads: Heads, at: str) -> None:
    """Deposit reversals (全额退款) written into the transaction of the cancel that decides
    them: per step, a done `reversal` instruction (its deterministic id makes it happen
    once, and carries the fee the revenue gives back) and its postings — debt → payable
    for what the available balance cannot cover, payable → escrow for the provider's
    part, revenue → escrow for the fee. The heads move once, conditional on being what
    was read (so the split between available and debt is exact). The caller moves the
    order's escrow counters (released down, held up) in its own update."""
    provider = heads.provider_id
    for r in reversals:
        ins_id = money.instruction_id(order_id, money.REVERSAL, r.step)
        tx.save("reversal", InstructionModel(
            ins_id, order_id=order_id, kind=money.REVERSAL, amount=r.amount, fee=r.fee,
            step=r.step, provider_id=provider, status=DONE, attempts=1, created_at=at,
            done_at=at, next_attempt_at=at), condition=InstructionModel.id.does_not_exist())
        for suffix, kind, posting in r.postings(order_id, provider):
            tx.save("posting", new_posting(f"{ins_id}:{suffix}", kind, posting, at,
                                           order_id=order_id),
                    condition=PostingModel.id.does_not_exist())
    borrowed = sum(r.borrowed for r in reversals)
    change = borrowed - sum(r.amount - r.fee for r in reversals)
    if change:
        # Never below zero: what was available is taken, the rest was borrowed.
        tx.update("provider_available", AccountModel(money.payable_account(provider)),
                  actions=[AccountModel.balance.add(change), AccountModel.updated_at.set(at)],
                  condition=_unchanged(heads.available))
    if borrowed:
        tx.update("provider_debt", AccountModel(money.debt_account(provider)),
                  actions=[AccountModel.balance.add(-borrowed), AccountModel.currency.set("CNY"),
                           AccountModel.updated_at.set(at)],
                  condition=_unchanged(heads.debt_balance))


def release_within(tx, releases: list[InstructionModel], at: str, *,
                   heads: Heads | None = None) -> None:
    """Releases (escrow → one provider) written into the transaction of the move that
    decides them: each instruction recorded done and its postings put, both under their
    deterministic ids (attribute_not_exists, so the same release can never be written
    twice), and the provider's payable head credited once with their sum, since a
    transaction touches an item once. The caller moves the order's escrow counters in
    its own update of the order, conditioned on escrow_held covering them."""
    net = 0
    for ins in releases:
        ins.status, ins.done_at, ins.attempts = DONE, at, 1
        ins.pending_pk = None  # never in the pending index: nothing is left to do
        tx.save("instruction", ins, condition=InstructionModel.id.does_not_exist())
        for posting in _postings(ins, at):
            tx.save("posting", posting, condition=PostingModel.id.does_not_exist())
        net += int(ins.amount) - int(ins.fee or 0)
    # A provider in debt (a reversed deposit) repays it before its available balance
    # grows: the repayment is a posting of its own, shown on its statement.
    repay = money.debt_repayment(net, heads.owed) if heads is not None else 0
    if repay:
        provider = releases[0].provider_id
        tx.save("posting", new_posting(
            f"{releases[0].id}:{money.DEBT_REPAYMENT}", money.DEBT_REPAYMENT,
            money.Posting(money.payable_account(provider), money.debt_account(provider), repay),
            at, order_id=releases[0].order_id), condition=PostingModel.id.does_not_exist())
        tx.update("provider_debt", AccountModel(money.debt_account(provider)),
                  actions=[AccountModel.balance.add(repay), AccountModel.updated_at.set(at)],
                  condition=_unchanged(heads.debt_balance))
    if net - repay:
        tx.update("account", AccountModel(money.payable_account(releases[0].provider_id)),
                  actions=[AccountModel.balance.add(net - repay),
                           AccountModel.currency.set("CNY"), AccountModel.updated_at.set(at)])


def pending_instructions(now: datetime, limit: int = 100, start_key=None):
    """Unfinished instructions whose next attempt is due (sparse index), oldest first in
    each shard."""
    return shards.query(InstructionModel.pending, PENDING_PK,
                        InstructionModel.next_attempt_at <= clock.to_key(now), limit=limit,
                        start_key=start_key)[0]


def balance(caller) -> dict:
    """What the ledger owes the caller: available earnings and withdrawals in flight."""
    return payouts.balance(caller)
