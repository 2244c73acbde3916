"""Escrow's money movements: the only code that moves escrowed money, and the executor
of release and refund instructions (services.instructions drives them; payouts are
services.payouts').

A release (escrow → provider) never leaves the platform: it is written whole, done, in
the transaction of the move that decides it (`release_within`). A refund must go through
the gateway: its move records an instruction (deterministic id, pending) in the same
transaction, and `execute` then moves the money, as often as the driver asks:
- a refund first asks the gateway, keyed by the instruction id, so a retry never
  refunds twice;
- then ONE transaction puts the posting under the instruction's id (attribute_not_exists:
  it can never be posted twice), moves the escrow's counters (storage.escrow_counters:
  held never below zero), and marks the instruction done (only if still pending). A
  pending release (left by a version that recorded releases as instructions) is driven
  the same way and also credits the provider's payable head.
"""
import logging
from dataclasses import dataclass
from datetime import datetime

from pynamodb.exceptions import DoesNotExist, TransactWriteError

from chalicelib import clock, observability, payments, settings
from chalicelib.domain import escrow as money
from chalicelib.domain.instructions import DONE, PENDING
from chalicelib.services import instructions
from chalicelib.storage import escrow_counters
from chalicelib.storage.base import transaction
from chalicelib.storage.contracts import ContractModel, is_contract_money, refunded
from chalicelib.storage.ledger import (AccountModel, InstructionModel, PostingModel,
                                       new_instruction, new_posting)
from chalicelib.storage.orders import OrderModel

log = logging.getLogger("market.escrow")


def order_instruction(order: OrderModel, kind: str, amount: int, step: int | None,
                      now: datetime, *, instruction_id: str | None = None,
                      done: bool = False) -> InstructionModel:
    """An order's release or refund (storage.ledger.new_instruction), under its
    deterministic id, to be put (attribute_not_exists) with its decision."""
    # The fee is fixed with the decision: changing PLATFORM_FEE_BPS later never changes
    # what an already approved step pays.
    fee = money.platform_fee(amount, settings.get().platform_fee_bps) \
        if kind == money.RELEASE else None
    return new_instruction(instruction_id or money.instruction_id(order.id, kind, step), kind,
                           amount, provider_id=order.provider_id, at=clock.to_key(now),
                           done=done, order_id=order.id, step=step, fee=fee,
                           payment_ref=order.payment_ref)


def execute(ins: InstructionModel, now: datetime) -> bool:
    """One attempt at a release or refund; False when somebody else moved under us
    (re-read and decide again)."""
    gateway_ref = ins.gateway_ref
    if ins.kind == money.REFUND and ins.amount > 0:
        gateway_ref = payments.gateway().refund(ins.payment_ref, ins.amount, ins.id)
    at = clock.to_key(now)
    amount = int(ins.amount)
    moved = money.release(amount) if ins.kind == money.RELEASE else money.refund(amount)
    tx = transaction()
    try:
        with tx:
            for posting in _postings(ins, at):
                tx.save("posting", posting, condition=PostingModel.id.does_not_exist())
            # held >= amount keeps escrow from ever going negative, whatever happened
            # before; the aggregate's version is not touched so that money arriving
            # never makes a user's concurrent action fail.
            if is_contract_money(ins.order_id):
                # A contract's escrow (deposit, bills) is counted on the contract.
                actions, condition = escrow_counters.update(ContractModel, moved)
                tx.update("order", ContractModel(ins.order_id),
                          actions=actions + refunded(ins.id, amount), condition=condition)
            else:
                actions, condition = escrow_counters.update(OrderModel, moved,
                                                            instructed=-amount)
                tx.update("order", OrderModel(ins.order_id), actions=actions,
                          condition=condition)
            net = amount - int(ins.fee or 0)
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
        tx.save("reversal", new_instruction(
            ins_id, money.REVERSAL, r.amount, provider_id=provider, at=at, done=True,
            order_id=order_id, step=r.step, fee=r.fee),
            condition=InstructionModel.id.does_not_exist())
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
        if ins.status != DONE:
            raise ValueError(f"release {ins.id} is written whole: made done, never pending")
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


# Releases and refunds are this module's to execute.
instructions.register(money.RELEASE, execute)
instructions.register(money.REFUND, execute)
