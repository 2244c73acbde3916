"""The outbox driver: every notice reaches the user's webhook (signed, verified here with
the secret the API answered) and e-mail; a failing receiver is retried with the escrow
instructions' backoff and parked; redirects are not followed; an order never waits."""
import dataclasses
import hashlib
import hmac
import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest
from chalice.test import Client

from chalicelib import clock, settings
from chalicelib.services import delivery, escrow, stuck
from chalicelib.services.notifications import notify
from chalicelib.storage.notifications import NotificationModel
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
    monkeypatch.setattr(settings, "_current", dataclasses.replace(
        settings.get(), local_data_dir=str(tmp_path), mail_transport="outbox"))
    return tmp_path / "mail"


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
    assert escrow.stuck.backoff is delivery.stuck.backoff
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
    reply = api.put("/me/channels", {"email": "shop@example.com"}, user=BUYER)
    assert reply.status == 200
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
    notice = send(text="服务商已交付，请验收")
    assert deliver(moto_api)["moved"] == 1
    sent = _sent_by_moto()
    assert len(sent) == 1
    assert sent[0].source == "notices@market.example.com"
    assert sent[0].destinations["ToAddresses"] == ["shop@example.com"]
    assert "服务商已交付，请验收" in sent[0].subject and notice["id"] in sent[0].body
    points = ses.get_send_statistics()["SendDataPoints"]
    assert sum(p["DeliveryAttempts"] for p in points) == 1


def test_an_unverified_sender_is_a_failed_delivery_retried_later(moto_api):
    moto_api.put("/me/channels", {"email": "shop@example.com"}, user=BUYER)
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
