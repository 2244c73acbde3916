"""The payment gateway port: what a gateway answers, how it fails, and what an adapter
offers. Pure types: the order code, the payment records and every adapter (Alipay, the
local sandbox) share them, and none of them imports another through this module.

Every call carries an idempotency key; a gateway must never charge or refund the same
key twice (real gateways offer this; the sandbox enforces it).

Payouts: `transfer(...)` sends a provider's withdrawal to their payout account, keyed by
the withdrawal id (Alipay's `out_biz_no`), so a retry never pays twice. It answers the
gateway's reference, raises `TransferRefused` when the gateway definitely did not and
will not pay (the withdrawal fails and its money goes back), and raises anything else
when the outcome is unknown (the driver asks again, with the same key, later).

Asynchronous gateways (Alipay) answer `charge` with status "pending" and a
`redirect_url` for the buyer; `query` asks what became of a payment, and their
notifications reach `POST /payments/<name>/notify`, read by `read_notification`.
"""
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

# What a charge or a query says of a payment.
SUCCEEDED, PENDING = "succeeded", "pending"
CLOSED, MISSING = "closed", "missing"  # (query only) closed unpaid; never started


@dataclass(frozen=True)
class PaymentResult:
    ref: str
    status: str  # succeeded | pending
    redirect_url: str | None = None  # where the buyer pays, while pending


@dataclass(frozen=True)
class TradeStatus:
    """What the gateway says about the payment of one order: a `query` answer or a
    verified notification."""

    order_id: str  # the gateway's merchant reference (Alipay's out_trade_no)
    status: str  # succeeded | pending | closed | missing
    ref: str | None = None  # the gateway's own payment number (Alipay's trade_no)
    amount: int | None = None  # fen, as the gateway states it
    raw_status: str | None = None  # the gateway's own word for it (TRADE_SUCCESS …)


class PaymentGateway(Protocol):
    """What every gateway offers: money in, money back, a question, money out."""

    def charge(self, order_id: str, amount: int, idempotency_key: str, *, subject: str = "",
               expires_at: datetime | None = None, channel: str = "page") -> PaymentResult: ...

    def refund(self, payment_ref: str, amount: int, idempotency_key: str) -> str: ...

    def query(self, order_id: str) -> TradeStatus: ...

    def close(self, order_id: str) -> bool:
        """Close an unpaid trade at the gateway; True: closed (or never opened)."""
        ...

    def transfer(self, payout_id: str, amount: int, account: str, name: str,
                 idempotency_key: str) -> str: ...


@runtime_checkable
class NotifyingGateway(PaymentGateway, Protocol):
    """A gateway that also confirms payments asynchronously (Alipay): its notifications
    are read here, and the receiver answers `notification_ack` once it has settled one."""

    notification_ack: str

    def read_notification(self, form: dict[str, str]) -> TradeStatus | None: ...


class GatewayError(RuntimeError):
    """The outcome is unknown: the gateway was unreachable, timed out, answered a system
    error or an answer whose signature does not verify. Retrying with the same key is
    safe and is what the callers do (the instruction driver, the reconciliation sweep)."""


class NotificationRefused(ValueError):
    """A notification that is not provably the gateway's (bad signature, another app, a
    malformed field): it changes nothing."""


class TransferRefused(Exception):
    """The gateway definitely did not pay and never will for this key (a wrong payee
    account or name, a closed account): the withdrawal fails and its money goes back.
    Anything else a transfer raises means the outcome is unknown."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason
