"""Paying through Alipay: pay answers a redirect, the signed notification funds escrow
exactly once whatever arrives (repeated, late, out of order, concurrent, forged), money
for an order cancelled meanwhile goes back, an amount that does not match changes
nothing, and refunds reach Alipay once per instruction."""
import json
from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest

from chalicelib import clock
from chalicelib.alipay import protocol
from chalicelib.domain.errors import Conflict
from chalicelib.payments import records, settling
from chalicelib.services import instructions
from chalicelib import payments
from chalicelib.storage.ledger import InstructionModel
from chalicelib.storage.orders import OrderEventModel, OrderModel
from tests.api.alipay_support import (GATEWAY_URL, NOTIFY_URL, notify, paid_through_alipay, pending_order)
from tests.api.orders_support import BUYER, PROVIDER, ledger_clean, listed_service, place
from tests.support import race


def _events(oid):
    return [e.type for e in OrderEventModel.query(oid, consistent_read=True)]


def _biz(redirect_url):
    params = dict(parse_qsl(urlsplit(redirect_url).query))
    return params, json.loads(params["biz_content"])


# --- paying ------------------------------------------------------------------------
def test_pay_answers_a_signed_redirect_and_the_order_waits(api, alipay):
    oid = place(api, listed_service(title="店铺/首页=装修&设计")).json["id"]
    answer = api.post(f"/orders/{oid}/pay", user=BUYER).json
    assert answer["status"] == "awaiting_payment"
    assert answer["payment"]["status"] == "pending"
    url = answer["payment"]["redirect_url"]
    assert url.startswith(GATEWAY_URL + "?")
    params, biz = _biz(url)
    assert params["method"] == "alipay.trade.page.pay"
    assert params["notify_url"] == NOTIFY_URL and params["sign_type"] == "RSA2"
    assert biz["out_trade_no"] == oid and biz["total_amount"] == "500.00"
    assert biz["product_code"] == "FAST_INSTANT_TRADE_PAY"
    assert "/" not in biz["subject"] and "&" not in biz["subject"]  # Alipay refuses them
    # The trade closes after PAYMENT_TIMEOUT_SECONDS (15 min, Beijing time; issue 21).
    closes = clock.from_key(records.get(oid).created_at) + timedelta(minutes=15)
    assert biz["time_expire"] == protocol.beijing_time(closes)
    assert protocol.verify_request(params, protocol.load_public_key(
        alipay.standin.registration.app_public_key))
    assert records.get(oid).status == "pending"

    again = api.post(f"/orders/{oid}/pay", {"channel": "wap"}, user=BUYER).json
    params, biz = _biz(again["payment"]["redirect_url"])
    assert params["method"] == "alipay.trade.wap.pay" and biz["product_code"] == "QUICK_WAP_WAY"
    assert biz["out_trade_no"] == oid  # the same trade: an order is paid at most once


def test_the_notification_funds_escrow_and_answers_success(api, alipay):
    oid, _ = pending_order(api, alipay)
    assert alipay.standin.trades[oid]["status"] == "WAIT_BUYER_PAY"
    trade = alipay.pay(oid)
    reply = notify(api, alipay.notification(oid))
    assert (reply.status, reply.raw) == (200, b"success")
    assert reply.headers["content-type"].startswith("text/plain")
    order = api.get(f"/orders/{oid}", user=BUYER).json
    assert order["status"] == "awaiting_provider"
    assert order["escrow"] == {"funded": 50000, "released": 0, "refunded": 0, "held": 50000}
    record = records.get(oid)
    assert (record.status, record.gateway_ref, record.gateway_amount) == (
        "paid", trade["trade_no"], 50000)
    assert record.gateway_status == "TRADE_SUCCESS" and record.pending_pk is None
    assert OrderModel.get(oid).payment_ref == trade["trade_no"]
    assert api.post(f"/orders/{oid}/pay", user=BUYER).error_code == "INVALID_TRANSITION"
    ledger_clean(api)


