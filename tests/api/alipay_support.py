"""Alipay for the API tests: the app configured with PAYMENT_GATEWAY=alipay, its adapter
talking to the stand-in in-process (same protocol, same signatures, no sockets), and
the stand-in's notifications collected so a test decides when each one arrives."""
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from chalicelib import settings
from chalicelib.alipay import credentials
from chalicelib.alipay.gateway import AlipayGateway
from chalicelib.local import alipay_standin
from chalicelib import payments
from tests.api.orders_support import BUYER, listed_service, place

GATEWAY_URL = "https://openapi.alipay.test/gateway.do"
NOTIFY_URL = "https://market.test/api/payments/alipay/notify"
FORM = "application/x-www-form-urlencoded; charset=utf-8"


@dataclass
class AlipayWorld:
    standin: alipay_standin.StandIn
    gateway: AlipayGateway
    sent: list = field(default_factory=list)  # (url, form) the stand-in posted

    def open(self, redirect_url: str) -> tuple[int, str, str]:
        """The buyer's browser following redirect_url to the cashier."""
        parts = urlsplit(redirect_url)
        assert f"{parts.scheme}://{parts.netloc}{parts.path}" == GATEWAY_URL
        return self.standin.gateway(dict(parse_qsl(parts.query, keep_blank_values=True)),
                                    redirect_url)

    def pay(self, out_trade_no: str) -> dict:
        """The buyer pays at the cashier; the notification is collected, not delivered."""
        trade = self.standin.confirm(out_trade_no)
        self.standin.close()  # the scheduled delivery is the test's to make
        return trade

    def notification(self, out_trade_no: str, **tamper) -> dict:
        return self.standin.notification(out_trade_no, **tamper)


@pytest.fixture(scope="session")
def alipay_registration(tmp_path_factory):
    return alipay_standin.ensure_registration(tmp_path_factory.mktemp("alipay-standin"))


@contextmanager
def alipay_on(registration):
    """The app on Alipay (the stand-in's side in-process) meanwhile; restored afterwards."""
    world_sent = []

    def collect(url, form):
        world_sent.append((url, form))
        return 200, "success"

    with pytest.MonkeyPatch.context() as monkeypatch:
        standin = alipay_standin.StandIn(registration, post=collect,
                                         control={"auto_confirm": False})
        for name, value in alipay_standin.app_environment(registration, GATEWAY_URL,
                                                          NOTIFY_URL).items():
            monkeypatch.setenv(name, value)
        settings.reload()
        credentials.forget()
        payments.forget()
        gateway = payments.use("alipay", AlipayGateway(credentials.load(), GATEWAY_URL,
                                                       transport=standin.transport))
        try:
            yield AlipayWorld(standin, gateway, world_sent)
        finally:
            standin.close()
            monkeypatch.undo()
            settings.reload()
            payments.forget()
            credentials.forget()


@pytest.fixture
def alipay(alipay_registration):
    """The app on Alipay (the stand-in's side in-process); restored afterwards."""
    with alipay_on(alipay_registration) as world:
        yield world


def notify(api, form: dict, gateway: str = "alipay"):
    return api.call("POST", f"/payments/{gateway}/notify", raw=urlencode(form).encode(),
                    content_type=FORM)


def pending_order(api, alipay: AlipayWorld, *, buyer=BUYER, **service_kw) -> tuple[str, dict]:
    """An order whose buyer pressed pay and opened the cashier: (order id, pay answer)."""
    oid = place(api, listed_service(**service_kw), buyer=buyer).json["id"]
    answer = api.post(f"/orders/{oid}/pay", user=buyer)
    assert answer.status == 200, answer
    status, _, page = alipay.open(answer.json["payment"]["redirect_url"])
    assert status == 200, page
    return oid, answer.json


def paid_through_alipay(api, alipay: AlipayWorld, **kw) -> str:
    """An order funded the asynchronous way: pay, cashier, notification."""
    oid, _ = pending_order(api, alipay, **kw)
    alipay.pay(oid)
    reply = notify(api, alipay.notification(oid))
    assert (reply.status, reply.raw) == (200, b"success"), reply
    return oid
