"""`make run` for real: the dev server as a subprocess on free ports and a temporary data
directory, spoken to over HTTP, stopped with Ctrl-C, and started again on the same data."""
import io
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests
from PIL import Image

from chalicelib.local import engines

pytestmark = pytest.mark.dynamodb_local

ROOT = Path(__file__).resolve().parents[2]
# Generous: DynamoDB Local's JVM alone takes 20 s to start on a busy two-core machine.
START_TIMEOUT = 120


class DevServer:
    def __init__(self, data_dir: Path, log_path: Path, sweep_interval: str = "1"):
        self.data_dir = data_dir
        self.sweep_interval = sweep_interval
        self.log_path = log_path
        self.port = engines.free_port()
        self.dynamodb_port = engines.free_port()
        self.s3_port = engines.free_port()
        self.standin_port = engines.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = None

    def start(self) -> "DevServer":
        env = dict(os.environ, PORT=str(self.port), DYNAMODB_PORT=str(self.dynamodb_port),
                   S3_PORT=str(self.s3_port), ALIPAY_STANDIN_PORT=str(self.standin_port),
                   LOCAL_DATA_DIR=str(self.data_dir),
                   SWEEP_INTERVAL_SECONDS=self.sweep_interval, PYTHONUNBUFFERED="1")
        self.log = open(self.log_path, "ab")
        self.process = subprocess.Popen([sys.executable, "-m", "chalicelib.local.devserver"],
                                        cwd=ROOT, env=env, stdout=self.log,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"dev server exited early:\n{self.output()}")
            try:
                if requests.get(self.url + "/health", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.kill()
        raise AssertionError(f"dev server not healthy after {START_TIMEOUT}s:\n{self.output()}")

    def java_pid(self) -> int:
        """DynamoDB Local: the java child of this dev server."""
        return self.child_pid(b"DynamoDBLocal")

    def child_pid(self, marker: bytes) -> int:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            if parent == self.process.pid and marker in cmdline:
                return int(entry.name)
        raise AssertionError(f"the dev server has no {marker!r} child")

    def interrupt(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=30)
        finally:
            self.log.close()

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.log.close()

    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def token(self, sub: str, operator: bool = False) -> dict:
        reply = requests.post(self.url + "/_local/token",
                              json={"sub": sub, "roles": ["operator"] if operator else []})
        assert reply.status_code == 200, reply.text
        return {"Authorization": f"Bearer {reply.json()['token']}"}

    def has_logo_route(self) -> bool:
        paths = requests.get(self.url + "/openapi.json").json()["paths"]
        return any(re.fullmatch(r"/services/\{\w+\}/logo", path) for path in paths)


def _gone(pid: int) -> bool:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        if state == "Z":
            return True
        time.sleep(0.1)
    return False


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    base = tmp_path_factory.mktemp("local-stack")
    server = DevServer(base / "data", base / "devserver.log").start()
    yield server
    try:
        server.interrupt()
    finally:
        server.kill()


def _png_80x80() -> bytes:
    image = Image.new("RGB", (80, 80), (200, 30, 40))
    for x in range(80):
        image.putpixel((x, x), (255, 255, 255))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _listed_service_with_logo(server: DevServer, provider: str) -> tuple[dict, bytes]:
    """Apply, get approved, create a service and upload its logo, all over HTTP."""
    headers = server.token(provider)
    operator = server.token("op-1", operator=True)
    applied = requests.post(server.url + "/providers/me/application", headers=headers, json={
        "display_name": "巧手装修工作室", "company_name": "巧手网络科技有限公司",
        "contact": "13800000000", "intro": "专注淘宝天猫店铺装修"})
    assert applied.status_code == 201, applied.text
    approved = requests.post(f"{server.url}/admin/providers/{provider}/approve",
                             headers=operator, json={})
    assert approved.status_code == 200, approved.text
    category = requests.get(server.url + "/categories").json()["items"][0]["id"]
    created = requests.post(server.url + "/services", headers=headers, json={
        "title": "店铺装修 首页设计", "category": category,
        "summary": "三天完成天猫首页装修，含两次修改", "content": "## 服务内容\n首页装修",
        "pricing": "fixed", "price": 49900, "tags": []})
    assert created.status_code == 201, created.text
    logo = _png_80x80()
    uploaded = requests.put(f"{server.url}/services/{created.json()['id']}/logo",
                            headers={**headers, "Content-Type": "image/png"}, data=logo)
    assert uploaded.status_code == 200, uploaded.text
    return uploaded.json(), logo


def test_unknown_routes_answer_404_in_the_error_shape(stack):
    for method in ("GET", "POST", "DELETE"):
        reply = requests.request(method, stack.url + "/no/such/route")
        assert reply.status_code == 404
        assert reply.json()["error"]["code"] == "NOT_FOUND"


def test_a_method_http_server_does_not_know_still_answers_in_the_error_shape(stack):
    reply = requests.request("TRACE", stack.url + "/health")
    assert reply.status_code == 405
    assert reply.json()["error"]["code"] == "METHOD_NOT_ALLOWED"


def test_local_token_signs_in_a_buyer(stack):
    reply = requests.post(stack.url + "/_local/token", json={"sub": "buyer-1"})
    assert reply.status_code == 200
    token = reply.json()["token"]
    assert token.count(".") == 2


def test_a_logo_crosses_the_real_http_server_intact(stack):
    if not stack.has_logo_route():
        pytest.skip("PUT /services/{id}/logo is not registered yet")
    service, logo = _listed_service_with_logo(stack, "provider-1")
    assert service["logo_url"]
    stored = requests.get(service["logo_url"])
    assert stored.status_code == 200
    assert stored.content == logo


def _listed_service(server: DevServer, provider: str) -> dict:
    if server.has_logo_route():
        service, _ = _listed_service_with_logo(server, provider)
        listed = requests.post(f"{server.url}/services/{service['id']}/list",
                               headers=server.token(provider), json={})
        assert listed.status_code == 200, listed.text
        return listed.json()
    pytest.skip("listing a service needs its logo route")


def _found_in_search(server: DevServer, q: str, service_id: str, present: bool) -> bool:
    """Whether search comes to show (or stop showing) the service: the dev server's stream
    consumer applies the services' records a moment after they commit."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        items = requests.get(server.url + "/services", params={"q": q}).json()["items"]
        if (service_id in [i["id"] for i in items]) == present:
            return True
        time.sleep(0.05)
    return False


def test_the_market_follows_listings_from_dynamodb_locals_stream(stack):
    service = _listed_service(stack, "provider-4")
    assert _found_in_search(stack, "装修", service["id"], present=True), stack.output()[-3000:]
    delisted = requests.post(f"{stack.url}/services/{service['id']}/delist",
                             headers=stack.token("provider-4"), json={})
    assert delisted.status_code == 200, delisted.text
    assert _found_in_search(stack, "装修", service["id"], present=False)


def test_an_order_is_paid_through_the_alipay_stand_in(stack):
    """The README's walk: pay answers a redirect to the stand-in's cashier; opening it is
    all a buyer does; the stand-in's signed notification funds escrow within seconds."""
    service = _listed_service(stack, "provider-3")
    buyer = stack.token("buyer-3")
    order = requests.post(stack.url + "/orders", headers=buyer, json={
        "service_id": service["id"], "requirement": "首页装修，红色主题",
        "due_at": "2099-01-01T00:00:00+00:00"}).json()
    paid = requests.post(f"{stack.url}/orders/{order['id']}/pay", headers=buyer, json={})
    assert paid.status_code == 200, paid.text
    payment = paid.json()["payment"]
    assert payment["status"] == "pending"
    assert payment["redirect_url"].startswith(f"http://127.0.0.1:{stack.standin_port}/gateway.do?")
    cashier = requests.get(payment["redirect_url"], timeout=10)
    assert cashier.status_code == 200 and "收银台" in cashier.text
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status = requests.get(f"{stack.url}/orders/{order['id']}", headers=buyer).json()["status"]
        if status == "awaiting_provider":
            break
        time.sleep(0.3)
    assert status == "awaiting_provider", stack.output()[-3000:]
    operator = stack.token("op-1", operator=True)
    check = requests.get(stack.url + "/admin/ledger/check", headers=operator).json()
    assert check["violations"] == []


def test_ctrl_c_stops_everything_and_data_survives_a_restart(stack, tmp_path):
    # Last in the file: it stops the shared server and starts a second on the same data.
    first = stack
    try:
        # An idempotency record is data every write route leaves behind.
        key = f"restart-{uuid.uuid4().hex}"
        original = requests.post(first.url + "/_local/token", json={"sub": "buyer-1"},
                                 headers={"Idempotency-Key": key})
        assert original.status_code == 200
        with_logo = first.has_logo_route()
        if with_logo:
            service, logo = _listed_service_with_logo(first, "provider-2")
        java = first.java_pid()
        standin = first.child_pid(b"alipay_standin")
    finally:
        exit_code = first.interrupt()
    assert exit_code == 0, first.output()
    assert _gone(java), "DynamoDB Local outlived the dev server"
    assert _gone(standin), "the Alipay stand-in outlived the dev server"
    assert "stopping" in first.output()

    second = DevServer(first.data_dir, tmp_path / "second.log").start()
    try:
        replay = requests.post(second.url + "/_local/token", json={"sub": "buyer-1"},
                               headers={"Idempotency-Key": key})
        assert replay.status_code == 200
        assert replay.headers.get("Idempotent-Replayed") == "true"
        assert replay.json() == original.json()
        if (ROOT / "chalicelib" / "local" / "demo.py").exists():
            assert "demo data: already loaded" in second.output()
        if with_logo:
            # moto keeps S3 in memory; the dev server's snapshot must bring the logo back.
            # The ports differ between these two runs (never between two `make run`s).
            url = service["logo_url"]
            for old, new in ((f":{first.s3_port}/", f":{second.s3_port}/"),
                             (f":{first.port}/", f":{second.port}/")):
                url = url.replace(old, new)
            stored = requests.get(url)
            assert stored.status_code == 200, service
            assert stored.content == logo
    finally:
        second.interrupt()