def test_repeated_and_late_notifications_fund_once(api, alipay):
    oid = paid_through_alipay(api, alipay)
    version = OrderModel.get(oid).version
    for _ in range(3):
        assert notify(api, alipay.notification(oid)).raw == b"success"
    assert api.post(f"/orders/{oid}/accept", user=PROVIDER).status == 200
    clock.advance(3600)
    assert notify(api, alipay.notification(oid)).raw == b"success"  # a day late, say
    assert _events(oid) == ["placed", "paid", "accepted"]
    assert OrderModel.get(oid).version == version + 1
    assert api.get(f"/orders/{oid}", user=BUYER).json["escrow"]["funded"] == 50000
    ledger_clean(api)


def test_out_of_order_statuses_never_undo_a_payment(api, alipay):
    oid, _ = pending_order(api, alipay)
    waiting = alipay.notification(oid)  # WAIT_BUYER_PAY, delivered late below
    alipay.pay(oid)
    paid = alipay.notification(oid)
    assert notify(api, paid).raw == b"success"
    assert notify(api, waiting).raw == b"success"
    alipay.standin.trades[oid]["status"] = "TRADE_CLOSED"
    assert notify(api, alipay.notification(oid)).raw == b"success"
    alipay.standin.trades[oid]["status"] = "TRADE_FINISHED"
    assert notify(api, alipay.notification(oid)).raw == b"success"
    assert records.get(oid).status == "paid"
    assert api.get(f"/orders/{oid}", user=BUYER).json["status"] == "awaiting_provider"
    assert _events(oid) == ["placed", "paid"]


def test_a_closed_trade_is_noted_and_a_later_payment_still_counts(api, alipay):
    oid, _ = pending_order(api, alipay)
    alipay.standin.trades[oid]["status"] = "TRADE_CLOSED"
    assert notify(api, alipay.notification(oid)).raw == b"success"
    assert records.get(oid).status == "closed" and records.get(oid).pending_pk is None
    alipay.standin.trades[oid]["status"] = "WAIT_BUYER_PAY"
    alipay.pay(oid)
    assert notify(api, alipay.notification(oid)).raw == b"success"
    assert api.get(f"/orders/{oid}", user=BUYER).json["status"] == "awaiting_provider"


# --- forged or foreign --------------------------------------------------------------
@pytest.mark.parametrize("tamper", ["amount", "signature"])
def test_a_tampered_or_forged_notification_changes_nothing(api, alipay, tamper):
    oid, _ = pending_order(api, alipay)
    alipay.pay(oid)
    reply = notify(api, alipay.notification(oid, tamper=tamper))
    assert reply.status == 400 and reply.error_code == "INVALID_REQUEST"
    assert api.get(f"/orders/{oid}", user=BUYER).json["status"] == "awaiting_payment"
    assert records.get(oid).status == "pending"


def _resigned(alipay, form, **changes):
    form = {k: v for k, v in form.items() if k not in ("sign", "sign_type")}
    form.update(changes)
    form["sign"] = protocol.sign_text(protocol.canonical(form), protocol.load_private_key(
        alipay.standin.registration.alipay_private_key))
    form["sign_type"] = "RSA2"
    return form


@pytest.mark.parametrize("change", [
    {"app_id": "2021009999999999"},  # signed by Alipay, but for another merchant's app
    {"trade_status": "TRADE_PAID_MAYBE"},
    {"total_amount": "五百"},
    {"out_trade_no": ""},
])
def test_a_signed_notification_that_is_not_for_us_or_malformed_is_refused(api, alipay, change):
    oid, _ = pending_order(api, alipay)
    alipay.pay(oid)
    reply = notify(api, _resigned(alipay, alipay.notification(oid), **change))
    assert reply.status == 400
    assert api.get(f"/orders/{oid}", user=BUYER).json["status"] == "awaiting_payment"


@pytest.mark.parametrize("body", [b"", b"sign=abc", b"\xff\xfe\x00", b"a=%ZZ&&&=",
                                  b"total_amount=500.00&trade_status=TRADE_SUCCESS"])
def test_garbage_is_a_4xx_never_a_5xx(api, alipay, body):
    reply = api.call("POST", "/payments/alipay/notify", raw=body,
                     content_type="application/x-www-form-urlencoded")
    assert 400 <= reply.status < 500, reply


