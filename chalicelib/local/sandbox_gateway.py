"""The sandbox gateway of local stages: it succeeds at once and remembers every call, per
idempotency key, so tests can count them and make transfers go wrong on purpose. A
deployed stage refuses to start with it (settings.FAKE_GATEWAYS): it makes money up."""
import threading
from dataclasses import dataclass, field

from chalicelib.payments.port import (MISSING, SUCCEEDED, PaymentResult, TradeStatus,
                                      TransferRefused)


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

    def query(self, order_id: str) -> TradeStatus:
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
