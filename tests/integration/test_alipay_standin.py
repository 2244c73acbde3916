"""The Alipay stand-in as the separate program `make run` starts: the app's adapter talks
to it over HTTP, a browser opens its pay page, its signed notifications reach a
receiver (and are repeated until it answers `success`), its faults are set over HTTP,
and its trades survive a restart."""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import pytest
import requests

from chalicelib.alipay import credentials
from chalicelib.alipay.gateway import AlipayGateway
from chalicelib.local import alipay_standin, engines
from chalicelib import payments


class Receiver:
    """A notify_url: records each form, answers `fail` to the first `fail_first`."""

    def __init__(self, fail_first: int = 0):
        self.forms: list[dict] = []
        self.fail_first = fail_first
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.forms.append(dict(parse_qsl(body.decode("utf-8"))))
                answer = b"fail" if len(receiver.forms) <= receiver.fail_first else b"success"
                self.send_response(200)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/payments/alipay/notify"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, count: int, timeout: float = 15) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(self.forms) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.forms) >= count, self.forms
        return self.forms


class StandInProcess:
    def __init__(self, data_dir, log_path):
        self.data_dir, self.log_path = data_dir, log_path
        self.port = engines.free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self):
        self.log = open(self.log_path, "ab")
        self.process = engines.start_alipay_standin(self.port, self.data_dir, stdout=self.log)
        return self

    def stop(self) -> int:
        engines.stop(self.process)
        self.log.close()
        return self.process.returncode

    def control(self, **changes) -> dict:
        reply = requests.post(self.url + "/_standin/control", json=changes, timeout=5)
        assert reply.status_code == 200, reply.text
        return reply.json()


@pytest.fixture
def receiver():
    r = Receiver(fail_first=1)
    yield r
    r.server.shutdown()


@pytest.fixture
def standin(tmp_path):
    process = StandInProcess(tmp_path / "standin", tmp_path / "standin.log").start()
    yield process
    process.stop()


def _gateway(standin: StandInProcess, notify_url: str) -> AlipayGateway:
    registration = alipay_standin.ensure_registration(standin.data_dir)
    creds = credentials.Credentials(app_id=registration.app_id,
                                    app_private_key=registration.app_private_key,
                                    alipay_public_key=registration.alipay_public_key,
                                    notify_url=notify_url)
    return AlipayGateway(creds, standin.url + "/gateway.do")


def test_pay_page_confirmation_and_a_notification_repeated_until_success(standin, receiver):
    gateway = _gateway(standin, receiver.url)
    started = time.monotonic()
    redirect = gateway.charge("ord_standin_1", 49900, "ord_standin_1:charge",
                              subject="店铺首页装修").redirect_url
    page = requests.get(redirect, timeout=5)
    assert page.status_code == 200 and "收银台" in page.text and "499.00" in page.text
    first, second = receiver.wait_for(2)  # `fail` the first time: Alipay repeats
    assert time.monotonic() - started < 10
    for form in (first, second):
        trade = gateway.read_notification(form)
        assert (trade.order_id, trade.status, trade.amount) == ("ord_standin_1",
                                                                payments.SUCCEEDED, 49900)
    answer = gateway.query("ord_standin_1")
    assert (answer.status, answer.ref) == (payments.SUCCEEDED, first["trade_no"])
    assert "付款成功" in requests.get(
        f"{standin.url}/standin/cashier/ord_standin_1", timeout=5).text


def test_a_tampered_pay_link_is_refused_by_the_cashier(standin, receiver):
    redirect = _gateway(standin, receiver.url).charge("ord_standin_2", 100, "k").redirect_url
    tampered = redirect.replace("%221.00%22", "%220.01%22")
    assert tampered != redirect
    assert requests.get(tampered, timeout=5).status_code == 400


def test_faults_over_http_a_lost_refund_answer_and_dropped_notifications(standin, receiver):
    gateway = _gateway(standin, receiver.url)
    standin.control(auto_confirm=False, notify="drop")
    redirect = gateway.charge("ord_standin_3", 20000, "k").redirect_url
    requests.get(redirect, timeout=5)
    assert gateway.query("ord_standin_3").status == payments.PENDING
    assert requests.post(f"{standin.url}/standin/pay/ord_standin_3", timeout=5,
                         allow_redirects=False).status_code == 303
    time.sleep(1)
    assert receiver.forms == []  # dropped: only the query can tell
    paid = gateway.query("ord_standin_3")
    assert paid.status == payments.SUCCEEDED

    standin.control(lose_answer={"alipay.trade.refund": 1})
    with pytest.raises(payments.GatewayError, match="no answer"):
        gateway.refund(paid.ref, 20000, "ord_standin_3:refund:all")
    assert gateway.refund(paid.ref, 20000, "ord_standin_3:refund:all")  # confirmed by query
    trades = requests.get(standin.url + "/_standin/trades", timeout=5).json()["trades"]
    assert trades["ord_standin_3"]["refunded"] == 20000
    assert list(trades["ord_standin_3"]["refunds"]) == ["ord_standin_3:refund:all"]

    standin.control(notify="send")
    requests.post(f"{standin.url}/_standin/trades/ord_standin_3/notify", timeout=5)
    form = receiver.wait_for(1)[0]
    assert form["trade_status"] == "TRADE_CLOSED" and form["refund_fee"] == "200.00"
    assert requests.post(standin.url + "/_standin/control", json={"nonsense": 1},
                         timeout=5).status_code == 400


def test_trades_and_keys_survive_a_restart(tmp_path, receiver):
    first = StandInProcess(tmp_path / "standin", tmp_path / "first.log").start()
    gateway = _gateway(first, receiver.url)
    requests.get(gateway.charge("ord_standin_4", 500, "k").redirect_url, timeout=5)
    receiver.wait_for(2)
    keys = json.loads((first.data_dir / "registration.json").read_text())
    assert first.stop() == 0
    second = StandInProcess(first.data_dir, tmp_path / "second.log").start()
    try:
        assert json.loads((first.data_dir / "registration.json").read_text()) == keys
        assert _gateway(second, receiver.url).query("ord_standin_4").status == payments.SUCCEEDED
    finally:
        second.stop()
