"""Payouts (提现): a provider's payout account, asking for a withdrawal, paying it out, and
the caller's withdrawals and statement.

Asking moves the money at once, in ONE transaction: the payable head drops (only if it
stays ≥ 0), the withdrawing head rises, and the withdrawal, its posting and its payout
instruction are put under ids that cannot be put twice. The instruction is then driven
by the same driver as releases and refunds (`services.escrow.execute_instruction`, from
the `release_escrow` job): backoff, parking and the operators' view come with it.
`execute_payout` asks the gateway to transfer, keyed by the withdrawal id so that
asking again never pays twice, and settles the withdrawal in one transaction that is
conditional on it still being pending — so it ends paid or failed exactly once.
"""
import logging
from datetime import datetime

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactGet

from chalicelib import clock, ids, observability
from chalicelib.domain import payouts as rules
from chalicelib.domain.actors import Caller
from chalicelib.domain.errors import (Conflict, InsufficientBalance, NotFound,
                                      PayoutAccountRequired, ProviderNotApproved)
from chalicelib.domain.escrow import debt_account, payable_account
from chalicelib.domain.providers import PUBLIC_STATUSES
from chalicelib import payments
from chalicelib.storage.base import connection, transaction
from chalicelib.storage.catalog import get_provider
from chalicelib.storage.ledger import (AccountModel, InstructionModel, PostingModel, new_posting,
                                      pending_partition)
from chalicelib.storage.payouts import PayoutAccountModel, WithdrawalModel

log = logging.getLogger("market.payouts")

_ATTEMPTS = 3


# --- the payout account ------------------------------------------------------------
def set_payout_account(caller: Caller, *, account: str, name: str, now: datetime) -> dict:
    """Set where the caller's withdrawals are paid (approved or suspended providers: a
    suspended provider is still owed what they earned)."""
    profile = get_provider(caller.user_id)
    if profile is None or profile.status not in PUBLIC_STATUSES:
        raise ProviderNotApproved(status=profile.status if profile else "none")
    item = PayoutAccountModel(caller.user_id, account=account.strip(), name=name.strip(),
                              updated_at=clock.to_key(now))
    item.save()
    return present_account(item)


def get_payout_account(caller: Caller) -> dict:
    """The caller's payout account; 404 before one is set."""
    item = _payout_account(caller.user_id)
    if item is None:
        raise NotFound("no payout account yet")
    return present_account(item)


def _payout_account(user_id: str) -> PayoutAccountModel | None:
    try:
        return PayoutAccountModel.get(user_id, consistent_read=True)
    except DoesNotExist:
        return None


def present_account(item: PayoutAccountModel) -> dict:
    return {"account": item.account, "name": item.name,
            "updated_at": clock.key_to_iso(item.updated_at)}


