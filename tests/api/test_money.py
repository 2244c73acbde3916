"""Money views and the instruction machinery: balance, the ledger audit, a crash between
recording and executing, and the sweep-facing service functions."""
import pytest

from chalicelib import clock
from chalicelib.domain.actors import Caller
from chalicelib.payments import records, settling
from chalicelib.services import escrow, instructions, ledger_check, orders
from chalicelib import payments
from chalicelib.storage.ledger import InstructionModel, PostingModel
from chalicelib.storage.orders import OrderModel, timer_partition
from tests.api.orders_support import (BUYER, OPERATOR, PROVIDER, accepted_order, deliver,
                                      ledger_clean, listed_service, paid_order, place)
from tests.support import fresh_sandbox

DAY = 24 * 3600


@pytest.fixture(autouse=True)
def sandbox():
    return fresh_sandbox()


def test_balance_is_zero_before_any_release(api):
    assert api.get("/me/balance", user=PROVIDER).json == {
        "available": 0, "pending_withdrawal": 0, "currency": "CNY"}
    assert api.get("/me/balance").status == 401


def test_the_ledger_check_is_for_operators_and_counts_accounts(api):
    assert api.get("/admin/ledger/check", user=BUYER).status == 403
    paid_order(api)
    report = ledger_clean(api)
    assert report["accounts"] == 2  # gateway and the order's escrow


def test_the_ledger_check_catches_a_tampered_order(api):
    oid = paid_order(api)
    OrderModel(oid).update(actions=[OrderModel.escrow_held.set(1)])
    report = api.get("/admin/ledger/check", user=OPERATOR, operator=True).json
    kinds = {v["kind"] for v in report["violations"]}
    assert {"escrow_counters_inconsistent", "escrow_differs_from_postings"} <= kinds


def test_the_approval_releases_in_its_own_transaction_exactly_once(api, monkeypatch):
    oid = accepted_order(api)
    deliver(api, oid)

    def no_driver(ins, now):
        raise AssertionError("a release needs no instruction driver")

    # The release is part of the approval's commit: no later step exists that could die.
    monkeypatch.setitem(instructions.EXECUTORS, "release", no_driver)
    approved = api.post(f"/orders/{oid}/approve", user=BUYER)
    assert approved.json["status"] == "completed"
    assert approved.json["escrow"] == {**approved.json["escrow"], "held": 0, "released": 50000}
    instruction = InstructionModel.get(f"{oid}:release:0", consistent_read=True)
    assert (instruction.status, instruction.pending_pk) == ("done", None)
    assert api.get("/me/balance", user=PROVIDER).json["available"] == 50000

    # Driving it again, or a second approval, moves nothing more.
    assert instructions.execute_instruction(instruction.id, clock.now()) == "done"
    assert api.post(f"/orders/{oid}/approve", user=BUYER).status == 409
    assert api.get(f"/orders/{oid}", user=BUYER).json["escrow"]["released"] == 50000
    assert api.get("/me/balance", user=PROVIDER).json["available"] == 50000
    assert len([p for p in PostingModel.scan() if p.order_id == oid]) == 2  # fund + release
    ledger_clean(api)


def test_a_refund_crash_never_refunds_twice_at_the_gateway(api, monkeypatch, sandbox):
    oid = paid_order(api)
    real_post = escrow.execute
    state = {"crashed": False}

    def crash_after_gateway(ins, now):
        if not state["crashed"]:
            state["crashed"] = True
            payments.gateway().refund(ins.payment_ref, ins.amount, ins.id)
            raise RuntimeError("died after the gateway refunded")
        return real_post(ins, now)

    monkeypatch.setitem(instructions.EXECUTORS, "refund", crash_after_gateway)
    api.post(f"/orders/{oid}/reject", {"reason": "没空"}, user=PROVIDER)
    instructions.execute_instruction(f"{oid}:refund:all", clock.now())
    assert len(sandbox.refunds) == 1
    assert api.get(f"/orders/{oid}", user=BUYER).json["escrow"]["refunded"] == 50000
    ledger_clean(api)


