"""`sweep_contracts`: every contract timer and statement deadline that is due (see
services.contracts.sweeping). Safe to run twice or at the same time."""
import time

from chalicelib import clock, settings
from chalicelib.jobs import runner
from chalicelib.jobs.registry import job
from chalicelib.services import stuck
from chalicelib.services.contracts import sweeping

JOB = "sweep_contracts"


@job(JOB)
def run() -> dict:
    """One bounded sweep at the app clock's now; its summary."""
    started = time.monotonic()
    now = clock.now()
    cfg = settings.get()
    summary = runner.Summary(JOB)

    def on_failure(item, error):
        stuck.record_failure(JOB, item if isinstance(item, str) else item[1], error, now)

    # Contracts first: the statements they open today are then due in the same run.
    runner.drain(JOB, fetch=lambda limit, key: sweeping.due_contracts(now, limit=limit,
                                                                      start_key=key),
                 handle=lambda contract_id: sweeping.apply_contract_timers(contract_id, now),
                 on_failure=on_failure, budget_seconds=cfg.sweep_budget_seconds / 2,
                 page_size=cfg.sweep_page_size, summary=summary, started=started)
    runner.drain(JOB, fetch=lambda limit, key: sweeping.due_statements(now, limit=limit,
                                                                       start_key=key),
                 handle=lambda item: sweeping.apply_statement_timer(item[0], item[1], now),
                 on_failure=on_failure, budget_seconds=cfg.sweep_budget_seconds,
                 page_size=cfg.sweep_page_size, summary=summary, started=started)
    return runner.report(summary)
