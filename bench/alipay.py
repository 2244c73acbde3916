"""Alipay in process, for the scenario's one order paid the asynchronous way: the app
switched to PAYMENT_GATEWAY=alipay with its adapter talking to the stand-in through an
in-process transport (same protocol, same signatures, no sockets), as the API tests do
(tests/api/alipay_support.py), and switched back to the sandbox afterwards.

The stand-in's own notification is collected, not posted: the scenario sends it to
`POST /payments/alipay/notify` itself, so that the route is counted like every other.
"""
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

GATEWAY_URL = "https://openapi.alipay.test/gateway.do"
NOTIFY_URL = "https://market.test/api/payments/alipay/notify"
FORM = "application/x-www-form-urlencoded; charset=utf-8"

_registration = None


def registration():
    """The stand-in's and the app's key pairs, made once per process (RSA keys take a
    moment), in the bench's data directory."""
    global _registration
    from chalicelib.local import alipay_standin

    if _registration is None:
        where = Path(os.environ.get("LOCAL_DATA_DIR") or tempfile.mkdtemp(prefix="bench-"))
        _registration = alipay_standin.ensure_registration(where / "alipay-standin")
    return _registration


class World:
    def __init__(self, standin):
        self.standin = standin

    def open_cashier(self, redirect_url: str) -> int:
        """The buyer's browser following `payment.redirect_url`: the trade opens."""
        parts = urlsplit(redirect_url)
        status, _, _ = self.standin.gateway(dict(parse_qsl(parts.query, keep_blank_values=True)),
                                            redirect_url)
        return status

    def pay(self, order_id: str) -> bytes:
        """The buyer pays at the cashier; answers the signed notification, form-encoded."""
        self.standin.confirm(order_id)
        self.standin.close()  # its own delivery is ours to make
        return urlencode(self.standin.notification(order_id)).encode()


@contextmanager
def alipay_on():
    """Meanwhile the app's gateway is Alipay over the in-process stand-in."""
    from chalicelib import settings
    from chalicelib.alipay import credentials
    from chalicelib.alipay.gateway import AlipayGateway
    from chalicelib.local import alipay_standin
    from chalicelib import payments

    reg = registration()
    standin = alipay_standin.StandIn(reg, post=lambda url, form: (200, "success"),
                                     control={"auto_confirm": False})
    changed = alipay_standin.app_environment(reg, GATEWAY_URL, NOTIFY_URL)
    saved = {name: os.environ.get(name) for name in changed}
    sandbox = getattr(payments, "_gateways", {}).get("sandbox")  # the scenario's other payments, kept
    os.environ.update(changed)
    settings.reload()
    credentials.forget()
    payments.forget()
    payments.use("alipay", AlipayGateway(credentials.load(), GATEWAY_URL,
                                         transport=standin.transport))
    try:
        yield World(standin)
    finally:
        standin.close()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        settings.reload()
        credentials.forget()
        payments.forget()
        if sandbox is not None:
            payments.use("sandbox", sandbox)
