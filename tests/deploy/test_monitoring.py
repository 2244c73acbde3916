"""The packaged stack tells an operator when something is wrong: every metric the code
writes is alarmed on or charted, every alarm pages the operators' topic and has its
section in the runbook, and the operator routes the runbook sends people to exist.

Read from the committed merge template (what `make package` merges; test_package.py
fails while it is stale, and lints and scans the packaged whole), so that no app is loaded
as a deployed stage in this process."""
import ast
import json
import re
from pathlib import Path

import pytest

from chalicelib import observability
from chalicelib.api.routing import ROUTES
from chalicelib.storage import schema
from deploy import monitoring, template

ROOT = template.ROOT
RUNBOOK = ROOT / "docs" / "operations.md"


@pytest.fixture(scope="module")
def merged() -> dict:
    return json.loads(template.MERGE_TEMPLATE.read_text(encoding="utf-8"))


@pytest.fixture
def routes(chalice_app) -> set[tuple[str, str]]:
    """(method, path) of every route a deployed stage serves (the app registers them)."""
    return {(spec.method, spec.path) for spec in ROUTES if not spec.local_only}


def _alarms(merged) -> dict:
    return {k: v["Properties"] for k, v in merged["Resources"].items()
            if v.get("Type") == "AWS::CloudWatch::Alarm"}


def _alarm_metrics(alarm: dict) -> list[dict]:
    if "MetricName" in alarm:
        return [alarm]
    return [q["MetricStat"]["Metric"] for q in alarm["Metrics"] if "MetricStat" in q]


def _dashboard(merged) -> dict:
    body = merged["Resources"][monitoring.DASHBOARD]["Properties"]["DashboardBody"]["Fn::Sub"]
    return json.loads(body)


def _charted(dashboard: dict) -> set[str]:
    names = set()
    for widget in dashboard["widgets"]:
        for line in widget["properties"]["metrics"]:
            if line[0] == observability.NAMESPACE:
                names.add(line[1])
            for part in line:
                if isinstance(part, dict) and "expression" in part:
                    names.update(re.findall(r'MetricName="(\w+)"', part["expression"]))
    return names


# --- what the code writes ------------------------------------------------------------
def _written_names() -> dict[str, str]:
    """Every metric name a call in chalicelib writes: observability.metric("Name"),
    metrics({"Name": ...}), sweep_run(gauges) names built by the runner, and the
    helpers' own names — read from the source, not from the catalogue."""
    found = {}
    for path in (ROOT / "chalicelib").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        catalogue = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.AnnAssign)
                     and getattr(node.target, "id", None) == "METRICS"}
        for node in ast.walk(tree):
            if id(node) in catalogue:
                continue  # the catalogue itself writes nothing
            if isinstance(node, ast.Call):
                name = getattr(node.func, "attr", getattr(node.func, "id", None))
                if name == "metric" and node.args and isinstance(node.args[0], ast.Constant):
                    found[node.args[0].value] = str(path.relative_to(ROOT))
                elif name == "metrics" and node.args and isinstance(node.args[0], ast.Dict):
                    for key in node.args[0].keys:
                        if isinstance(key, ast.Constant):
                            found[key.value] = str(path.relative_to(ROOT))
            if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store) and \
                    isinstance(node.slice, ast.Constant) and \
                    node.slice.value in observability.METRICS:
                found[node.slice.value] = str(path.relative_to(ROOT))  # gauges["Name"] = n
            if isinstance(node, ast.Dict):
                # Gauges are dicts keyed by metric names ({"StuckItems": n, ...}).
                for key in node.keys:
                    if isinstance(key, ast.Constant) and isinstance(key.value, str) and \
                            key.value in observability.METRICS:
                        found[key.value] = str(path.relative_to(ROOT))
    return found


def test_every_metric_name_the_code_writes_is_in_the_catalogue():
    written = _written_names()
    assert {"OrderTransitions", "SweepRuns", "PaymentsSettled", "WithdrawalsFailed",
            "MoneyMoved", "ReconciliationDifferences"} <= set(written)
    unknown = {name: where for name, where in written.items()
               if name not in observability.METRICS}
    assert not unknown, f"add these to chalicelib.observability.METRICS: {unknown}"


def test_every_metric_in_the_catalogue_is_written_somewhere():
    assert set(observability.METRICS) <= set(_written_names())


def test_every_metric_is_alarmed_on_or_on_the_dashboard(merged):
    alarmed = {m["MetricName"] for a in _alarms(merged).values() for m in _alarm_metrics(a)
               if m["Namespace"] == observability.NAMESPACE}
    charted = _charted(_dashboard(merged))
    missing = set(observability.METRICS) - alarmed - charted
    assert not missing, f"neither alarmed nor charted: {sorted(missing)}"
    # The alarms that matter most are alarms, not only pictures.
    assert {"OldestDueAgeSeconds", "StuckItems", "OutboxBacklog", "PaymentProblems",
            "WithdrawalsPending", "WithdrawalsFailed", "ReconciliationDifferences",
            "SweepRuns", "SweepFailed"} <= alarmed


def test_our_alarms_read_the_stage_dimension_the_app_writes(merged):
    for name, alarm in _alarms(merged).items():
        for metric in _alarm_metrics(alarm):
            if metric["Namespace"] == observability.NAMESPACE:
                dims = {d["Name"]: d["Value"] for d in metric["Dimensions"]}
                assert dims["Stage"] == {"Ref": "Stage"}, name
    record = observability.sweep_run("sweep_timeouts", 0.1, gauges={"StuckItems": 0})
    assert record["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Job", "Stage"]]


