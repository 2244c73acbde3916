"""`sweep_timeouts`: fire every order timer that is due, and delist the trial services
of ended campaigns. Safe to run twice or at the same time (see services.timers)."""
import time

from chalicelib import clock, settings
from chalicelib.jobs import runner
from chalicelib.jobs.registry import job
from chalicelib.services import catalog, stuck, timers

JOB = "sweep_timeouts"


@job(JOB)
def run() -> dict:
    """One bounded sweep at the app clock's now; its summary."""
    started = time.monotonic()
    now = clock.now()
    cfg = settings.get()
    summary = runner.Summary(JOB)
    _delist_ended_campaigns(summary, now)

    def handle(item):
        order_id, found_key = item
        outcome = timers.apply_due_timers(order_id, now)
        if timers.was_retry(found_key):
            stuck.clear(JOB, order_id)  # it failed before and went through now
        return outcome

    def on_failure(item, error):
        order_id, found_key = item
        record = stuck.record_failure(JOB, order_id, error, now)
        parked = record.status == stuck.PARKED
        if not timers.defer(order_id, found_key,
                            None if parked else clock.from_key(record.retry_at)):
            # The order moved on (often this very try committed, then failed after): it
            # is not stuck, and no later run would find it to clear the record.
            stuck.clear(JOB, order_id)

    runner.drain(JOB, fetch=lambda limit, key: timers.due_orders(now, limit=limit, start_key=key),
                 handle=handle, on_failure=on_failure, budget_seconds=cfg.sweep_budget_seconds,
                 page_size=cfg.sweep_page_size, summary=summary, started=started)
    return runner.report(summary)


def _delist_ended_campaigns(summary: runner.Summary, now) -> None:
    try:
        result = catalog.delist_trial_services_of_ended_campaigns(now)
    except Exception:  # noqa: BLE001 - the order timers must still run
        runner.log.exception("%s: campaign end failed", JOB)
        summary.failed += 1
        summary.extra["campaigns"] = "failed"
        return
    # The catalog answers what it did ({"campaigns", "delisted", "more"}); an idle
    # answer is left out so that a quiet run's summary stays quiet.
    if any(result.values()):
        summary.extra["campaigns"] = result