# --- asking for a withdrawal ---------------------------------------------------------
def request_withdrawal(caller: Caller, amount: int, now: datetime,
                       request_key: str | None = None) -> dict:
    """Withdraw `amount` of the caller's available balance: it drops at once, pending."""
    payee = _payout_account(caller.user_id)
    if payee is None:
        raise PayoutAccountRequired()
    # With an Idempotency-Key the id is derived from it: a retry whose first try
    # committed but lost its answer finds that withdrawal instead of making a second.
    withdrawal_id = ids.keyed_id("wd", request_key) if request_key else ids.new_id("wd")
    at = clock.to_key(now)
    withdrawal = WithdrawalModel(
        withdrawal_id, user_id=caller.user_id, amount=amount, currency="CNY",
        status=rules.PENDING, account=payee.account, name=payee.name, created_at=at,
        created_key=f"{at}#{withdrawal_id}", updated_at=at, request_key=request_key)
    instruction = InstructionModel(
        rules.instruction_id(withdrawal_id), kind=rules.PAYOUT, amount=amount,
        provider_id=caller.user_id, withdrawal_id=withdrawal_id, status="pending",
        attempts=0, created_at=at, pending_pk=pending_partition(rules.instruction_id(withdrawal_id)),
        next_attempt_at=at)
    posting = new_posting(rules.posting_id(withdrawal_id, rules.WITHDRAWAL), rules.WITHDRAWAL,
                          rules.hold(caller.user_id, amount), at, withdrawal_id=withdrawal_id)
    for _ in range(_ATTEMPTS):
        tx = transaction()
        try:
            with tx:
                tx.save("withdrawal", withdrawal, condition=WithdrawalModel.id.does_not_exist())
                tx.save("posting", posting, condition=PostingModel.id.does_not_exist())
                tx.save("instruction", instruction,
                        condition=InstructionModel.id.does_not_exist())
                # The one condition that matters: available never goes below zero, so two
                # withdrawals at once can never take the same money twice. A missing head
                # (nothing ever released) fails it too.
                tx.update("available", AccountModel(payable_account(caller.user_id)),
                          actions=[AccountModel.balance.add(-amount),
                                   AccountModel.updated_at.set(at)],
                          condition=AccountModel.balance >= amount)
                tx.update("withdrawing", AccountModel(rules.withdrawing_account(caller.user_id)),
                          actions=[AccountModel.balance.add(amount),
                                   AccountModel.currency.set("CNY"),
                                   AccountModel.updated_at.set(at)])
            break
        except TransactWriteError as error:
            refusal = tx.refusal(error)
            if refusal.failed("withdrawal"):
                existing = WithdrawalModel.get(withdrawal_id, consistent_read=True)
                if existing.user_id != caller.user_id:
                    raise Conflict()
                return present(existing)
            if refusal.failed("available"):
                raise InsufficientBalance(available=balance(caller)["available"],
                                          amount=amount)
            if not refusal.conflict:
                raise
    else:
        raise Conflict()
    return present(withdrawal)


# --- paying it out (called by the instruction driver) --------------------------------
def execute_payout(ins: InstructionModel, now: datetime) -> bool:
    """One attempt at a payout instruction; False when somebody else settled it first
    (the driver re-reads). A failure to reach the gateway raises, and the driver retries
    it with backoff: the outcome is unknown, so only the same key may be asked again."""
    withdrawal = WithdrawalModel.get(ins.withdrawal_id, consistent_read=True)
    if withdrawal.status != rules.PENDING:
        return False
    try:
        ref = payments.gateway().transfer(withdrawal.id, int(withdrawal.amount),
                                          withdrawal.account, withdrawal.name,
                                          idempotency_key=withdrawal.id)
    except payments.TransferRefused as refusal:
        log.warning("withdrawal %s refused by the gateway: %s", withdrawal.id, refusal.reason)
        return _settle(ins, withdrawal, rules.FAILED, now, reason=refusal.reason)
    return _settle(ins, withdrawal, rules.PAID, now, ref=ref)


def _settle(ins: InstructionModel, withdrawal: WithdrawalModel, outcome: str, now: datetime, *,
            ref: str | None = None, reason: str | None = None) -> bool:
    user, amount, at = withdrawal.user_id, int(withdrawal.amount), clock.to_key(now)
    if outcome == rules.PAID:
        kind, posting = rules.PAYOUT, rules.pay_out(user, amount)
        ending = [WithdrawalModel.paid_at.set(at), WithdrawalModel.gateway_ref.set(ref)]
    else:
        kind, posting = rules.RETURNED, rules.give_back(user, amount)
        ending = [WithdrawalModel.failed_at.set(at),
                  WithdrawalModel.failure_reason.set((reason or "refused")[:500])]
    tx = transaction()
    try:
        with tx:
            tx.save("posting", new_posting(rules.posting_id(withdrawal.id, kind), kind, posting,
                                           at, withdrawal_id=withdrawal.id),
                    condition=PostingModel.id.does_not_exist())
            tx.update("withdrawing", AccountModel(rules.withdrawing_account(user)),
                      actions=[AccountModel.balance.add(-amount), AccountModel.updated_at.set(at)],
                      condition=AccountModel.balance >= amount)
            if outcome == rules.FAILED:
                tx.update("available", AccountModel(payable_account(user)),
                          actions=[AccountModel.balance.add(amount),
                                   AccountModel.updated_at.set(at)])
            # Only a pending withdrawal ends, and only once: paid and failed exclude
            # each other, and money comes back at most once.
            tx.update("withdrawal", withdrawal, actions=[WithdrawalModel.status.set(outcome),
                                           WithdrawalModel.updated_at.set(at), *ending],
                      condition=WithdrawalModel.status == rules.PENDING)
            tx.update("instruction", ins, actions=[InstructionModel.status.set("done"),
                                    InstructionModel.done_at.set(at),
                                    InstructionModel.pending_pk.remove(),
                                    InstructionModel.attempts.add(1),
                                    *([InstructionModel.gateway_ref.set(ref)] if ref else []),
                                    *([InstructionModel.last_error.set(
                                        f"TransferRefused: {reason}"[:500])] if reason else [])],
                      condition=InstructionModel.status == "pending")
        # Committed exactly once (a concurrent run's transaction is refused below).
        if outcome == rules.FAILED:
            observability.metric("WithdrawalsFailed", withdrawal_id=withdrawal.id)
        else:
            observability.money_moved(rules.PAYOUT, amount)
        return True
    except TransactWriteError as error:
        refusal = tx.refusal(error)
        if refusal.conflict or any(refusal.failed(name)
                                   for name in ("posting", "withdrawal", "instruction")):
            return False  # settled by a concurrent run: the re-read says how
        raise


