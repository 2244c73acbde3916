"""`settle_payments`: ask the gateway about payments left pending past
PAYMENT_CHECK_AFTER_SECONDS (their notification was lost, late or forged) and settle
each answer through the same exactly-once path as a notification.

Found through the sparse `pending` index of the payments table, oldest check first; a
payment that is still open is pushed later with backoff, a gateway that does not answer
pushes it later too, so a run never blocks on one payment."""
from chalicelib import clock, settings
from chalicelib.jobs import runner
from chalicelib.jobs.registry import job
from chalicelib.services import reconciliation, stuck

JOB = "settle_payments"


@job(JOB)
def run() -> dict:
    """One bounded pass over the pending payments that are due for a check."""
    now = clock.now()
    cfg = settings.get()

    def handle(payment_id):
        outcome = reconciliation.check_payment(payment_id, now)
        if outcome == "moved":
            stuck.clear(JOB, payment_id)  # an earlier failed check is settled now
        return outcome

    def on_failure(payment_id, error):
        # The gateway did not answer (or the settling failed): listed in GET /admin/stuck,
        # and asked again after the payment's own backoff.
        stuck.record_failure(JOB, payment_id, error, now)
        if not reconciliation.defer_after_failure(payment_id, now):
            # Settled after all (the failure came after): no later run would clear it.
            stuck.clear(JOB, payment_id)

    summary = runner.drain(
        JOB, fetch=lambda limit, key: reconciliation.due_payment_ids(now, limit=limit,
                                                                     start_key=key),
        handle=handle, on_failure=on_failure, budget_seconds=cfg.sweep_budget_seconds,
        page_size=cfg.sweep_page_size)
    return runner.report(summary)
