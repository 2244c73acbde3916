"""What operators see: one JSON log line per request, and CloudWatch metrics written as
embedded-metric-format (EMF) log lines, which CloudWatch turns into metrics with no API
call and no extra permission.

Written by hand rather than with Powertools for AWS Lambda: importing its Metrics and
Logger took about 100 ms in a fresh interpreter here, against nothing for this module
(json and logging are loaded anyway), on a cold start of about 270 ms (docs/deploy.md).

Lines never carry tokens, headers, bodies or user ids: a request line names the route
template (`/orders/{id}`), never the raw path.
"""
import json
import os
import sys
import time
import uuid

from chalicelib import settings as settings_module

NAMESPACE = "ServiceMarket"

# Every metric the code writes, with its unit and what it counts. deploy/template.py
# alarms on or charts each of them, and tests/deploy/test_monitoring.py fails when code
# writes a name that is not here or that no alarm or dashboard widget reads.
METRICS: dict[str, tuple[str, str]] = {
    "OrderTransitions": ("Count", "order state changes, by Action and To"),
    "SweepRuns": ("Count", "runs of a scheduled function, by Job"),
    "SweepDuration": ("Milliseconds", "how long one run took, by Job"),
    "SweepFound": ("Count", "due items a run found, by Job"),
    "SweepMoved": ("Count", "items a run finished, by Job"),
    "SweepFailed": ("Count", "items whose try failed in a run (retried later), by Job"),
    "SweepParked": ("Count", "items a run gave up on and parked for operators, by Job"),
    "OldestDueAgeSeconds": ("Seconds", "how late the oldest item due in a job's index is"),
    "StuckItems": ("Count", "a job's items parked for operators (GET /admin/stuck)"),
    "OutboxBacklog": ("Count", "notices due for delivery (capped at BACKLOG_CAP)"),
    "PaymentProblems": ("Count", "gateway payments with a problem waiting for an operator"),
    "WithdrawalsPending": ("Count", "payout instructions not yet done"),
    "StatementsOverdue": ("Count", "contract statements past a deadline after a run"),
    "WithdrawalsFailed": ("Count", "withdrawals the gateway refused (money back to balance)"),
    "ReconciliationDifferences": ("Count", "mismatches in the last reconciliation report"),
    "PaymentsSettled": ("Count", "gateway payments that funded their order, by Gateway"),
    "PaymentNotificationsRefused": ("Count", "notifications whose signature failed, by Gateway"),
    "MoneyMoved": ("None", "fen moved, by Kind: fund, release, refund, payout"),
}


def _emit(record: dict) -> None:
    # stdout, not logging: Lambda's JSON log format would wrap the line, and CloudWatch
    # only reads EMF from a line that is the JSON object itself.
    sys.stdout.write(json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=str) + "\n")
    sys.stdout.flush()


def request_id(request) -> str:
    """API Gateway's request id (the one its access logs and error bodies carry)."""
    context = getattr(request, "context", None) or {}
    return str(context.get("requestId") or uuid.uuid4().hex)


def log_request(request, spec, response, started: float) -> None:
    """One line per request: id, route, status, latency; never headers or bodies."""
    status = response.status_code
    record = {
        "type": "request",
        "request_id": request_id(request),
        "method": spec.method,
        "route": spec.path,
        "status": status,
        "latency_ms": round((time.perf_counter() - started) * 1000, 1),
        "stage": settings_module.get().stage,
    }
    if status >= 400:
        record["error"] = _error_code(response.body)
    _emit(record)


def _error_code(body) -> str | None:
    try:
        return json.loads(body)["error"]["code"]
    except (TypeError, ValueError, KeyError):
        return None


def metric(name: str, value: float = 1, unit: str = "Count", dimensions: dict | None = None,
           **properties) -> dict:
    """Write one EMF metric line; `properties` are searchable in Logs but not dimensions."""
    return metrics({name: (value, unit)}, dimensions, **properties)


def metrics(values: dict[str, tuple[float, str]], dimensions: dict | None = None,
            **properties) -> dict:
    """Write several metrics sharing dimensions as one EMF line."""
    dims = {"Stage": settings_module.get().stage, **(dimensions or {})}
    record = {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [sorted(dims)],
                "Metrics": [{"Name": name, "Unit": unit} for name, (_, unit) in values.items()],
            }],
        },
        **properties,
        **{k: str(v) for k, v in dims.items()},
        **{name: value for name, (value, _) in values.items()},
    }
    # The dev server turns them off: on a laptop nobody reads EMF, and a sweep tick every
    # few seconds would bury the request lines.
    if os.environ.get("EMF_METRICS", "on") != "off":
        _emit(record)
    return record


def order_transition(action: str, from_status: str | None, to_status: str | None,
                     order_id: str | None = None) -> dict:
    """Count one order state change, by action and target state."""
    return metric("OrderTransitions", dimensions={"Action": action, "To": to_status},
                  from_status=from_status, order_id=order_id)


def money_moved(kind: str, amount: int) -> dict:
    """Fen that one committed posting moved (funded, released, refunded, paid out)."""
    return metric("MoneyMoved", int(amount), "None", dimensions={"Kind": kind})


def sweep_run(job: str, seconds: float, result: dict | None = None,
              gauges: dict[str, float] | None = None) -> dict:
    """Record one run of a scheduled function: a count, its duration and what it found,
    with `gauges` (e.g. OldestDueAgeSeconds) read after the run, all in one line."""
    values = {"SweepRuns": (1, "Count"),
              "SweepDuration": (round(seconds * 1000, 1), "Milliseconds")}
    for name, value in (gauges or {}).items():
        values[name] = (value, METRICS[name][0])
    return metrics(values, dimensions={"Job": job}, result=result or {})