# --- what the caller sees ------------------------------------------------------------
def balance(caller: Caller) -> dict:
    """What the ledger owes the caller (`available` to withdraw, `pending_withdrawal`) and
    what the caller owes it (`debt`)."""
    # One consistent snapshot of both heads: read apart, a withdrawal committed between
    # the two reads would show its money twice, or not at all.
    with TransactGet(connection=connection()) as tx:
        heads = [tx.get(AccountModel, payable_account(caller.user_id)),
                 tx.get(AccountModel, rules.withdrawing_account(caller.user_id)),
                 tx.get(AccountModel, debt_account(caller.user_id))]
    available, pending, debt = (_balance(head) for head in heads)
    # `debt`: a reversed deposit the available balance could not cover (全额退款), repaid
    # from the next releases before `available` grows. Shown only while something is
    # owed, so the answer of a provider who owes nothing is what it always was.
    return {"available": available, "pending_withdrawal": pending,
            **({"debt": -debt} if debt else {}), "currency": "CNY"}


def _balance(head) -> int:
    try:
        return int(head.get().balance or 0)
    except DoesNotExist:
        return 0


def present(w: WithdrawalModel) -> dict:
    return {"id": w.id, "amount": int(w.amount), "currency": w.currency or "CNY",
            "status": w.status, "account": rules.mask(w.account),
            "created_at": clock.key_to_iso(w.created_at),
            "updated_at": clock.key_to_iso(w.updated_at),
            "paid_at": clock.key_to_iso(w.paid_at), "failed_at": clock.key_to_iso(w.failed_at),
            "failure_reason": w.failure_reason}


def list_withdrawals(caller: Caller, *, limit: int, start_key):
    """The caller's withdrawals, newest first."""
    result = WithdrawalModel.by_user.query(caller.user_id, scan_index_forward=False,
                                           limit=limit, last_evaluated_key=start_key)
    return [present(w) for w in result], result.last_evaluated_key


def statement(caller: Caller, *, limit: int, start_key):
    """Every movement of the caller's available balance, newest first: releases in (net
    of the platform fee), withdrawals out, refused withdrawals back."""
    account = payable_account(caller.user_id)
    result = PostingModel.by_account.query(account, scan_index_forward=False, limit=limit,
                                           last_evaluated_key=start_key)
    return [present_line(p, account) for p in result], result.last_evaluated_key


def present_line(p: PostingModel, account: str) -> dict:
    return {"id": p.id, "kind": p.kind, "amount": rules.signed_amount(p, account),
            "currency": p.currency or "CNY", "order_id": p.order_id,
            "withdrawal_id": p.withdrawal_id,
            "fee": int(p.fee) if p.fee is not None else None,
            "at": clock.key_to_iso(p.at)}
