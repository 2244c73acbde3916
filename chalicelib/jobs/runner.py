"""Bounded, failure-tolerant draining of an index of due work, shared by the sweeps.

A run reads its index page by page (`fetch`), hands each item to `handle`, and stops
when the time budget is spent — well below the Lambda timeout — leaving the rest for the
next run: handled items have left the index (or moved later in it), so the next run's
query starts at what is left. An item whose handling raises is passed to `on_failure`
(record it, push it back or park it) and the run goes on with the others. Every run
ends with one JSON line: found, moved, skipped, failed, read, elapsed_ms.
"""
import json
import logging
import time
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any, Callable

from chalicelib import clock, observability
from chalicelib.services import sweep_health

log = logging.getLogger("market.jobs")
log.setLevel(logging.INFO)

# (limit, start key) → (items, next key, items DynamoDB read to find them)
Fetch = Callable[[int, Any], tuple[list, Any, int]]


@dataclass
class Summary:
    job: str
    found: int = 0
    moved: int = 0
    skipped: int = 0
    failed: int = 0
    pages: int = 0
    read: int = 0  # index items DynamoDB examined: the run's cost follows due work only
    more: bool = False  # stopped by the budget with work left for the next run
    elapsed_ms: int = 0
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        out = asdict(self)
        out.update(out.pop("extra"))
        return out


def drain(job: str, *, fetch: Fetch, handle: Callable[[Any], str],
          on_failure: Callable[[Any, Exception], None], budget_seconds: float, page_size: int,
          summary: Summary | None = None, started: float | None = None) -> Summary:
    """Handle due items until the index has none left or the budget is spent.

    `started` (time.monotonic) lets a job that did other work first spend one budget."""
    summary = summary or Summary(job)
    started = started if started is not None else time.monotonic()
    deadline = started + budget_seconds
    start_key = None
    while True:
        if time.monotonic() >= deadline:
            summary.more = True
            break
        items, start_key, read = fetch(page_size, start_key)
        summary.pages += 1
        summary.read += read
        summary.found += len(items)
        for n, item in enumerate(items):
            if time.monotonic() >= deadline:
                summary.found -= len(items) - n  # not looked at: the next run finds them
                summary.more = True
                break
            _one(summary, item, handle, on_failure)
        if summary.more or not start_key:
            break
    summary.elapsed_ms = int((time.monotonic() - started) * 1000)
    return summary


def _one(summary: Summary, item, handle, on_failure) -> None:
    try:
        outcome = handle(item)
    except Exception as error:  # one poisoned item must not stop the rest
        log.exception("%s: item %r failed", summary.job, item)
        summary.failed += 1
        try:
            on_failure(item, error)
        except Exception:  # it stays where it was and is retried next run
            log.exception("%s: could not record the failure of %r", summary.job, item)
        return
    if outcome == "moved":
        summary.moved += 1
    elif outcome == "failed":
        summary.failed += 1
    else:
        summary.skipped += 1


def report(summary: Summary) -> dict:
    """Log the run's one structured line and return it (the scheduled function's answer)."""
    out = summary.as_dict()
    log.info(json.dumps(out, ensure_ascii=False, sort_keys=True))
    observability.sweep_run(summary.job, summary.elapsed_ms / 1000,
                            {"found": summary.found, "moved": summary.moved,
                             "failed": summary.failed}, gauges=_gauges(summary))
    return out


# Stuck records carry the `now` their job read when it began; the run began at most this
# much before its elapsed time says (the jobs read the clock before drain starts timing).
_START_SLACK = timedelta(seconds=1)


def _gauges(summary: Summary) -> dict[str, float]:
    """The run's counts and, read after it, how the job's work stands (services.sweep_health)."""
    values = {"SweepFound": summary.found, "SweepMoved": summary.moved,
              "SweepFailed": summary.failed}
    now = clock.now()
    started = now - timedelta(milliseconds=summary.elapsed_ms) - _START_SLACK
    try:
        values.update(sweep_health.gauges(summary.job, now, started))
    except Exception:  # a gauge that cannot be read must not fail the run
        log.exception("%s: could not read its gauges", summary.job)
    return values
