"""settle_payments and GET /admin/reconciliation: a payment whose notification never
came is settled from Alipay's query answer through the same exactly-once path, one that
will never be paid is closed, and the operators' view lists every mismatch between the
gateway's records and the ledger."""
from chalicelib import clock
from chalicelib.payments import records
from chalicelib.storage.ledger import PostingModel
from chalicelib.storage.orders import OrderModel
from tests.api.alipay_support import notify, paid_through_alipay, pending_order
from tests.api.orders_support import BUYER, OPERATOR, PROVIDER, ledger_clean

CHECK_AFTER = 300


def _sweep(api) -> dict:
    return api.invoke("settle_payments").payload


def _report(api) -> dict:
    reply = api.get("/admin/reconciliation", user=OPERATOR, operator=True)
    assert reply.status == 200, reply
    return reply.json


def test_a_lost_notification_is_settled_from_the_query(api, alipay):
    oid, _ = pending_order(api, alipay)
    alipay.pay(oid)  # the notification never arrives
    assert _sweep(api)["found"] == 0  # not due before PAYMENT_CHECK_AFTER_SECONDS
    clock.advance(CHECK_AFTER + 1)
    summary = _sweep(api)
    assert (summary["found"], summary["moved"]) == (1, 1)
    assert api.get(f"/orders/{oid}", user=BUYER).json["status"] == "awaiting_provider"
    assert records.get(oid).status == "paid"
    assert _sweep(api)["found"] == 0
    assert notify(api, alipay.notification(oid)).raw == b"success"  # late: harmless
    assert OrderModel.get(oid).escrow_funded == 50000
    ledger_clean(api)
    assert _report(api)["mismatches"] == []


def test_an_unpaid_trade_is_asked_again_later(api, alipay):
    oid, _ = pending_order(api, alipay)
    clock.advance(CHECK_AFTER + 1)
    summary = _sweep(api)
    assert (summary["found"], summary["skipped"]) == (1, 1)
    record = records.get(oid)
    assert (record.status, record.checks, record.gateway_status) == ("pending", 1,
                                                                     "WAIT_BUYER_PAY")
    assert clock.from_key(record.check_at) > clock.now()  # backoff: not every minute
    assert _sweep(api)["found"] == 0


def test_a_gateway_that_does_not_answer_is_asked_again(api, alipay):
    oid, _ = pending_order(api, alipay)
    alipay.pay(oid)
    alipay.standin.set_control({"fail": {"alipay.trade.query": 1}})
    clock.advance(CHECK_AFTER + 1)
    assert _sweep(api)["failed"] == 1
    stuck = api.get("/admin/stuck", user=OPERATOR, operator=True).json["items"]
    assert [(s["job"], s["id"]) for s in stuck] == [("settle_payments", oid)]
    clock.advance(2 * CHECK_AFTER + 1)
    assert _sweep(api)["moved"] == 1
    assert api.get(f"/orders/{oid}", user=BUYER).json["status"] == "awaiting_provider"
    assert api.get("/admin/stuck", user=OPERATOR, operator=True).json["items"] == []


def test_a_payment_never_started_at_alipay_closes_with_its_order(api, alipay):
    oid, _ = pending_order(api, alipay)
    alipay.standin.trades.pop(oid)  # the buyer never reached the cashier
    clock.advance(CHECK_AFTER + 1)
    _sweep(api)
    assert records.get(oid).status == "pending"  # the buyer may still go and pay
    api.post(f"/orders/{oid}/cancel", user=BUYER)
    clock.advance(4 * CHECK_AFTER)
    assert _sweep(api)["moved"] == 1
    record = records.get(oid)
    assert record.status == "closed" and record.pending_pk is None


def test_a_payment_found_for_a_cancelled_order_is_refunded(api, alipay):
    oid, _ = pending_order(api, alipay)
    api.post(f"/orders/{oid}/cancel", user=BUYER)
    alipay.pay(oid)  # paid in the still-open cashier; the notification is lost
    clock.advance(CHECK_AFTER + 1)
    assert _sweep(api)["moved"] == 1
    assert records.get(oid).status == "voided"
    assert alipay.standin.trades[oid]["refunded"] == 50000
    assert api.get(f"/orders/{oid}", user=BUYER).json["escrow"]["refunded"] == 50000
    ledger_clean(api)
    assert _report(api)["mismatches"] == []


def test_a_mismatched_amount_from_the_query_changes_nothing_and_is_reported(api, alipay):
    oid, _ = pending_order(api, alipay)
    alipay.standin.trades[oid]["total_amount"] = "1.00"
    alipay.pay(oid)
    clock.advance(CHECK_AFTER + 1)
    _sweep(api)
    assert api.get(f"/orders/{oid}", user=BUYER).json["status"] == "awaiting_payment"
    [mismatch] = _report(api)["mismatches"]
    assert (mismatch["kind"], mismatch["payment"]) == ("amount_mismatch", oid)
    assert mismatch["detail"]["gateway_amount"] == 100


def test_the_report_lists_gateway_records_against_the_ledger(api, alipay):
    assert api.get("/admin/reconciliation", user=BUYER).status == 403
    paid = paid_through_alipay(api, alipay)
    other = paid_through_alipay(api, alipay, buyer="buyer-2")
    report = _report(api)
    assert report["payments"] == {"paid": 2}
    assert report["totals"] == {"gateway_paid": 100000, "ledger_funded": 100000,
                                "ledger_refunded": 0}
    assert report["mismatches"] == []

    # What the ledger lost, or the gateway reported differently, is listed.
    PostingModel(f"{paid}:fund:all").delete()
    records.PaymentModel(other).update(actions=[records.PaymentModel.gateway_ref.set("2099")])
    kinds = {(m["kind"], m.get("payment") or m["order"]) for m in _report(api)["mismatches"]}
    assert kinds == {("paid_not_funded", paid), ("gateway_ref_differs", other)}


def test_an_order_funded_with_no_gateway_record_is_reported(api, alipay):
    oid = paid_through_alipay(api, alipay)
    records.PaymentModel(oid).delete()
    [mismatch] = _report(api)["mismatches"]
    assert (mismatch["kind"], mismatch["order"]) == ("funded_without_gateway_payment", oid)


def test_the_provider_can_go_on_once_the_sweep_settled(api, alipay):
    oid, _ = pending_order(api, alipay)
    alipay.pay(oid)
    clock.advance(CHECK_AFTER + 1)
    _sweep(api)
    assert api.post(f"/orders/{oid}/accept", user=PROVIDER).json["status"] == "in_progress"
