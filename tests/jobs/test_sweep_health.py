"""After each run a sweep reports how its work stands — how late the oldest due item is,
what it parked, what waits behind it — as gauges in its one EMF line
(services.sweep_health). Items are written straight to the tables so that each gauge is
checked against a number we know."""
import json
from datetime import timedelta

import pytest

from chalicelib import clock
from chalicelib.services import sweep_health
from chalicelib.storage.ledger import InstructionModel, pending_partition
from chalicelib.storage.notifications import NotificationModel, outbox_partition
from chalicelib.storage.payments import PaymentModel, problem_partition
from chalicelib.storage.sweeps import StuckItemModel, stuck_key, stuck_partition
from tests.api.orders_support import listed_service, place
from tests.jobs.sweep_support import index_key, sweep

JOBS = ("sweep_timeouts", "release_escrow", "settle_payments", "deliver_notifications")


@pytest.fixture(autouse=True)
def metrics_on(monkeypatch):
    monkeypatch.delenv("EMF_METRICS", raising=False)


def _stuck(job, item_id, status, at):
    key = clock.to_key(at)
    StuckItemModel(stuck_partition(job, item_id), stuck_key(job, item_id), job=job, item_id=item_id, status=status,
                   attempts=8, first_failed_at=key, last_failed_at=key).save()


def _instruction(id_, kind, due):
    InstructionModel(id_, kind=kind, amount=100, provider_id="provider-1", status="pending",
                     attempts=0, created_at=clock.to_key(due), pending_pk=pending_partition(id_),
                     next_attempt_at=clock.to_key(due)).save()


def _notice(user_id, n, due):
    at = clock.to_key(due)
    NotificationModel(user_id, f"{at}#n{n}", id=f"n{n}", kind="order_paid", text="已付款",
                      created_at=at, expires_epoch=2_000_000_000, outbox_pk=outbox_partition(f"n{n}"),
                      outbox_due=at).save()


def test_a_due_timer_shows_how_late_it_is_until_the_sweep_fires_it(api, capsys):
    order_id = place(api, listed_service()).json["id"]
    due_at = clock.from_key(index_key(order_id).split("#")[0])
    late = due_at + timedelta(seconds=600)
    assert sweep_health.gauges("sweep_timeouts", late, late)["OldestDueAgeSeconds"] == 600
    early = due_at - timedelta(seconds=5)
    assert sweep_health.gauges("sweep_timeouts", early, early)["OldestDueAgeSeconds"] == 0

    clock.set_now(late)
    capsys.readouterr()
    sweep(api)
    (line,) = [json.loads(x) for x in capsys.readouterr().out.splitlines()
               if '"SweepRuns"' in x]
    assert line["Job"] == "sweep_timeouts" and line["SweepMoved"] == 1
    assert line["OldestDueAgeSeconds"] == 0  # fired: the next timer is not due yet


def test_parked_items_are_counted_per_job_and_in_the_run_that_parked_them(aws):
    now = clock.now()
    _stuck("release_escrow", "ord-1:refund:all", "parked", now - timedelta(hours=2))
    _stuck("release_escrow", "wd-1:payout", "parked", now)
    _stuck("release_escrow", "ord-2:refund:all", "retrying", now)  # still tried: not stuck
    _stuck("sweep_timeouts", "ord-3", "parked", now)  # another job's
    run = sweep_health.gauges("release_escrow", now, now - timedelta(seconds=30))
    assert (run["StuckItems"], run["SweepParked"]) == (2, 1)
    assert sweep_health.gauges("sweep_timeouts", now, now)["StuckItems"] == 1


def test_what_waits_behind_each_job(aws):
    now = clock.now()
    for n in range(3):
        _notice("buyer-1", n, now - timedelta(minutes=n))
    _notice("buyer-2", 9, now + timedelta(minutes=5))  # not due yet
    outbox = sweep_health.gauges("deliver_notifications", now, now)
    assert outbox["OutboxBacklog"] == 3 and outbox["OldestDueAgeSeconds"] == 120

    _instruction("wd-1:payout", "payout", now - timedelta(minutes=1))
    _instruction("wd-2:payout", "payout", now + timedelta(minutes=1))
    _instruction("ord-1:refund:all", "refund", now - timedelta(minutes=3))
    escrow = sweep_health.gauges("release_escrow", now, now)
    assert escrow["WithdrawalsPending"] == 2 and escrow["OldestDueAgeSeconds"] == 180

    PaymentModel("pay-1").update(actions=[
        PaymentModel.status.set("unknown"), PaymentModel.problem_pk.set(problem_partition("pay-1")),
        PaymentModel.problem_at.set(clock.to_key(now))])
    assert sweep_health.gauges("settle_payments", now, now)["PaymentProblems"] == 1


def test_every_run_reports_its_counts_and_gauges_in_one_line(api, capsys):
    capsys.readouterr()
    for job in JOBS:
        sweep(api, job)
    lines = {line["Job"]: line for line in (json.loads(x) for x in
                                           capsys.readouterr().out.splitlines()
                                           if '"SweepRuns"' in x)}
    assert set(lines) == set(JOBS)
    for job, line in lines.items():
        names = {m["Name"] for m in line["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
        assert {"SweepFound", "SweepMoved", "SweepFailed", "SweepParked", "StuckItems",
                "OldestDueAgeSeconds"} <= names, job
        assert line["OldestDueAgeSeconds"] == 0 and line["StuckItems"] == 0
    assert lines["deliver_notifications"]["OutboxBacklog"] == 0
    assert lines["release_escrow"]["WithdrawalsPending"] == 0
    assert lines["settle_payments"]["PaymentProblems"] == 0


def test_a_gauge_that_cannot_be_read_does_not_fail_the_run(api, capsys, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("index unavailable")

    monkeypatch.setattr(sweep_health, "gauges", broken)
    capsys.readouterr()
    summary = sweep(api, "release_escrow")
    assert summary["failed"] == 0
    (line,) = [json.loads(x) for x in capsys.readouterr().out.splitlines() if '"SweepRuns"' in x]
    assert "SweepFound" in line and "StuckItems" not in line


def _statement(n, due):
    from chalicelib.storage.contracts import StatementModel, timer_due_key, timer_partition
    at = clock.to_key(due)
    StatementModel(f"ctr_{n}", f"stm_{n}", buyer_id="buyer-1", provider_id="provider-1",
                   billing="postpaid", kind="regular", period_start="2027-01-01",
                   period_end="2027-01-31", days=31, length=31, status="open", base=310000,
                   opened_at=at, updated_at=at, timer_pk=timer_partition(f"stm_{n}"),
                   timer_due=timer_due_key(at, f"stm_{n}")).save()


def test_contract_statements_past_a_deadline_are_counted(aws):
    now = clock.now()
    _statement(1, now - timedelta(minutes=10))
    _statement(2, now - timedelta(minutes=1))
    _statement(3, now + timedelta(hours=1))  # its deadline has not come
    contracts = sweep_health.gauges("sweep_contracts", now, now)
    assert contracts["StatementsOverdue"] == 2 and contracts["OldestDueAgeSeconds"] == 600