def test_an_instruction_is_parked_after_repeated_failures(api, monkeypatch):
    monkeypatch.setenv("INSTRUCTION_MAX_ATTEMPTS", "2")
    from chalicelib import settings
    settings.reload()
    oid = paid_order(api)
    monkeypatch.setitem(instructions.EXECUTORS, "refund",
                        lambda ins, now: (_ for _ in ()).throw(OSError("down")))
    api.post(f"/orders/{oid}/reject", {"reason": "没空"}, user=PROVIDER)
    assert instructions.execute_instruction(f"{oid}:refund:all", clock.now()) == "parked"
    parked = InstructionModel.get(f"{oid}:refund:all", consistent_read=True)
    assert parked.pending_pk is None and parked.attempts == 2
    monkeypatch.delenv("INSTRUCTION_MAX_ATTEMPTS")
    settings.reload()


def test_pending_instructions_are_found_through_the_sparse_index(api, monkeypatch):
    oid = paid_order(api)
    monkeypatch.setattr(instructions, "execute_quietly", lambda written, now: set())
    api.post(f"/orders/{oid}/reject", {"reason": "没空"}, user=PROVIDER)
    found = [i for i, _ in instructions.due_instruction_ids(clock.now(), limit=100)[0]]
    assert found == [f"{oid}:refund:all"]


def test_unpaid_orders_close_after_the_payment_window(api):
    oid = place(api, listed_service()).json["id"]
    assert orders.close_unpaid(oid, clock.now()) is None  # not due yet
    later = clock.advance(72 * 3600 + 1)
    assert api.post(f"/orders/{oid}/pay", user=BUYER).error_code == "INVALID_TRANSITION"
    closed = orders.close_unpaid(oid, later)
    assert closed.status == "cancelled" and closed.timer_pk is None
    assert orders.close_unpaid(oid, later) is None  # a second sweep is harmless
    ledger_clean(api)


def test_unaccepted_orders_expire_with_a_full_refund(api, sandbox):
    oid = paid_order(api)
    assert orders.expire_unaccepted(oid, clock.now()) is None
    later = clock.advance(7 * DAY + 1)
    expired = orders.expire_unaccepted(oid, later)
    assert expired.status == "expired"
    assert (expired.escrow_refunded, expired.escrow_held) == (50000, 0)
    assert orders.expire_unaccepted(oid, later) is None
    assert len(sandbox.refunds) == 1
    ledger_clean(api)


def test_late_cancel_eligibility_is_marked_by_the_sweep(api):
    oid = accepted_order(api)
    order = OrderModel.get(oid, consistent_read=True)
    assert order.timer_pk == timer_partition(oid)
    assert orders.mark_late_cancel_eligible(oid, clock.now()) is None
    later = clock.advance(10 * DAY + 15 * DAY + 1)
    marked = orders.mark_late_cancel_eligible(oid, later)
    assert marked.late_cancel_eligible and marked.status == "in_progress"
    assert marked.timer_pk is None  # no timer pending any more
    assert orders.mark_late_cancel_eligible(oid, later) is None
    assert api.post(f"/orders/{oid}/cancel", user=BUYER).json["status"] == "cancelled"
    ledger_clean(api)


def test_the_due_timers_index_holds_the_earliest_timer(api):
    oid = place(api, listed_service()).json["id"]
    order = OrderModel.get(oid, consistent_read=True)
    pay_by = clock.from_key(order.created_at).timestamp() + 72 * 3600
    reminder_key, order_part = order.timer_due.split("#")
    assert order_part == oid
    assert clock.from_key(reminder_key).timestamp() == pytest.approx(pay_by - DAY)
    due = list(OrderModel.due_timers.query(timer_partition(oid)))
    assert [o.id for o in due] == [oid]


