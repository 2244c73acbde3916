"""`release_escrow`: a refund recorded by a transition whose Lambda died before executing
it is finished by the job, once; one that keeps failing is retried with backoff, then
parked and shown to operators instead of looping forever. A release needs no job: it is
written in its approval's own transaction."""
import pytest

from chalicelib import settings
from chalicelib.services import escrow as escrow_service
from chalicelib.services import instructions
from chalicelib import payments
from chalicelib.storage.ledger import InstructionModel
from tests.api.orders_support import (BUYER, OPERATOR, PROVIDER, accepted_order, deliver, escrow,
                                      ledger_clean, paid_order)
from tests.jobs.sweep_support import DAY, HOUR, sweep, travel
from tests.support import fresh_sandbox


@pytest.fixture(autouse=True)
def sandbox():
    return fresh_sandbox()


@pytest.fixture
def crash_after_commit(monkeypatch):
    """The request's Lambda dies right after the transition's transaction committed."""
    monkeypatch.setattr(instructions, "execute_quietly", lambda written, now: set())
    yield
    monkeypatch.undo()


def test_a_refund_left_pending_by_a_crash_is_finished_once(api, crash_after_commit, sandbox):
    order_id = paid_order(api, price=60000)
    rejected = api.post(f"/orders/{order_id}/reject", {"reason": "档期已满"}, user=PROVIDER)
    assert rejected.json["status"] == "rejected"
    assert escrow(api, order_id) == {"funded": 60000, "released": 0, "refunded": 0,
                                     "held": 60000}
    check = ledger_clean(api)
    assert [i["kind"] for i in check["pending_instructions"]] == ["refund"]

    summary = sweep(api, "release_escrow")
    assert (summary["found"], summary["moved"], summary["failed"]) == (1, 1, 0)
    assert escrow(api, order_id) == {"funded": 60000, "released": 0, "refunded": 60000,
                                     "held": 0}
    assert ledger_clean(api)["pending_instructions"] == []
    assert sweep(api, "release_escrow")["found"] == 0
    assert [c[0] for c in sandbox.calls].count("refund") == 1


def test_an_approval_whose_lambda_dies_after_the_commit_has_paid_the_provider(
        api, crash_after_commit):
    order_id = accepted_order(api, price=45000)
    deliver(api, order_id)
    assert api.post(f"/orders/{order_id}/approve", user=BUYER).json["status"] == "completed"
    assert api.get("/me/balance", user=PROVIDER).json["available"] == 45000
    assert escrow(api, order_id)["released"] == 45000
    assert sweep(api, "release_escrow")["found"] == 0
    assert ledger_clean(api)["pending_instructions"] == []


def test_a_pending_release_from_an_earlier_version_is_driven_once(api):
    """Versions before releases joined their approval's transaction recorded a release as
    a pending instruction (and escrow_instructed); such an item left in a table after an
    upgrade is still paid, once."""
    from chalicelib import clock
    from chalicelib.storage.orders import OrderModel

    order_id = accepted_order(api, price=45000)
    order = OrderModel.get(order_id, consistent_read=True)
    now = clock.now()
    escrow_service.order_instruction(order, "release", 45000, 0, now).save()
    order.update(actions=[OrderModel.escrow_instructed.add(45000)])
    assert sweep(api, "release_escrow")["moved"] == 1
    assert sweep(api, "release_escrow")["found"] == 0
    assert api.get("/me/balance", user=PROVIDER).json["available"] == 45000
    assert escrow(api, order_id) == {"funded": 45000, "released": 45000, "refunded": 0,
                                     "held": 0}


def test_a_failing_refund_backs_off_then_is_parked_and_shown(api, monkeypatch):
    monkeypatch.setenv("INSTRUCTION_MAX_ATTEMPTS", "3")
    settings.reload()
    gateway = payments.gateway()

    def refuse(*args, **kwargs):
        raise RuntimeError("退款通道维护中")

    monkeypatch.setattr(gateway, "refund", refuse)
    order_id = paid_order(api, price=20000)
    api.post(f"/orders/{order_id}/reject", {"reason": "无法承接"}, user=PROVIDER)
    instruction = InstructionModel.get(f"{order_id}:refund:all", consistent_read=True)
    assert (instruction.status, instruction.attempts) == ("pending", 1)  # the request's try

    # Not due again until its backoff has passed.
    assert sweep(api, "release_escrow")["found"] == 0
    travel(HOUR)
    second = sweep(api, "release_escrow")
    assert (second["found"], second["failed"]) == (1, 1)
    travel(HOUR)
    assert sweep(api, "release_escrow")["failed"] == 1
    instruction = InstructionModel.get(f"{order_id}:refund:all", consistent_read=True)
    assert (instruction.status, instruction.attempts) == ("parked", 3)
    stuck = api.get("/admin/stuck", user=OPERATOR, operator=True).json["items"]
    assert [(s["job"], s["id"], s["status"], s["attempts"]) for s in stuck] == [
        ("release_escrow", f"{order_id}:refund:all", "parked", 3)]
    assert "退款通道维护中" in stuck[0]["last_error"]
    travel(DAY)
    assert sweep(api, "release_escrow")["found"] == 0  # parked: no longer retried
    assert escrow(api, order_id)["held"] == 20000  # nothing moved while it failed


def test_an_instruction_that_crashes_the_job_is_pushed_back_not_blocking(api, monkeypatch,
                                                                         crash_after_commit):
    broken_id = f"{paid_order(api, price=10000)}"
    api.post(f"/orders/{broken_id}/reject", {"reason": "无法承接"}, user=PROVIDER)
    good_id = paid_order(api, price=15000)
    api.post(f"/orders/{good_id}/reject", {"reason": "无法承接"}, user=PROVIDER)
    real = instructions.execute_instruction

    def crash_on_broken(instruction_id, now):
        if instruction_id.startswith(broken_id):
            raise ValueError("坏数据")
        return real(instruction_id, now)

    monkeypatch.setattr(instructions, "execute_instruction", crash_on_broken)
    summary = sweep(api, "release_escrow")
    assert (summary["found"], summary["moved"], summary["failed"]) == (2, 1, 1)
    assert escrow(api, good_id)["refunded"] == 15000
    assert sweep(api, "release_escrow")["found"] == 0  # pushed back by its backoff
    stuck = api.get("/admin/stuck", user=OPERATOR, operator=True).json["items"]
    assert [(s["id"], s["status"]) for s in stuck] == [(f"{broken_id}:refund:all", "retrying")]
    monkeypatch.setattr(instructions, "execute_instruction", real)
    travel(HOUR)
    assert sweep(api, "release_escrow")["moved"] == 1
    assert escrow(api, broken_id)["refunded"] == 10000
    assert api.get("/admin/stuck", user=OPERATOR, operator=True).json["items"] == []
    ledger_clean(api)
