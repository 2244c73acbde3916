"""Payout rules (提现), pure: the accounts a withdrawal moves money through, its states,
the deterministic ids that make each of its movements happen once, and what a payout
account looks like.

A withdrawal of `amount` moves it at once from `payable:<p>` (available) to
`withdrawing:<p>` (pending_withdrawal); the transfer then either succeeds, moving it
from `withdrawing:<p>` to `gateway` (out of the platform), or is refused, moving it
back to `payable:<p>`. Each of the three is one posting under an id derived from the
withdrawal, so none can happen twice, and a withdrawal ends in exactly one of the two.
"""
from chalicelib.domain.escrow import GATEWAY, Posting, payable_account

PENDING, PAID, FAILED = "pending", "paid", "failed"
STATUSES = (PENDING, PAID, FAILED)
PAYOUT = "payout"  # the instruction kind, and the posting that pays out
WITHDRAWAL, RETURNED = "withdrawal", "withdrawal_returned"  # the other postings' kinds
# Alipay transfers start at 0.10 CNY; a smaller withdrawal could only ever be refused.
MIN_WITHDRAWAL = 10


def withdrawing_account(user_id: str) -> str:
    return f"withdrawing:{user_id}"


def instruction_id(withdrawal_id: str) -> str:
    return f"{withdrawal_id}:{PAYOUT}"


def posting_id(withdrawal_id: str, kind: str) -> str:
    return f"{withdrawal_id}:{kind}"


def hold(user_id: str, amount: int) -> Posting:
    """Asking for a withdrawal: available → pending_withdrawal."""
    return Posting(payable_account(user_id), withdrawing_account(user_id), amount)


def pay_out(user_id: str, amount: int) -> Posting:
    """The gateway paid: the money leaves the platform."""
    return Posting(withdrawing_account(user_id), GATEWAY, amount)


def give_back(user_id: str, amount: int) -> Posting:
    """The gateway refused: the money is available again."""
    return Posting(withdrawing_account(user_id), payable_account(user_id), amount)


def signed_amount(posting, account: str) -> int:
    """A statement line's amount: positive when money came into `account`."""
    return int(posting.amount) if posting.to_account == account else -int(posting.amount)


def mask(account: str) -> str:
    """A payout account as answers show it: enough to recognise, not to reuse."""
    if "@" in account:
        local, _, domain = account.partition("@")
        return f"{local[:1]}***@{domain}"
    if len(account) <= 4:
        return "*" * len(account)
    return f"{account[:3]}****{account[-4:]}" if len(account) >= 8 else f"***{account[-4:]}"
