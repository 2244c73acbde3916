"""Executing recorded releases and refunds: the only code that moves escrowed money.

A transition records an instruction (deterministic id, status pending) in the same
transaction as the state change that decides it; `execute_instruction` then moves the
money. It may run any number of times, concurrently, from the request that recorded
it or from the `release_escrow` sweep after a crash:
- a refund first asks the gateway, keyed by the instruction id, so a retry never
  refunds twice;
- then ONE transaction puts the posting under the instruction's id (attribute_not_exists:
  it can never be posted twice), moves the order's escrow counters (held never below
  zero), credits the provider's payable head (release), and marks the instruction done
  (only if still pending).
"""
import logging
from datetime import datetime

from pynamodb.exceptions import DoesNotExist, TransactWriteError

from chalicelib import clock, settings
from chalicelib.domain import escrow as money
from chalicelib.domain.retry import retry_delay
from chalicelib.storage.base import cancellation_codes, transact_write
from chalicelib.storage.ledger import PENDING_PK, AccountModel, InstructionModel, PostingModel
from chalicelib.storage.orders import OrderModel
from chalicelib.services import payments

log = logging.getLogger("market.escrow")

PENDING, DONE, PARKED = "pending", "done", "parked"
_ATTEMPTS_PER_CALL = 3


def new_instruction(order: OrderModel, kind: str, amount: int, step: int | None,
                    now: datetime) -> InstructionModel:
    """An unsaved pending instruction, to be put (attribute_not_exists) with its decision."""
    at = clock.to_key(now)
    return InstructionModel(
        money.instruction_id(order.id, kind, step), order_id=order.id, kind=kind,
        amount=amount, step=step, provider_id=order.provider_id,
        payment_ref=order.payment_ref, status=PENDING, attempts=0, created_at=at,
        pending_pk=PENDING_PK, next_attempt_at=at)


def execute_instruction(instruction_id: str, now: datetime) -> str:
    """Drive one instruction to done (idempotent, safe concurrently); its final status."""
    for _ in range(_ATTEMPTS_PER_CALL):
        try:
            ins = InstructionModel.get(instruction_id, consistent_read=True)
        except DoesNotExist:
            return "missing"
        if ins.status != PENDING:
            return ins.status
        try:
            if _post(ins, now):
                return DONE
        except Exception as error:  # noqa: BLE001 - any failure is recorded and retried later
            log.exception("instruction %s failed", instruction_id)
            return _record_failure(ins, error, now)
    return InstructionModel.get(instruction_id, consistent_read=True).status


def _post(ins: InstructionModel, now: datetime) -> bool:
    """One attempt; False when somebody else moved under us (re-read and decide again)."""
    gateway_ref = ins.gateway_ref
    if ins.kind == money.REFUND and ins.amount > 0:
        gateway_ref = payments.gateway().refund(ins.payment_ref, ins.amount, ins.id)
    posting = money.posting_for(ins.kind, ins.order_id, ins.provider_id, ins.amount)
    at = clock.to_key(now)
    counter = OrderModel.escrow_released if ins.kind == money.RELEASE else OrderModel.escrow_refunded
    try:
        with transact_write() as tx:
            tx.save(PostingModel(ins.id, from_account=posting.from_account,
                                 to_account=posting.to_account, amount=posting.amount,
                                 order_id=ins.order_id, kind=ins.kind, at=at,
                                 account=posting.to_account),
                    condition=PostingModel.id.does_not_exist())
            # held >= amount keeps escrow from ever going negative, whatever happened
            # before; the order's version is not touched so that money arriving never
            # makes a user's concurrent action fail.
            tx.update(OrderModel(ins.order_id),
                      actions=[OrderModel.escrow_held.add(-ins.amount),
                               counter.add(ins.amount),
                               OrderModel.escrow_instructed.add(-ins.amount)],
                      condition=OrderModel.escrow_held >= ins.amount)
            if ins.kind == money.RELEASE:
                tx.update(AccountModel(money.payable_account(ins.provider_id)),
                          actions=[AccountModel.balance.add(ins.amount),
                                   AccountModel.currency.set("CNY"),
                                   AccountModel.updated_at.set(at)])
            tx.update(ins, actions=[InstructionModel.status.set(DONE),
                                    InstructionModel.done_at.set(at),
                                    InstructionModel.pending_pk.remove(),
                                    InstructionModel.attempts.add(1),
                                    *([InstructionModel.gateway_ref.set(gateway_ref)]
                                      if gateway_ref else [])],
                      condition=InstructionModel.status == PENDING)
        return True
    except TransactWriteError as error:
        codes = cancellation_codes(error)
        if "TransactionConflict" in codes:
            return False
        if codes and (codes[0] == "ConditionalCheckFailed" or codes[-1] == "ConditionalCheckFailed"):
            # Already posted or already done by a concurrent run: re-read settles it.
            return False
        raise


def _record_failure(ins: InstructionModel, error: Exception, now: datetime) -> str:
    attempts = (ins.attempts or 0) + 1
    parked = attempts >= settings.get().instruction_max_attempts
    actions = [InstructionModel.attempts.set(attempts),
               InstructionModel.last_error.set(f"{type(error).__name__}: {error}"[:500]),
               InstructionModel.next_attempt_at.set(clock.to_key(now + retry_delay(attempts)))]
    if parked:
        # Parked instructions leave the pending index: a person must look at them.
        actions += [InstructionModel.status.set(PARKED), InstructionModel.pending_pk.remove()]
    try:
        ins.update(actions=actions, condition=InstructionModel.status == PENDING)
    except Exception:  # noqa: BLE001 - it stays pending and the sweep finds it again
        log.exception("could not record the failure of %s", ins.id)
    return PARKED if parked else PENDING


def execute_quietly(instruction_ids: list[str], now: datetime) -> None:
    """Run what a request just recorded; a failure leaves it pending for the sweep."""
    for instruction_id in instruction_ids:
        try:
            execute_instruction(instruction_id, now)
        except Exception:  # noqa: BLE001 - the decision is committed; the sweep finishes it
            log.exception("instruction %s left pending", instruction_id)


def pending_instructions(now: datetime, limit: int = 100, start_key=None):
    """Unfinished instructions whose next attempt is due, oldest first (sparse index)."""
    return InstructionModel.pending.query(
        PENDING_PK, InstructionModel.next_attempt_at <= clock.to_key(now), limit=limit,
        last_evaluated_key=start_key)


def balance(caller) -> dict:
    """What the ledger owes the caller: released earnings on their payable account."""
    try:
        head = AccountModel.get(money.payable_account(caller.user_id), consistent_read=True)
        available = int(head.balance or 0)
    except DoesNotExist:
        available = 0
    return {"available": available, "currency": "CNY"}