def test_only_a_form_post_to_the_configured_gateway_is_heard(api, alipay):
    form = alipay.notification(pending_order(api, alipay)[0])
    assert notify(api, form, gateway="wechat").status == 404
    as_json = api.call("POST", "/payments/alipay/notify", body=form)
    assert as_json.status == 415


def test_the_sandbox_hears_no_notifications(api):
    assert notify(api, {"trade_status": "TRADE_SUCCESS"}).status == 404


# --- the amount, and payments nobody started -------------------------------------------
def test_an_amount_that_does_not_match_changes_nothing_and_is_listed(api, alipay):
    oid, _ = pending_order(api, alipay)
    alipay.standin.trades[oid]["total_amount"] = "0.50"  # Alipay took another amount
    alipay.pay(oid)
    assert notify(api, alipay.notification(oid)).raw == b"success"  # heard, not repeated
    assert api.get(f"/orders/{oid}", user=BUYER).json["status"] == "awaiting_payment"
    record = records.get(oid)
    assert (record.status, record.problem) == ("pending", "amount_mismatch")
    assert (record.problem_detail["gateway_amount"], record.problem_detail["order_amount"]) == (
        50, 50000)
    ledger_clean(api)


def test_a_payment_we_never_started_is_recorded_for_operators(api, alipay):
    oid, _ = pending_order(api, alipay)
    alipay.pay(oid)
    stranger = _resigned(alipay, alipay.notification(oid), out_trade_no="ord_not_ours")
    assert notify(api, stranger).raw == b"success"
    record = records.get("ord_not_ours")
    assert (record.status, record.problem, record.order_id) == ("unknown", "unknown_payment", None)


# --- money for an order that closed meanwhile ------------------------------------------------
def test_a_payment_for_an_order_cancelled_meanwhile_is_refunded_once(api, alipay):
    oid, _ = pending_order(api, alipay)
    assert api.post(f"/orders/{oid}/cancel", user=BUYER).json["status"] == "cancelled"
    trade = alipay.pay(oid)  # the buyer paid in the cashier that was still open
    for _ in range(3):
        assert notify(api, alipay.notification(oid)).raw == b"success"
    order = api.get(f"/orders/{oid}", user=BUYER).json
    assert order["status"] == "cancelled"
    assert order["escrow"] == {"funded": 50000, "released": 0, "refunded": 50000, "held": 0}
    refunds = alipay.standin.trades[oid]["refunds"]
    assert list(refunds) == [f"{oid}:refund:void"]  # the instruction id: once at Alipay
    assert alipay.standin.trades[oid]["status"] == "TRADE_CLOSED"
    record = records.get(oid)
    assert (record.status, record.gateway_ref) == ("voided", trade["trade_no"])
    assert InstructionModel.get(f"{oid}:refund:void").status == "done"
    kinds = [n["kind"] for n in api.get("/me/notifications", user=BUYER).json["items"]]
    assert "refunded" in kinds
    # Alipay's own TRADE_CLOSED notification after the refund changes nothing either.
    assert notify(api, alipay.notification(oid)).raw == b"success"
    assert len(alipay.standin.trades[oid]["refunds"]) == 1
    ledger_clean(api)


def _threads_on_dynamodb_local(aws):
    if aws == "moto":
        pytest.skip("moto is not safe for concurrent transactions (DynamoDB Local is)")


def test_notifications_racing_fund_once(api, alipay, aws):
    _threads_on_dynamodb_local(aws)
    oid, _ = pending_order(api, alipay)
    alipay.pay(oid)
    form = alipay.notification(oid)
    results = race(*[lambda: settling.receive_notification("alipay", dict(form),
                                                                clock.now())] * 4)
    # A racer that keeps losing answers 409 CONFLICT: Alipay repeats it later.
    assert "success" in results, results
    assert all(r == "success" or isinstance(r, Conflict) for r in results), results
    assert _events(oid) == ["placed", "paid"]
    assert api.get(f"/orders/{oid}", user=BUYER).json["escrow"]["funded"] == 50000
    ledger_clean(api)


