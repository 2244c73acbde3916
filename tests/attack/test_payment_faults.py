"""Fault injection on money in: every DynamoDB call that settling an Alipay payment makes
fails in turn — throttled, unreachable, a transaction conflict, or done with its answer
lost — while Alipay behaves as it does: it repeats the same notification until it hears
`success`, and the scheduled jobs keep running. Whatever failed where, the order must
end exactly where a clean run leaves it: funded once (or, for an order cancelled
meanwhile, refunded once at Alipay), the payment record settled, the ledger clean,
nothing pending or stuck, and no answer a 500 or a 400.

The paths: a notification that funds the order; a notification for an order cancelled
meanwhile (the money goes back); and the settle_payments sweep finding a payment whose
notification was lost. Everything on moto; lost answers and conflicts on DynamoDB Local
too.
"""
from dataclasses import dataclass
from typing import Callable

import pytest
from chalice.test import Client

from chalicelib import clock
from chalicelib.payments import records
from chalicelib.storage.orders import OrderEventModel, OrderModel
from tests.api.alipay_support import notify, pending_order
from tests.api.orders_support import BUYER, OPERATOR
from tests.attack.faults import KINDS, Faults
from tests.jobs.sweep_support import HOUR
from tests.support import ApiClient

ALIPAY_REPEATS = 6
RETRYABLE_STATUSES = (409, 503)  # Alipay repeats anything but `success`


@dataclass
class Path:
    prepare: Callable  # (api, alipay) → order id, its trade paid at the stand-in
    act: Callable  # (api, alipay, order id, form) → Reply, or the job's summary


def _paid_at_alipay(api, alipay):
    oid, _ = pending_order(api, alipay)
    alipay.pay(oid)
    return oid


def _cancelled_then_paid(api, alipay):
    oid, _ = pending_order(api, alipay)
    assert api.post(f"/orders/{oid}/cancel", user=BUYER).status == 200
    alipay.pay(oid)
    return oid


def _notification_lost(api, alipay):
    oid = _paid_at_alipay(api, alipay)
    clock.advance(records.check_backoff(0).total_seconds() + 1)
    return oid


def _notify(api, alipay, oid, form):
    return notify(api, form)


def _sweep(api, alipay, oid, form):
    try:
        return api.invoke("settle_payments").payload
    except Exception as error:  # noqa: BLE001 - a failed scheduled run is retried by the next
        return error


PATHS = {
    "notification_funds": Path(_paid_at_alipay, _notify),
    "notification_after_cancel": Path(_cancelled_then_paid, _notify),
    "sweep_settles": Path(_notification_lost, _sweep),
}


@pytest.fixture
def moto_api(moto_aws, chalice_app):
    with Client(chalice_app, stage_name="local") as client:
        yield ApiClient(client)


@pytest.fixture
def faults(monkeypatch):
    return Faults().install(monkeypatch)


def assert_heard(reply):
    """Never a 500, never a 400 for a genuine notification: only success or 'later'."""
    if not hasattr(reply, "status"):
        return
    assert reply.status == 200 or reply.status in RETRYABLE_STATUSES, reply
    if reply.status == 200:
        assert reply.raw == b"success", reply


def alipay_repeats(api, alipay, path, oid, form, reply):
    """Alipay sends the same notification again until it hears `success`."""
    if path.act is not _notify:
        return
    for _ in range(ALIPAY_REPEATS):
        if reply.status == 200:
            break
        reply = path.act(api, alipay, oid, form)
        assert_heard(reply)
    assert (reply.status, reply.raw) == (200, b"success"), reply


def run_jobs(api, times=3):
    for _ in range(times):
        clock.advance(2 * HOUR)
        for job in ("settle_payments", "release_escrow", "sweep_timeouts"):
            api.invoke(job)


def outcome(alipay, oid) -> dict:
    order = OrderModel.get(oid, consistent_read=True)
    trade = alipay.standin.trades[oid]
    return {"status": order.status, "funded": int(order.escrow_funded),
            "refunded": int(order.escrow_refunded), "held": int(order.escrow_held),
            "events": [e.type for e in OrderEventModel.query(oid, consistent_read=True)],
            "payment": records.get(oid).status,
            "alipay_refunds": sorted(k.split(":", 1)[1] for k in trade["refunds"]),
            "alipay_refunded": trade["refunded"]}


def assert_nothing_left(api, when):
    check = api.get("/admin/ledger/check", user=OPERATOR, operator=True).json
    assert (check["violations"], check["sum"], check["pending_instructions"]) == ([], 0, []), (
        when, check)
    assert api.get("/admin/stuck", user=OPERATOR, operator=True).json["items"] == [], when
    report = api.get("/admin/reconciliation", user=OPERATOR, operator=True).json
    assert report["mismatches"] == [], (when, report)


def run_path(api, alipay, path, faults, index=None, kind=None):
    oid = path.prepare(api, alipay)
    form = alipay.notification(oid)
    with faults.failing(index, kind):
        first = path.act(api, alipay, oid, form)
    calls, fired = list(faults.calls), list(faults.fired)
    assert_heard(first)
    alipay_repeats(api, alipay, path, oid, form, first)
    run_jobs(api)
    return outcome(alipay, oid), calls, fired


def exercise(api, alipay, name, kinds, faults):
    path = PATHS[name]
    expected, calls, _ = run_path(api, alipay, path, faults)
    assert_nothing_left(api, "after the clean run")
    assert calls, "the path made no AWS call"
    for kind in kinds:
        for index, call in enumerate(calls):
            got, _, fired = run_path(api, alipay, path, faults, index, kind)
            assert [(i, c.operation) for i, _, c in fired] == [(index, call.operation)], (
                kind, index, fired, call)
            when = f"{kind} at call {index} {call}"
            assert got == expected, (when, got, expected)
            assert_nothing_left(api, when)
    return expected


@pytest.mark.parametrize("name", list(PATHS))
def test_every_call_of_settling_a_payment_may_fail_on_moto(moto_api, alipay, name, faults):
    expected = exercise(moto_api, alipay, name, KINDS, faults)
    if name == "notification_after_cancel":
        assert (expected["status"], expected["payment"], expected["alipay_refunded"]) == (
            "cancelled", "voided", 50000)
    else:
        assert (expected["status"], expected["payment"], expected["events"]) == (
            "awaiting_provider", "paid", ["placed", "paid"])


@pytest.mark.parametrize("name", list(PATHS))
def test_lost_answers_and_conflicts_on_dynamodb_local(api, aws, alipay, name, faults):
    if aws == "moto":
        pytest.skip("the moto variant above covers every kind")
    exercise(api, alipay, name, ("lost", "conflict"), faults)