def test_confirm_funding_is_idempotent_for_a_redelivered_webhook(api):
    oid = place(api, listed_service()).json["id"]
    now = clock.now()
    first = orders.confirm_funding(oid, "gw-ref-1", 50000, now)
    again = orders.confirm_funding(oid, "gw-ref-1", 50000, now)
    assert first.version == again.version and again.escrow_funded == 50000
    ledger_clean(api)


def test_a_payment_for_a_closed_order_is_sent_back(api, sandbox):
    oid = place(api, listed_service()).json["id"]
    api.post(f"/orders/{oid}/cancel", user=BUYER)
    from chalicelib.domain.errors import InvalidTransition
    with pytest.raises(InvalidTransition):
        orders.confirm_funding(oid, "gw-late", 50000, clock.now())
    assert [r[1] for r in sandbox.refunds.values()] == ["gw-late"]
    # The ledger shows the money that came and went back, keyed so it happens once.
    assert orders.get_order(Caller(BUYER), oid)["escrow"] == {
        "funded": 50000, "released": 0, "refunded": 50000, "held": 0}
    assert list(sandbox.refunds) == [f"{oid}:refund:void"]
    with pytest.raises(InvalidTransition):
        orders.confirm_funding(oid, "gw-late-2", 50000, clock.now())
    assert len(sandbox.refunds) == 1  # a second payment is for a person to look at:
    assert records.get(oid).problem == "paid_twice"
    assert ledger_check.check_ledger()["violations"] == []


def test_the_sandbox_pays_at_once_and_the_payment_is_recorded(api):
    oid = place(api, listed_service()).json["id"]
    paid = api.post(f"/orders/{oid}/pay", user=BUYER)
    assert paid.json["status"] == "awaiting_provider"
    assert paid.json["payment"] == {"status": "succeeded"}
    record = records.get(oid)
    assert (record.status, record.gateway, record.amount) == ("paid", "sandbox", 50000)
    assert record.gateway_ref == OrderModel.get(oid).payment_ref
    assert record.pending_pk is None  # nothing left for the reconciliation sweep
    assert api.post(f"/orders/{oid}/pay", {"channel": "alipay"}, user=BUYER).status == 422


def test_a_move_on_escrow_counters_already_wrong_raises_and_writes_nothing(api):
    """The engine's escrow change goes through the one checked place: with counters
    broken behind its back (held short of funded), an approval that would release the
    money raises instead of writing on top of them."""
    from chalicelib.domain.escrow import EscrowInvariantBroken

    oid = accepted_order(api)
    deliver(api, oid)
    OrderModel(oid).update(actions=[OrderModel.escrow_held.set(40000)])
    before = OrderModel.get(oid, consistent_read=True)
    with pytest.raises(EscrowInvariantBroken):
        orders.approve_order(Caller(BUYER), oid, clock.now())
    after = OrderModel.get(oid, consistent_read=True)
    assert (after.status, after.version, int(after.escrow_released)) == (
        before.status, before.version, 0)
    assert not [p for p in PostingModel.scan() if p.order_id == oid and p.kind == "release"]


def test_a_payment_the_gateway_takes_at_once_is_settled_by_the_one_settle_path(api, monkeypatch):
    """The instant gateway's success inside `pay` and a gateway's notification take the
    same path (payments.settling.settle → the order's registered funder): the paying
    request only adds who pays and its key, so a retry is recognised."""
    seen = []
    funder = settling.FUNDERS[settling.ORDER]

    def spying(payment, trade, now, **paying):
        seen.append((payment.id, trade.amount, sorted(paying)))
        return funder(payment, trade, now, **paying)

    monkeypatch.setitem(settling.FUNDERS, settling.ORDER, spying)
    oid = paid_order(api)
    assert seen == [(oid, 50000, ["actor", "request_key"])]
    assert records.get(oid).status == "paid"
    assert api.get(f"/orders/{oid}", user=BUYER).json["escrow"]["held"] == 50000
    ledger_clean(api)
