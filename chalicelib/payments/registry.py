"""Which gateway serves this stage (env PAYMENT_GATEWAY), made once per process.

The order code calls `gateway().charge(...)` and never knows which gateway it talks to.
Adapters are named by module path and loaded on first use: a deployed function never
loads the sandbox (it lives with the local stage, which sits above everything else),
and a stage that does not use Alipay never loads its signing code."""
import importlib
import threading

from chalicelib import settings
from chalicelib.payments.port import PaymentGateway

# name → "module:factory"; the factory takes no argument and answers the gateway.
ADAPTERS = {
    "sandbox": "chalicelib.local.sandbox_gateway:SandboxGateway",
    "alipay": "chalicelib.alipay.gateway:AlipayGateway.from_settings",
}

_gateways: dict[str, PaymentGateway] = {}
_lock = threading.Lock()


def gateway_name() -> str:
    """PAYMENT_GATEWAY: `sandbox` (local stages' default) or `alipay`."""
    return settings.payment_gateway_name(settings.get())


def gateway() -> PaymentGateway:
    """The configured gateway, made on first use."""
    name = gateway_name()
    if name not in _gateways:
        with _lock:
            if name not in _gateways:
                _gateways[name] = _make(name)
    return _gateways[name]


def _make(name: str) -> PaymentGateway:
    if name not in ADAPTERS:
        raise RuntimeError(f"unknown payment gateway {name!r}")
    module_name, _, attribute = ADAPTERS[name].partition(":")
    factory = importlib.import_module(module_name)
    for part in attribute.split("."):
        factory = getattr(factory, part)
    return factory()


def forget() -> None:
    """Drop every gateway made so far (new credentials reach new containers; tests)."""
    _gateways.clear()


def use(name: str, gateway_: PaymentGateway) -> PaymentGateway:
    """Serve `name` with this gateway object (tests and benchmarks: Alipay over the
    in-process stand-in, a fresh sandbox that counts its calls)."""
    _gateways[name] = gateway_
    return gateway_