# --- the alarms ----------------------------------------------------------------------
def test_every_function_table_and_sweep_has_its_alarms(merged):
    alarms = _alarms(merged)
    functions = ["APIHandler", "SweepTimeouts", "ReleaseEscrow", "SettlePayments",
                 "DeliverNotifications"]
    for fn in functions:
        for kind in ("Errors", "Throttles", "Duration"):
            assert f"{fn}{kind}Alarm" in alarms
    for fn in functions[1:]:
        for kind in ("NotRunning", "Late", "Failing", "Stuck", "DeadLetters"):
            assert f"{fn}{kind}Alarm" in alarms
    assert {"Api5xxAlarm", "ApiLatencyAlarm"} <= set(alarms)
    throttled = {json.dumps(m["Dimensions"][0]["Value"]) for a in alarms.values()
                 for m in _alarm_metrics(a) if m["MetricName"] == "WriteThrottleEvents"}
    assert len(throttled) == len(schema.all_models())
    errored = {json.dumps(m["Dimensions"][0]["Value"]) for a in alarms.values()
               for m in _alarm_metrics(a) if m["MetricName"] == "SystemErrors"}
    assert len(errored) == len([m for m in schema.all_models() if m.MONEY_TABLE])


def test_a_sweep_that_stops_running_pages(merged):
    alarm = _alarms(merged)["ReleaseEscrowNotRunningAlarm"]
    assert alarm["TreatMissingData"] == "breaching"  # no data is the symptom
    assert alarm["ComparisonOperator"] == "LessThanThreshold" and alarm["Threshold"] == 1


def test_every_alarm_pages_the_operators_topic_and_says_where_its_runbook_is(merged):
    assert merged["Resources"]["AlarmEmailSubscription"]["Condition"] == "HasAlarmEmail"
    for name, alarm in _alarms(merged).items():
        assert alarm["AlarmActions"] == [{"Ref": monitoring.ALARM_TOPIC}], name
        assert re.search(r"Runbook: docs/operations\.md, section \w+\.$",
                         alarm["AlarmDescription"]), name


def test_thresholds_are_parameters_with_defaults(merged):
    params = merged["Parameters"]
    for name in monitoring.THRESHOLDS:
        assert "Default" in params[name], name
    for alarm in _alarms(merged).values():
        threshold = alarm["Threshold"]
        if isinstance(threshold, dict):
            assert threshold["Ref"] in params


def test_the_dashboard_shows_money_funnel_sweeps_and_latency(merged):
    dashboard = _dashboard(merged)
    titles = [w["properties"]["title"] for w in dashboard["widgets"]]
    assert titles[:2] == ["Money a day (fen)", "Order funnel (transitions a day)"]
    assert {f"Sweep {job}" for job in monitoring.JOB_WORK} <= set(titles)
    assert "API latency (ms)" in titles
    money = dashboard["widgets"][0]["properties"]["metrics"]
    assert [line[5] for line in money] == ["fund", "release", "refund", "payout"]


# --- the runbook ---------------------------------------------------------------------
def _sections() -> dict[str, str]:
    text = RUNBOOK.read_text(encoding="utf-8")
    parts = re.split(r"^### (\w+)\n", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))


def test_the_runbook_covers_every_alarm_with_meaning_looking_and_doing(merged):
    sections = _sections()
    named = {re.search(r"section (\w+)\.$", a["AlarmDescription"]).group(1)
             for a in _alarms(merged).values()}
    assert named <= set(sections), f"no runbook section for {sorted(named - set(sections))}"
    for name in named:
        body = sections[name]
        for part in ("**Means**", "**Look**", "**Do**"):
            assert part in body, f"{name}: no {part}"


def test_the_runbook_covers_restores_rotations_and_replays():
    text = RUNBOOK.read_text(encoding="utf-8")
    for heading in ("Restore a table to a point in time", "Rotate the Alipay keys",
                    "Rotate the JWT secret", "Replay a parked instruction"):
        assert f"## {heading}" in text


def test_the_operator_routes_the_runbook_names_exist(routes):
    text = RUNBOOK.read_text(encoding="utf-8")
    named = set(re.findall(r"`(GET|POST|PUT|DELETE) (/[^`?\s]*)", text))
    assert len([p for _, p in named if p.startswith("/admin/")]) >= 4

    def exists(method, path):
        return any(method == m and re.fullmatch(re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(p)),
                                                path) for m, p in routes)

    missing = sorted(f"{m} {p}" for m, p in named if not exists(m, p))
    assert not missing, f"the runbook names routes the app does not have: {missing}"


def test_the_runbook_route_check_would_catch_a_wrong_route(routes):
    assert ("GET", "/admin/stuck") in routes and ("GET", "/admin/reconciliation") in routes
    assert ("POST", "/admin/stuck/retry") not in routes


def test_runbook_log_queries_read_fields_our_lines_have():
    """Logs Insights queries in the runbook filter on fields the request line or the EMF
    lines really carry."""
    text = RUNBOOK.read_text(encoding="utf-8")
    fields = set(re.findall(r'filter (\w+)\s*[=!<>]', text))
    request_line = {"type", "request_id", "method", "route", "status", "latency_ms", "stage",
                    "error"}
    emf_fields = {"Job", "Stage", "Kind", "Action", "To", "Gateway", *observability.METRICS}
    assert fields and fields <= request_line | emf_fields | {"level", "message"}, fields


def test_the_runbook_file_is_where_the_alarms_say():
    assert Path(RUNBOOK).is_file()
