"""When work that reaches outside (a gateway, a webhook, a mail server) is tried again.

One formula for every driver of recorded work (escrow instructions, the notification
outbox), so operators learn one rhythm: 60 s after the first failure, doubling, at most an
hour; a driver parks the work after `INSTRUCTION_MAX_ATTEMPTS` tries.
"""
from datetime import timedelta


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failed try."""
    return timedelta(seconds=min(3600, 30 * 2 ** min(max(attempts, 0), 7)))