def test_a_notification_racing_the_buyers_cancel_ends_funded_or_refunded(api, alipay, aws):
    _threads_on_dynamodb_local(aws)
    oid, _ = pending_order(api, alipay)
    alipay.pay(oid)
    form = alipay.notification(oid)
    race(lambda: settling.receive_notification("alipay", dict(form), clock.now()),
         lambda: api.post(f"/orders/{oid}/cancel", user=BUYER))
    order = api.get(f"/orders/{oid}", user=BUYER).json
    if order["status"] == "cancelled":
        assert order["escrow"]["refunded"] == 50000
    else:
        assert order["status"] == "awaiting_provider" and order["escrow"]["held"] == 50000
    ledger_clean(api)


# --- refunds at Alipay -------------------------------------------------------------------
def test_a_rejected_order_is_refunded_at_alipay_once_per_instruction(api, alipay):
    oid = paid_through_alipay(api, alipay)
    assert api.post(f"/orders/{oid}/reject", {"reason": "档期已满"}, user=PROVIDER).status == 200
    trade = alipay.standin.trades[oid]
    assert trade["refunds"][f"{oid}:refund:all"]["amount"] == 50000
    # Asked again with the same instruction id, Alipay does not refund twice.
    assert alipay.gateway.refund(trade["trade_no"], 50000, f"{oid}:refund:all")
    assert trade["refunded"] == 50000
    assert api.get(f"/orders/{oid}", user=BUYER).json["escrow"]["refunded"] == 50000
    ledger_clean(api)


@pytest.mark.parametrize("fault", ["fail", "lose_answer"])
def test_a_refund_whose_answer_fails_or_is_lost_is_retried_and_refunds_once(api, alipay, fault):
    oid = paid_through_alipay(api, alipay)
    alipay.standin.set_control({fault: {"alipay.trade.refund": 1}})
    assert api.post(f"/orders/{oid}/reject", {"reason": "档期已满"}, user=PROVIDER).status == 200
    instruction = InstructionModel.get(f"{oid}:refund:all", consistent_read=True)
    assert (instruction.status, instruction.attempts) == ("pending", 1)
    assert "GatewayError" in instruction.last_error
    assert instructions.execute_instruction(instruction.id, clock.now()) == "done"
    trade = alipay.standin.trades[oid]
    assert trade["refunded"] == 50000 and len(trade["refunds"]) == 1
    ledger_clean(api)


def test_an_unreachable_alipay_leaves_the_refund_pending(api, alipay, monkeypatch):
    oid = paid_through_alipay(api, alipay)

    def down(url, body, timeout):
        raise TimeoutError("timed out")

    monkeypatch.setattr(alipay.gateway, "transport", down)
    api.post(f"/orders/{oid}/reject", {"reason": "档期已满"}, user=PROVIDER)
    instruction = InstructionModel.get(f"{oid}:refund:all", consistent_read=True)
    assert instruction.status == "pending" and "no answer" in instruction.last_error
    assert alipay.standin.trades[oid]["refunded"] == 0


# --- queries --------------------------------------------------------------------------
def test_query_reads_the_trade_and_an_unknown_one_is_missing(api, alipay):
    oid, _ = pending_order(api, alipay)
    assert alipay.gateway.query(oid).status == payments.PENDING
    trade = alipay.pay(oid)
    answer = alipay.gateway.query(oid)
    assert (answer.status, answer.ref, answer.amount, answer.raw_status) == (
        payments.SUCCEEDED, trade["trade_no"], 50000, "TRADE_SUCCESS")
    assert alipay.gateway.query("ord_never").status == payments.MISSING
    alipay.standin.set_control({"fail": {"alipay.trade.query": 1}})
    with pytest.raises(payments.GatewayError):
        alipay.gateway.query(oid)


def test_an_answer_signed_by_someone_else_proves_nothing(api, alipay, monkeypatch):
    oid, _ = pending_order(api, alipay)
    alipay.pay(oid)
    forger = protocol.load_private_key(protocol.new_key_pair()[0])
    monkeypatch.setattr(alipay.standin, "_alipay_key", forger)
    with pytest.raises(payments.GatewayError, match="signature"):
        alipay.gateway.query(oid)
