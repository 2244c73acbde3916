"""The payment gateway boundary: the only place money enters or leaves the platform.

The order code calls `gateway().charge(...)` and `gateway().refund(...)` and never knows
which gateway it talks to. The sandbox (PAYMENT_GATEWAY=sandbox, the default) succeeds
at once, so the pay route confirms funding in the same request. A real asynchronous
gateway answers `charge` with status "pending"; its webhook route then verifies the
notification and calls `chalicelib.services.orders.confirm_funding(order_id, ref,
amount, now)`, which is idempotent and conditional on the order awaiting payment — no
order code changes.

Every call carries an idempotency key; a gateway must never charge or refund the same
key twice (real gateways offer this; the sandbox enforces it).

Payouts: `transfer(...)` sends a provider's withdrawal to their payout account, keyed by
the withdrawal id (Alipay's `out_biz_no`), so a retry never pays twice. It answers the
gateway's reference, raises `TransferRefused` when the gateway definitely did not and
will not pay (the withdrawal fails and its money goes back), and raises anything else
when the outcome is unknown (the driver asks again, with the same key, later).

Asynchronous gateways (Alipay, `chalicelib.alipay.gateway`) answer `charge` with status
"pending" and a `redirect_url` for the buyer; `query` asks what became of a payment, and
their notifications reach `POST /payments/<name>/notify` (chalicelib.services.confirmations).
"""
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class PaymentResult:
    ref: str
    status: str  # succeeded | pending
    redirect_url: str | None = None  # where the buyer pays, while pending


class PaymentGateway(Protocol):
    def charge(self, order_id: str, amount: int, idempotency_key: str, *, subject: str = "",
               expires_at: datetime | None = None, channel: str = "page") -> PaymentResult: ...

    def refund(self, payment_ref: str, amount: int, idempotency_key: str) -> str: ...

    def query(self, order_id: str) -> "TradeStatus": ...

    def close(self, order_id: str) -> bool: ...  # True: closed (or never opened)

    # --- payouts -------------------------------------------------------------------
    def transfer(self, payout_id: str, amount: int, account: str, name: str,
                 idempotency_key: str) -> str: ...


@dataclass
class SandboxGateway:
    """Succeeds at once and remembers every call, per idempotency key."""

    charges: dict = field(default_factory=dict)
    refunds: dict = field(default_factory=dict)
    trades: dict = field(default_factory=dict)  # order id → (ref, amount), for query
    calls: list = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    # --- payouts: what tests set to make transfers go wrong ---------------------------
    transfers: dict = field(default_factory=dict)
    refuse_transfers: str | None = None  # a reason: every new transfer is refused
    transfer_errors: int = 0  # this many transfers raise before reaching the gateway
    lost_transfer_answers: int = 0  # this many transfers are made, then the answer is lost

    def charge(self, order_id: str, amount: int, idempotency_key: str,
               **_options) -> PaymentResult:
        with self._lock:
            self.calls.append(("charge", order_id, amount, idempotency_key))
            if idempotency_key not in self.charges:
                self.charges[idempotency_key] = PaymentResult(
                    f"sandbox-pay-{len(self.charges) + 1}-{order_id}", "succeeded")
                self.trades[order_id] = (self.charges[idempotency_key].ref, amount)
            return self.charges[idempotency_key]

    def query(self, order_id: str) -> "TradeStatus":
        with self._lock:
            if order_id not in self.trades:
                return TradeStatus(order_id, MISSING)
            ref, amount = self.trades[order_id]
            return TradeStatus(order_id, SUCCEEDED, ref=ref, amount=amount,
                               raw_status="succeeded")

    def close(self, order_id: str) -> bool:
        """A sandbox payment succeeds at once: there is never an open trade to close."""
        with self._lock:
            self.calls.append(("close", order_id))
            return order_id not in self.trades

    def refund(self, payment_ref: str, amount: int, idempotency_key: str) -> str:
        with self._lock:
            self.calls.append(("refund", payment_ref, amount, idempotency_key))
            if idempotency_key not in self.refunds:
                self.refunds[idempotency_key] = (f"sandbox-refund-{len(self.refunds) + 1}",
                                                 payment_ref, amount)
            return self.refunds[idempotency_key][0]


    # --- payouts ---------------------------------------------------------------------
    def transfer(self, payout_id: str, amount: int, account: str, name: str,
                 idempotency_key: str) -> str:
        with self._lock:
            self.calls.append(("transfer", payout_id, amount, idempotency_key))
            if idempotency_key in self.transfers:
                return self.transfers[idempotency_key][0]
            if self.transfer_errors:
                self.transfer_errors -= 1
                raise TimeoutError("sandbox: the transfer timed out (nothing was paid)")
            if self.refuse_transfers:
                raise TransferRefused(self.refuse_transfers)
            self.transfers[idempotency_key] = (f"sandbox-transfer-{len(self.transfers) + 1}",
                                               account, name, amount)
            if self.lost_transfer_answers:
                self.lost_transfer_answers -= 1
                raise TimeoutError("sandbox: the transfer was made but its answer was lost")
            return self.transfers[idempotency_key][0]


_gateways: dict[str, PaymentGateway] = {}
_gateways_lock = threading.Lock()


def gateway_name() -> str:
    """PAYMENT_GATEWAY: `sandbox` (local stages' default) or `alipay`."""
    from chalicelib import settings

    return settings.payment_gateway_name(settings.get())


def gateway() -> PaymentGateway:
    """The configured gateway (env PAYMENT_GATEWAY), made on first use."""
    name = gateway_name()
    if name not in GATEWAYS:
        raise RuntimeError(f"unknown payment gateway {name!r}")
    if name not in _gateways:
        with _gateways_lock:
            if name not in _gateways:
                _gateways[name] = GATEWAYS[name]()
    return _gateways[name]


def reset_sandbox() -> SandboxGateway:
    """A fresh sandbox (tests count its calls)."""
    _gateways["sandbox"] = SandboxGateway()
    return _gateways["sandbox"]


def forget() -> None:
    """Drop every gateway made so far (tests; new credentials reach new containers)."""
    _gateways.clear()


def use(name: str, gateway_: PaymentGateway) -> PaymentGateway:
    """Serve `name` with this gateway object (tests: Alipay over the in-process stand-in)."""
    _gateways[name] = gateway_
    return gateway_


# --- asynchronous gateways: what their answers and failures look like ---------------
SUCCEEDED, PENDING = "succeeded", "pending"
CLOSED, MISSING = "closed", "missing"  # (query only) closed unpaid; never started


@dataclass(frozen=True)
class TradeStatus:
    """What the gateway says about the payment of one order: a `query` answer or a
    verified notification."""

    order_id: str  # the gateway's merchant reference (Alipay's out_trade_no)
    status: str  # succeeded | pending | closed | missing
    ref: str | None = None  # the gateway's own payment number (Alipay's trade_no)
    amount: int | None = None  # fen, as the gateway states it
    raw_status: str | None = None  # the gateway's own word for it (TRADE_SUCCESS …)


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
    Anything else a transfer raises means the outcome is unknown. (The same class as the
    payouts branch's, so the two merge into one.)"""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _alipay() -> PaymentGateway:
    from chalicelib.alipay.gateway import AlipayGateway  # only a stage that uses it loads it

    return AlipayGateway.from_settings()


GATEWAYS = {"sandbox": SandboxGateway, "alipay": _alipay}
