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
"""
import os
import threading
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class PaymentResult:
    ref: str
    status: str  # succeeded | pending


class PaymentGateway(Protocol):
    def charge(self, order_id: str, amount: int, idempotency_key: str) -> PaymentResult: ...

    def refund(self, payment_ref: str, amount: int, idempotency_key: str) -> str: ...


@dataclass
class SandboxGateway:
    """Succeeds at once and remembers every call, per idempotency key."""

    charges: dict = field(default_factory=dict)
    refunds: dict = field(default_factory=dict)
    calls: list = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def charge(self, order_id: str, amount: int, idempotency_key: str) -> PaymentResult:
        with self._lock:
            self.calls.append(("charge", order_id, amount, idempotency_key))
            if idempotency_key not in self.charges:
                self.charges[idempotency_key] = PaymentResult(
                    f"sandbox-pay-{len(self.charges) + 1}-{order_id}", "succeeded")
            return self.charges[idempotency_key]

    def refund(self, payment_ref: str, amount: int, idempotency_key: str) -> str:
        with self._lock:
            self.calls.append(("refund", payment_ref, amount, idempotency_key))
            if idempotency_key not in self.refunds:
                self.refunds[idempotency_key] = (f"sandbox-refund-{len(self.refunds) + 1}",
                                                 payment_ref, amount)
            return self.refunds[idempotency_key][0]


_gateways: dict[str, PaymentGateway] = {}


def gateway() -> PaymentGateway:
    """The configured gateway (env PAYMENT_GATEWAY); only the sandbox exists so far."""
    name = os.environ.get("PAYMENT_GATEWAY", "sandbox")
    if name != "sandbox":
        raise RuntimeError(f"unknown payment gateway {name!r}")
    if name not in _gateways:
        _gateways[name] = SandboxGateway()
    return _gateways[name]


def reset_sandbox() -> SandboxGateway:
    """A fresh sandbox (tests count its calls)."""
    _gateways["sandbox"] = SandboxGateway()
    return _gateways["sandbox"]
