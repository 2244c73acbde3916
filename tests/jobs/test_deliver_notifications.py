"""The outbox driver: every notice reaches the user's webhook (signed, verified here with
the secret the API answered) and e-mail; a failing receiver is retried with the escrow
instructions' backoff and parked; redirects are not followed; an order never waits."""
import dataclasses
import hashlib
import hmac
import json
import socket
import ssl
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest
from chalice.test import Client

from chalicelib import clock, settings
from chalicelib.services import instructions, outbox, stuck
from chalicelib.services.notifications import notify
from chalicelib.storage.channels import ChannelsModel
from chalicelib.storage.notifications import NotificationModel
from tests.api.channels_support import confirm_email, mail_to_dir, open_link, read_mail
from tests.api.orders_support import PROVIDER, paid_order
from tests.support import ApiClient

BUYER = "buyer-1"
JOB = "deliver_notifications"


class Receiver:
    """A webhook receiver on 127.0.0.1: records every request, answers `status`."""

    def __init__(self):
        self.requests: list[dict] = []
        self.status, self.delay, self.location = 204, 0.0, None
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.requests.append({"path": self.path, "headers": dict(self.headers),
                                          "body": body})
                time.sleep(receiver.delay)
                self.send_response(receiver.status)
                if receiver.location:
                    self.send_header("Location", receiver.location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/market"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.stop()


@pytest.fixture
def mail_dir(tmp_path, monkeypatch):
    return mail_to_dir(monkeypatch, tmp_path)


def hook(api, url, user=BUYER, **extra) -> str:
    reply = api.put("/me/channels", {"webhook_url": url, **extra}, user=user)
    assert reply.status == 200, reply
    return reply.json["webhook_secret"]


def deliver(api) -> dict:
    return api.invoke(JOB).payload


def send(user=BUYER, text="买家已付款：店铺首页装修"):
    clock.advance(1)
    return notify(user, "order_paid", order_id="ord_1", text=text, now=clock.now())


def stored(notice_id, user=BUYER) -> NotificationModel:
    return next(n for n in NotificationModel.query(user) if n.id == notice_id)


def verify(secret: str, request: dict) -> dict:
    """What a receiver does: check Market-Signature, then trust the body."""
    fields = dict(part.split("=", 1) for part in request["headers"]["Market-Signature"].split(","))
    expected = hmac.new(secret.encode(), f"{fields['t']}.".encode() + request["body"],
                        hashlib.sha256).hexdigest()
    assert hmac.compare_digest(expected, fields["v1"])
    assert abs(int(fields["t"]) - time.time()) < 60
    return json.loads(request["body"])


def test_a_notice_is_posted_signed_to_the_webhook_once(api, receiver, mail_dir):
    secret = hook(api, receiver.url)
    notice = send()
    summary = deliver(api)
    assert summary["moved"] == 1 and summary["failed"] == 0
    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    assert request["path"] == "/hooks/market"
    assert request["headers"]["Content-Type"].startswith("application/json")
    body = verify(secret, request)
    assert body["id"] == notice["id"] and body["text"] == "买家已付款：店铺首页装修"
    assert body["kind"] == "order_paid" and body["order_id"] == "ord_1"
    # A forged body does not verify with the secret.
    with pytest.raises(AssertionError):
        verify(secret, {**request, "body": request["body"].replace(b"ord_1", b"ord_2")})
    item = stored(notice["id"])
    assert item.outbox_pk is None and item.outbox_due is None and item.delivery == "delivered"
    assert deliver(api)["found"] == 0 and len(receiver.requests) == 1
    assert not mail_dir.exists()  # no address, no mail


def test_a_failing_receiver_is_retried_with_backoff_then_parked(api, receiver, mail_dir,
                                                                 monkeypatch):
    max_attempts = 3
    monkeypatch.setattr(settings, "_current", dataclasses.replace(
        settings.get(), instruction_max_attempts=max_attempts))
    hook(api, receiver.url)
    receiver.status = 500
    notice = send()
    for attempt in range(1, max_attempts):
        started = clock.now()
        assert deliver(api)["failed"] == 1
        item = stored(notice["id"])
        assert item.delivery_attempts == attempt and "answered 500" in item.delivery_error
        # The escrow instructions' backoff, to the microsecond.
        waited = clock.from_key(item.outbox_due) - started
        assert stuck.backoff(attempt) <= waited < stuck.backoff(attempt) + timedelta(seconds=5)
        assert deliver(api)["found"] == 0  # not due again yet
        clock.advance(stuck.backoff(attempt).total_seconds() + 1)
    assert deliver(api)["failed"] == 1
    item = stored(notice["id"])
    assert item.delivery == "parked" and item.outbox_pk is None
    assert len(receiver.requests) == max_attempts
    clock.advance(7200)
    assert deliver(api)["found"] == 0 and len(receiver.requests) == max_attempts
    parked = api.get("/admin/stuck", user="op-1", operator=True).json["items"]
    assert [(p["job"], p["status"], p["attempts"]) for p in parked] == [
        (JOB, "parked", max_attempts)]
    assert parked[0]["id"] == f"{BUYER}#{notice['id']}" and "500" in parked[0]["last_error"]


def test_the_driver_and_the_escrow_driver_share_one_backoff():
    assert instructions.stuck.backoff is outbox.stuck.backoff
    assert [stuck.backoff(n).total_seconds() for n in (1, 2, 3, 7, 8, 20)] == [
        60, 120, 240, 3600, 3600, 3600]


def test_a_receiver_that_recovers_gets_the_notice(api, receiver, mail_dir):
    secret = hook(api, receiver.url)
    receiver.status = 503
    notice = send()
    assert deliver(api)["failed"] == 1
    receiver.status = 200
    clock.advance(stuck.backoff(1).total_seconds())
    assert deliver(api)["moved"] == 1
    assert [verify(secret, r)["id"] for r in receiver.requests] == [notice["id"]] * 2
    assert stored(notice["id"]).delivery == "delivered"


def test_redirects_are_not_followed(api, receiver, mail_dir):
    hook(api, receiver.url)
    receiver.status, receiver.location = 302, "http://127.0.0.1:1/elsewhere"
    notice = send()
    assert deliver(api)["failed"] == 1
    assert [r["path"] for r in receiver.requests] == ["/hooks/market"]
    item = stored(notice["id"])
    assert "answered 302" in item.delivery_error and item.outbox_pk is not None


def test_a_slow_receiver_times_out_and_never_holds_up_an_order(api, receiver, mail_dir):
    hook(api, receiver.url, user=PROVIDER)
    receiver.delay = 4  # longer than the 3 s webhook timeout
    started = time.monotonic()
    order_id = paid_order(api)
    assert time.monotonic() - started < 3
    assert receiver.requests == []  # the order's requests never called out
    started = time.monotonic()
    summary = deliver(api)
    # One 3 s timeout per due notice, then the driver moves on.
    assert 2.5 < time.monotonic() - started < 4 * summary["found"]
    assert summary["failed"] >= 1
    assert api.get(f"/orders/{order_id}", user=BUYER).json["status"] == "awaiting_provider"
    failed = [n for n in NotificationModel.query(PROVIDER) if n.delivery_attempts]
    assert failed and all("timed out" in n.delivery_error for n in failed)


def test_the_local_stage_writes_mail_to_the_outbox_directory(api, mail_dir):
    confirm_email(api, mail_dir)
    notice = send(text="服务商已接单")
    assert deliver(api)["moved"] == 1
    files = sorted(mail_dir.glob("*.eml"))
    assert len(files) == 1 and notice["id"] in files[0].name
    text = files[0].read_bytes().decode()
    assert "To: shop@example.com" in text and notice["id"] in text
    # Readable with `cat`: the subject and the body in plain UTF-8, not base64.
    assert "Subject: [服务市场] 服务商已接单" in text and "\n服务商已接单\n" in text
    assert stored(notice["id"]).delivery == "delivered"
    assert deliver(api)["found"] == 0 and len(list(mail_dir.glob("*.eml"))) == 1


@pytest.fixture
def moto_api(moto_aws, chalice_app, monkeypatch):
    """moto only: SES must never be reached for real."""
    monkeypatch.setattr(settings, "_current", dataclasses.replace(
        settings.get(), mail_transport="ses", mail_from="notices@market.example.com"))
    with Client(chalice_app, stage_name="local") as client:
        yield ApiClient(client)


def _sent_by_moto() -> list:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    return list(ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages)


def test_deployed_stages_mail_through_ses(moto_api):
    ses = boto3.client("ses", region_name="us-east-1")
    ses.verify_email_identity(EmailAddress="notices@market.example.com")
    moto_api.put("/me/channels", {"email": "shop@example.com"}, user=BUYER)
    [link] = _sent_by_moto()
    assert link.destinations["ToAddresses"] == ["shop@example.com"]
    assert open_link(moto_api, link.body).status == 200
    notice = send(text="服务商已交付，请验收")
    assert deliver(moto_api)["moved"] == 1
    sent = _sent_by_moto()[1:]
    assert len(sent) == 1
    assert sent[0].source == "notices@market.example.com"
    assert sent[0].destinations["ToAddresses"] == ["shop@example.com"]
    assert "服务商已交付，请验收" in sent[0].subject and notice["id"] in sent[0].body
    points = ses.get_send_statistics()["SendDataPoints"]
    assert sum(p["DeliveryAttempts"] for p in points) == 2  # the link, then the notice


def test_an_unverified_sender_is_a_failed_delivery_retried_later(moto_api):
    moto_api.put("/me/channels", {"email": "shop@example.com"}, user=BUYER)
    # The link could not be sent either (SES refuses the sender): confirmed by hand here.
    ChannelsModel(BUYER).update(actions=[ChannelsModel.email_verified_at.set("2026-01-01")])
    notice = send()
    assert deliver(moto_api)["failed"] == 1
    item = stored(notice["id"])
    assert item.delivery_attempts == 1 and "email" in item.delivery_error
    assert item.outbox_pk is not None and _sent_by_moto() == []


def test_the_job_runs_on_every_schedule_the_others_run_on(api, receiver, mail_dir):
    from app import app as chalice_app
    from chalicelib.jobs import registry
    from deploy import template

    registry.run_all()  # loads every job module
    assert JOB in registry.JOBS
    assert (JOB, "rate(1 minute)") in template.scheduled_functions(chalice_app)
    # The dev server's timer and POST /_local/sweeps run registry.run_all: so does this.
    hook(api, receiver.url)
    send()
    assert api.post("/_local/sweeps").json[JOB]["moved"] == 1
    assert len(receiver.requests) == 1


# --- one channel's trouble is not the other's ------------------------------------
def test_a_line_break_in_the_text_makes_a_one_line_subject_and_one_webhook_post(
        api, receiver, mail_dir):
    hook(api, receiver.url)
    confirm_email(api, mail_dir)
    notice = send(text="买家留言：\r\n请改成红色\nBcc: victim@example.com")
    assert deliver(api)["moved"] == 1
    clock.advance(stuck.backoff(1).total_seconds() + 1)
    assert deliver(api)["found"] == 0
    assert len(receiver.requests) == 1
    [mail] = mail_dir.glob("*.eml")
    message = read_mail(mail)
    assert message["Subject"] == "[服务市场] 买家留言： 请改成红色 Bcc: victim@example.com"
    assert message["Bcc"] is None and notice["id"] in message.get_content()
    assert stored(notice["id"]).delivery == "delivered"


def test_a_webhook_that_took_the_notice_is_not_posted_again_when_the_mail_crashes(
        api, receiver, mail_dir, monkeypatch):
    hook(api, receiver.url)
    confirm_email(api, mail_dir)

    def crash(*args, **kwargs):
        raise RuntimeError("a bug of ours while mailing")

    mail_notice = outbox.mail_notice
    monkeypatch.setattr(outbox, "mail_notice", crash)
    notice = send()
    assert deliver(api)["failed"] == 1  # the driver's own failure path
    assert stored(notice["id"]).webhook_sent_at is not None
    monkeypatch.setattr(outbox, "mail_notice", mail_notice)
    for _ in range(3):
        clock.advance(3600)
        deliver(api)
    assert len(receiver.requests) == 1
    assert len(list(mail_dir.glob("*.eml"))) == 1
    assert stored(notice["id"]).delivery == "delivered"


def test_an_unconfirmed_address_is_never_mailed(api, mail_dir):
    assert api.put("/me/channels", {"email": "someone-else@example.com"}, user=BUYER).status == 200
    notice = send()
    assert deliver(api)["moved"] == 1
    assert [m.name for m in mail_dir.glob("*.eml") if notice["id"] in m.name] == []
    assert stored(notice["id"]).email_sent_at is None


# --- the webhook connects to the address it checked ---------------------------------
PUBLIC_IP = "93.184.216.34"


def test_dns_rebinding_to_loopback_never_reaches_it(monkeypatch):
    """The name answers a public address to the check and 127.0.0.1 to any later lookup:
    the POST must go to the address checked, never to loopback."""
    monkeypatch.setattr(settings, "_current", dataclasses.replace(settings.get(), stage="prod"))
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.setblocking(False)
    port = listener.getsockname()[1]
    real_getaddrinfo, real_connect = socket.getaddrinfo, socket.create_connection
    lookups, connects = [], []

    def rebinding(host, port_, *args, **kwargs):
        if host != "hooks.example.com":
            return real_getaddrinfo(host, port_, *args, **kwargs)
        lookups.append(host)
        address = PUBLIC_IP if len(lookups) == 1 else "127.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port_))]

    def connect(address, *args, **kwargs):
        connects.append(address)
        if address[0] == PUBLIC_IP:  # no network from the tests: that host is down
            raise ConnectionRefusedError("refused")
        return real_connect(address, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    monkeypatch.setattr(socket, "create_connection", connect)
    try:
        with pytest.raises(outbox.DeliveryFailed, match="ConnectionRefused"):
            outbox.post_webhook(f"https://hooks.example.com:{port}/hook", "secret", b"{}")
        with pytest.raises(BlockingIOError):
            listener.accept()  # nothing ever connected to loopback
    finally:
        listener.close()
    assert connects == [(PUBLIC_IP, port)] and lookups == ["hooks.example.com"]


def test_a_pinned_https_connection_keeps_the_name_for_sni_and_certificate(monkeypatch):
    seen = {}

    class Context:
        verify_mode, check_hostname, post_handshake_auth = ssl.CERT_REQUIRED, True, None

        def wrap_socket(self, sock, server_hostname=None):
            seen["server_hostname"] = server_hostname
            return sock

    class Socket:
        def setsockopt(self, *args):
            pass

    def connect(address, *args):
        seen["address"] = address
        return Socket()

    monkeypatch.setattr(socket, "create_connection", connect)
    conn = outbox.PinnedHTTPSConnection("hooks.example.com", 8443, address=PUBLIC_IP,
                                          context=Context())
    conn.connect()
    assert seen == {"address": (PUBLIC_IP, 8443), "server_hostname": "hooks.example.com"}


def test_a_pinned_connection_sends_the_names_host_header(api, receiver, monkeypatch):
    monkeypatch.setattr(outbox.channels, "resolve", lambda host, port: ["127.0.0.1"])
    url = receiver.url.replace("127.0.0.1", "localhost")
    outbox.post_webhook(url, "secret", b"{}")
    assert receiver.requests[0]["headers"]["Host"] == f"localhost:{receiver.server.server_port}"
