"""`release_escrow`: drive every pending release, refund or payout instruction to done.

Execution itself is idempotent (services.escrow); this job finds the instructions due
for a try, runs them within the time budget, and makes the ones that ran out of tries
visible to operators (GET /admin/stuck)."""
from chalicelib import clock, settings
from chalicelib.jobs import runner
from chalicelib.jobs.registry import job
from chalicelib.services import escrow, stuck

JOB = "release_escrow"


@job(JOB)
def run() -> dict:
    """One bounded pass over the pending instructions; its summary."""
    now = clock.now()
    cfg = settings.get()

    def handle(item):
        instruction_id, _attempts = item
        status = escrow.execute_instruction(instruction_id, now)
        if status == escrow.DONE:
            # Whatever the sweep finds is a leftover (a crash or a failed try), so a
            # record of an earlier failure may exist: it is settled now.
            stuck.clear(JOB, instruction_id)
            return "moved"
        if status == escrow.PARKED:
            stuck.note_parked_instruction(instruction_id, now)
            return "failed"
        # Still pending: this try failed and escrow scheduled the next one with backoff.
        return "failed" if status == escrow.PENDING else "skipped"

    def on_failure(item, error):
        instruction_id, _attempts = item
        record = stuck.record_failure(JOB, instruction_id, error, now)
        parked = record.status == stuck.PARKED
        if not stuck.defer_instruction(instruction_id,
                                       None if parked else clock.from_key(record.retry_at)):
            # Done meanwhile (e.g. this try posted it, then failed clearing an old
            # record): nothing is stuck, and no later run would clear the record.
            stuck.clear(JOB, instruction_id)

    summary = runner.drain(
        JOB, fetch=lambda limit, key: stuck.due_instruction_ids(now, limit=limit, start_key=key),
        handle=handle, on_failure=on_failure, budget_seconds=cfg.sweep_budget_seconds,
        page_size=cfg.sweep_page_size)
    return runner.report(summary)
