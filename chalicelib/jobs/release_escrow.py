"""`release_escrow`: drive every pending money instruction (release, refund, payout) to
done. The name is the schedule's, kept for the deployed rule and its alarms.

Execution itself is idempotent (services.instructions, with the executors their owners
register: services.escrow for releases and refunds, services.payouts for payouts); this
job finds the instructions due for a try, runs them within the time budget, and shows
operators the ones that fail (GET /admin/stuck). Tries are counted on the instruction
alone: the stuck list copies its count, it never keeps one of its own."""
from chalicelib import clock, settings
from chalicelib.domain.instructions import DONE, PARKED, PENDING
from chalicelib.jobs import runner
from chalicelib.jobs.registry import job
from chalicelib.services import escrow, instructions, payouts, stuck

JOB = "release_escrow"
# The kinds this job drives, each registered by the module that owns it.
OWNERS = (escrow, payouts)


@job(JOB)
def run() -> dict:
    """One bounded pass over the pending instructions; its summary."""
    now = clock.now()
    cfg = settings.get()

    def handle(item):
        instruction_id, _attempts = item
        status = instructions.execute_instruction(instruction_id, now)
        if status == DONE:
            # Whatever the sweep finds is a leftover (a crash or a failed try), so a
            # record of an earlier failure may exist: it is settled now.
            stuck.clear(JOB, instruction_id)
            return "moved"
        if status == PARKED:
            _show(instruction_id, now)
            return "failed"
        # Still pending: this try failed and the driver scheduled the next one.
        return "failed" if status == PENDING else "skipped"

    def on_failure(item, error):
        instruction_id, _attempts = item
        status, attempts, retry_at = instructions.record_failure(instruction_id, error, now)
        if status == DONE:
            # Done meanwhile (e.g. this try posted it, then failed clearing an old
            # record): nothing is stuck, and no later run would clear the record.
            stuck.clear(JOB, instruction_id)
            return
        stuck.record_parked(JOB, instruction_id, f"{type(error).__name__}: {error}", attempts,
                            now, retry_at=retry_at)

    summary = runner.drain(
        JOB, fetch=lambda limit, key: instructions.due_instruction_ids(now, limit=limit,
                                                                      start_key=key),
        handle=handle, on_failure=on_failure, budget_seconds=cfg.sweep_budget_seconds,
        page_size=cfg.sweep_page_size)
    return runner.report(summary)


def _show(instruction_id: str, now) -> None:
    """An instruction ran out of tries: list it with its last error for operators."""
    reason, attempts = instructions.last_failure(instruction_id)
    stuck.record_parked(JOB, instruction_id, reason, attempts, now)
