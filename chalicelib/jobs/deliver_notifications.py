"""`deliver_notifications`: drain the notification outbox to each user's webhook and
e-mail. A notice whose channels keep failing is retried with the escrow instructions'
backoff, then parked and listed for operators (GET /admin/stuck)."""
from chalicelib import clock, settings
from chalicelib.jobs import runner
from chalicelib.jobs.registry import job
from chalicelib.services import outbox, stuck

JOB = "deliver_notifications"


@job(JOB)
def run() -> dict:
    """One bounded pass over the due notices; its summary."""
    now = clock.now()
    cfg = settings.get()
    mailer = outbox.Mailer(cfg)

    def handle(item):
        user_id, sk = item
        status = outbox.deliver(user_id, sk, now, mailer=mailer)
        if status == outbox.DELIVERED:
            return "moved"
        if status == outbox.PARKED:
            notice = outbox.NotificationModel.get(user_id, sk, consistent_read=True)
            stuck.record_parked(JOB, outbox.stuck_id(user_id, sk), notice.delivery_error or "parked",
                                int(notice.delivery_attempts or 0), now)
            return "failed"
        return "failed" if status == outbox.PENDING else "skipped"

    def on_failure(item, error):
        # Not a channel refusing (that is handled above) but our own code or storage.
        user_id, sk = item
        record = stuck.record_failure(JOB, outbox.stuck_id(user_id, sk), error, now)
        parked = record.status == stuck.PARKED
        if not outbox.defer(user_id, sk, None if parked else clock.from_key(record.retry_at)):
            stuck.clear(JOB, outbox.stuck_id(user_id, sk))

    summary = runner.drain(
        JOB, fetch=lambda limit, key: outbox.due(now, limit=limit, start_key=key),
        handle=handle, on_failure=on_failure, budget_seconds=cfg.sweep_budget_seconds,
        page_size=cfg.sweep_page_size)
    return runner.report(summary)
