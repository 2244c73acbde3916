"""What pages the people on call, and what they look at: CloudWatch alarms sending to an
SNS topic, and one dashboard, merged into the packaged template (deploy/template.py).

The anchor is the serverless lens of the AWS Well-Architected Framework: alarms on
errors, throttles, backlogs and the age of waiting work. Every alarm has a section of
the same name in docs/operations.md (what it means, how to look, what to do), and every
metric the code writes (chalicelib.observability.METRICS) is alarmed on or charted;
tests/deploy/test_monitoring.py holds both to that.

Our own metrics carry a `Stage` dimension (the app's STAGE); the template's `Stage`
parameter says which, and `make package` pins it to the stage it packages.
"""
import json

from chalicelib.observability import NAMESPACE

ALARM_TOPIC = "AlarmTopic"
DASHBOARD = "OperationsDashboard"
API_FUNCTION_ID = "APIHandler"
REST_API = "RestAPI"
API_STAGE = "api"  # .chalice/config.json api_gateway_stage
# What each job's index holds, for the alarm descriptions.
JOB_WORK = {
    "sweep_timeouts": "order timers (payment windows, acceptance, auto-approval, reviews)",
    "release_escrow": "money instructions (releases, refunds, payouts)",
    "settle_payments": "payments whose gateway notification has not arrived",
    "deliver_notifications": "notices waiting for webhook and e-mail delivery",
}
# Alarms may combine at most 10 metrics.
_MAX_METRICS_PER_ALARM = 10
_PERIOD = 300

# name -> (type, default, description); thresholds an operator may tune per stack.
THRESHOLDS = {
    "AlarmEmail": ("String", "", "E-mail address subscribed to the alarm topic (confirm the "
                                 "subscription mail); empty: subscribe yourself later"),
    "Api5xxThreshold": ("Number", 5, "API 5xx answers in 5 minutes that page"),
    "ApiLatencyP99Ms": ("Number", 3000, "API p99 latency (ms) that pages after 15 minutes"),
    "FunctionErrorsThreshold": ("Number", 1, "Lambda errors (crashes, timeouts) in 5 minutes"),
    "ApiDurationP99Ms": ("Number", 10000, "API function p99 duration (ms); its timeout is 30 s"),
    "SweepDurationP99Ms": ("Number", 50000, "Scheduled function p99 duration (ms); their "
                                            "timeout is 60 s and budget 40 s"),
    "SweepSilentPeriods": ("Number", 3, "5-minute periods without a run of a scheduled "
                                        "function that page (keep above its schedule)"),
    "LateWorkSeconds": ("Number", 900, "Age (s) of the oldest due item of a sweep that pages"),
    "StreamLagMs": ("Number", 60000, "Age (ms) of the newest record a stream consumer read "
                                     "(the market index's lag) that pages after 3 minutes"),
    "SweepFailuresThreshold": ("Number", 5, "Failed item tries of one sweep in 15 minutes"),
    "OutboxBacklogThreshold": ("Number", 200, "Notices due for delivery that page"),
    "StatementsOverdueThreshold": ("Number", 1, "Contract statements past a deadline after "
                                                "a run that page"),
    "WithdrawalsPendingThreshold": ("Number", 20, "Payouts not yet done that page after "
                                                  "15 minutes"),
    "RefusedNotificationsThreshold": ("Number", 5, "Payment notifications refused (bad "
                                                   "signature) in 5 minutes"),
}


def _sub(text: str) -> dict:
    return {"Fn::Sub": text}


def _ours(name: str, **dimensions) -> dict:
    dims = [{"Name": "Stage", "Value": {"Ref": "Stage"}}]
    dims += [{"Name": k, "Value": v} for k, v in dimensions.items()]
    return {"Namespace": NAMESPACE, "MetricName": name, "Dimensions": dims}


def _alarm(description: str, metric: dict, *, stat: str, threshold, comparison: str = ">=",
           periods=1, period: int = _PERIOD, missing: str = "notBreaching") -> dict:
    operators = {">=": "GreaterThanOrEqualToThreshold", "<": "LessThanThreshold"}
    props = {
        "AlarmDescription": description,
        "ActionsEnabled": True,
        "AlarmActions": [{"Ref": ALARM_TOPIC}], "OKActions": [{"Ref": ALARM_TOPIC}],
        "Namespace": metric["Namespace"], "MetricName": metric["MetricName"],
        "Dimensions": metric["Dimensions"], "Period": period,
        "EvaluationPeriods": periods, "DatapointsToAlarm": periods,
        "Threshold": threshold, "ComparisonOperator": operators[comparison],
        "TreatMissingData": missing,
    }
    if stat.startswith("p"):
        props["ExtendedStatistic"] = stat
    else:
        props["Statistic"] = stat
    return {"Type": "AWS::CloudWatch::Alarm", "Properties": props}


def _sum_alarm(description: str, metrics: list[dict], stat: str = "Sum") -> dict:
    """One alarm on the sum of up to 10 metrics (metric math), paging at 1."""
    queries = [{"Id": f"m{i}", "ReturnData": False,
                "MetricStat": {"Metric": m, "Period": _PERIOD, "Stat": stat}}
               for i, m in enumerate(metrics)]
    queries.append({"Id": "total", "Expression": "SUM(METRICS())", "ReturnData": True,
                    "Label": "total"})
    return {"Type": "AWS::CloudWatch::Alarm", "Properties": {
        "AlarmDescription": description, "ActionsEnabled": True,
        "AlarmActions": [{"Ref": ALARM_TOPIC}], "OKActions": [{"Ref": ALARM_TOPIC}],
        "Metrics": queries, "EvaluationPeriods": 1, "DatapointsToAlarm": 1, "Threshold": 1,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "TreatMissingData": "notBreaching"}}


def _runbook(alarm: str, text: str) -> str:
    return f"{text} Runbook: docs/operations.md, section {alarm}."


def _lambda(name: str, function_id: str) -> dict:
    return {"Namespace": "AWS/Lambda", "MetricName": name,
            "Dimensions": [{"Name": "FunctionName", "Value": {"Ref": function_id}}]}


def _api(name: str) -> dict:
    return {"Namespace": "AWS/ApiGateway", "MetricName": name,
            "Dimensions": [{"Name": "ApiName", "Value": {"Ref": "AWS::StackName"}},
                           {"Name": "Stage", "Value": API_STAGE}]}


def _table(name: str, suffix: str, **dimensions) -> dict:
    dims = [{"Name": "TableName", "Value": _sub("${AWS::StackName}-" + suffix)}]
    dims += [{"Name": k, "Value": v} for k, v in dimensions.items()]
    return {"Namespace": "AWS/DynamoDB", "MetricName": name, "Dimensions": dims}


def _chunks(items: list, size: int) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)]


# --- the alarms ---------------------------------------------------------------------
def function_alarms(functions: dict[str, str]) -> dict:
    """Errors, throttles and p99 duration of every function ({logical id: name})."""
    out = {}
    for logical, name in functions.items():
        api = logical == API_FUNCTION_ID
        out[f"{logical}ErrorsAlarm"] = _alarm(_runbook(
            "FunctionErrors", f"{name}: Lambda errors (unhandled exceptions, timeouts)."),
            _lambda("Errors", logical), stat="Sum",
            threshold={"Ref": "FunctionErrorsThreshold"})
        out[f"{logical}ThrottlesAlarm"] = _alarm(_runbook(
            "FunctionThrottles", f"{name}: invocations refused for want of concurrency."),
            _lambda("Throttles", logical), stat="Sum", threshold=1)
        out[f"{logical}DurationAlarm"] = _alarm(_runbook(
            "FunctionDuration", f"{name}: p99 duration close to its timeout."),
            _lambda("Duration", logical), stat="p99", periods=3,
            threshold={"Ref": "ApiDurationP99Ms" if api else "SweepDurationP99Ms"})
    return out


def api_alarms() -> dict:
    return {
        "Api5xxAlarm": _alarm(_runbook("Api5xx", "The API answered 5xx (the contract says "
                                                 "no request ever causes one)."),
                              _api("5XXError"), stat="Sum",
                              threshold={"Ref": "Api5xxThreshold"}),
        "ApiLatencyAlarm": _alarm(_runbook("ApiLatency", "API p99 latency is high."),
                                  _api("Latency"), stat="p99", periods=3,
                                  threshold={"Ref": "ApiLatencyP99Ms"}),
    }


def table_alarms(models, operations: dict[str, list[str]]) -> dict:
    """Throttle events on every table; system errors on the money tables, for each
    operation the functions call on them (`operations`: table suffix -> operations)."""
    out = {}
    throttles = [_table(kind, m.TABLE_SUFFIX) for m in models
                 for kind in ("ReadThrottleEvents", "WriteThrottleEvents")]
    for n, group in enumerate(_chunks(throttles, _MAX_METRICS_PER_ALARM), 1):
        out[f"DynamoDbThrottles{n}Alarm"] = _sum_alarm(_runbook(
            "DynamoDbThrottles", f"DynamoDB throttled reads or writes (tables group {n})."),
            group)
    errors = [_table("SystemErrors", m.TABLE_SUFFIX, Operation=op) for m in models
              if m.MONEY_TABLE for op in operations.get(m.TABLE_SUFFIX, [])]
    for n, group in enumerate(_chunks(errors, _MAX_METRICS_PER_ALARM), 1):
        out[f"DynamoDbSystemErrors{n}Alarm"] = _sum_alarm(_runbook(
            "DynamoDbSystemErrors", f"DynamoDB answered 500s on money tables (group {n})."),
            group)
    return out


def sweep_alarms(jobs: dict[str, str], dead_letter_queues: dict[str, str]) -> dict:
    """Per scheduled function ({logical id: job}): not running, late, failing, stuck,
    dead letters."""
    out = {}
    for logical, job in jobs.items():
        work = JOB_WORK.get(job, "its due work")
        out[f"{logical}NotRunningAlarm"] = _alarm(_runbook(
            "SweepNotRunning", f"{job} has not reported a run: {work} wait."),
            _ours("SweepRuns", Job=job), stat="Sum", threshold=1, comparison="<",
            periods={"Ref": "SweepSilentPeriods"}, missing="breaching")
        out[f"{logical}LateAlarm"] = _alarm(_runbook(
            "SweepLate", f"The oldest item due for {job} ({work}) is late."),
            _ours("OldestDueAgeSeconds", Job=job), stat="Maximum", periods=2,
            threshold={"Ref": "LateWorkSeconds"})
        out[f"{logical}FailingAlarm"] = _alarm(_runbook(
            "SweepFailing", f"{job}: item tries keep failing (retried with backoff)."),
            _ours("SweepFailed", Job=job), stat="Sum", period=900,
            threshold={"Ref": "SweepFailuresThreshold"})
        out[f"{logical}StuckAlarm"] = _alarm(_runbook(
            "SweepStuck", f"{job} parked items for operators (GET /admin/stuck)."),
            _ours("StuckItems", Job=job), stat="Maximum", threshold=1)
        out[f"{logical}DeadLettersAlarm"] = _alarm(_runbook(
            "SweepDeadLetters", f"{job}: a whole run failed twice and went to its "
                                "dead-letter queue."),
            {"Namespace": "AWS/SQS", "MetricName": "ApproximateNumberOfMessagesVisible",
             "Dimensions": [{"Name": "QueueName", "Value": {
                 "Fn::GetAtt": [dead_letter_queues[logical], "QueueName"]}}]},
            stat="Maximum", threshold=1)
    return out


def stream_alarms(consumers: dict[str, str], failure_queues: dict[str, str]) -> dict:
    """How far each stream consumer ({logical id: name}) lags its stream, and batches it
    gave up on (its failure queue)."""
    out = {}
    for logical, name in consumers.items():
        out[f"{logical}LagAlarm"] = _alarm(_runbook(
            "StreamConsumerLag", f"{name}: the newest record it read is old (search "
                                 "shows changes late)."),
            _lambda("IteratorAge", logical), stat="Maximum", periods=3, period=60,
            threshold={"Ref": "StreamLagMs"})
        out[f"{logical}FailedBatchesAlarm"] = _alarm(_runbook(
            "StreamConsumerFailedBatches", f"{name}: a batch failed every retry and was "
                                           "recorded in its queue."),
            {"Namespace": "AWS/SQS", "MetricName": "ApproximateNumberOfMessagesVisible",
             "Dimensions": [{"Name": "QueueName", "Value": {
                 "Fn::GetAtt": [failure_queues[logical], "QueueName"]}}]},
            stat="Maximum", threshold=1)
    return out


def work_alarms() -> dict:
    """What waits behind the sweeps, and what the money checks found."""
    return {
        "OutboxBacklogAlarm": _alarm(_runbook(
            "OutboxBacklog", "Notices are piling up in the delivery outbox."),
            _ours("OutboxBacklog", Job="deliver_notifications"), stat="Maximum", periods=3,
            threshold={"Ref": "OutboxBacklogThreshold"}),
        "StatementsOverdueAlarm": _alarm(_runbook(
            "StatementsOverdue", "Contract statements stay past a deadline after the "
                                 "contracts sweep ran."),
            _ours("StatementsOverdue", Job="sweep_contracts"), stat="Maximum", periods=3,
            threshold={"Ref": "StatementsOverdueThreshold"}),
        "PaymentProblemsAlarm": _alarm(_runbook(
            "PaymentProblems", "A gateway payment has a problem waiting for an operator."),
            _ours("PaymentProblems", Job="settle_payments"), stat="Maximum", threshold=1),
        "WithdrawalsPendingAlarm": _alarm(_runbook(
            "WithdrawalsPending", "Payouts are waiting to be done."),
            _ours("WithdrawalsPending", Job="release_escrow"), stat="Maximum", periods=3,
            threshold={"Ref": "WithdrawalsPendingThreshold"}),
        "WithdrawalsFailedAlarm": _alarm(_runbook(
            "WithdrawalsFailed", "The gateway refused a payout; the money went back to the "
                                 "provider's balance."),
            _ours("WithdrawalsFailed"), stat="Sum", threshold=1),
        "ReconciliationDifferencesAlarm": _alarm(_runbook(
            "ReconciliationDifferences", "The gateway's records and the ledger disagree."),
            _ours("ReconciliationDifferences"), stat="Maximum", threshold=1),
        "PaymentNotificationsRefusedAlarm": _alarm(_runbook(
            "PaymentNotificationsRefused", "Payment notifications fail their signature "
                                           "check (forged, or the Alipay keys are wrong)."),
            _ours("PaymentNotificationsRefused", Gateway="alipay"), stat="Sum",
            threshold={"Ref": "RefusedNotificationsThreshold"}),
    }


def topic() -> dict:
    """The operators' topic; an e-mail subscription when AlarmEmail is given."""
    return {
        ALARM_TOPIC: {"Type": "AWS::SNS::Topic", "Properties": {
            "DisplayName": _sub("${AWS::StackName} alarms"),
            "TopicName": _sub("${AWS::StackName}-alarms")},
            # CloudWatch cannot publish to a topic under the AWS-managed SNS key (its key
            # policy does not let cloudwatch.amazonaws.com use it): alarms would be lost.
            "Metadata": {"checkov": {"skip": [{
                "id": "CKV_AWS_26",
                "comment": "alarms carry no user data; under aws/sns CloudWatch could not "
                           "publish at all, a customer key is an opt-in (docs/operations.md)"}]}}},
        "AlarmEmailSubscription": {
            "Type": "AWS::SNS::Subscription", "Condition": "HasAlarmEmail",
            "Properties": {"TopicArn": {"Ref": ALARM_TOPIC}, "Protocol": "email",
                           "Endpoint": {"Ref": "AlarmEmail"}}},
    }


def parameters() -> dict:
    params = {name: {"Type": kind, "Default": default, "Description": text}
              for name, (kind, default, text) in THRESHOLDS.items()}
    params["Stage"] = {"Type": "String", "Default": "prod", "AllowedValues": ["dev", "prod"],
                       "Description": "The app's STAGE, the Stage dimension of its metrics "
                                      "(make package pins it)"}
    return params


def conditions() -> dict:
    return {"HasAlarmEmail": {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}}


# --- the dashboard --------------------------------------------------------------------
def _ours_line(name: str, stat: str, label: str, **dims) -> list:
    line = [NAMESPACE, name, "Stage", "${Stage}"]
    for k, v in dims.items():
        line += [k, v]
    return line + [{"stat": stat, "label": label}]


def _widget(title: str, metrics: list, *, x: int, y: int, period: int = _PERIOD,
            view: str = "timeSeries", stacked: bool = False, width: int = 12) -> dict:
    return {"type": "metric", "x": x, "y": y, "width": width, "height": 6, "properties": {
        "title": title, "region": "${AWS::Region}", "view": view, "stacked": stacked,
        "period": period, "metrics": metrics}}


def dashboard_body(jobs: list[str], functions: dict[str, str]) -> dict:
    """The dashboard's JSON (before Fn::Sub fills ${Stage}, ${AWS::Region}, ids)."""
    day = 86400
    kinds = [("fund", "funded"), ("release", "released"), ("refund", "refunded"),
             ("payout", "paid out")]
    widgets = [
        _widget("Money a day (fen)", [_ours_line("MoneyMoved", "Sum", label, Kind=kind)
                                      for kind, label in kinds], x=0, y=0, period=day,
                view="bar"),
        _widget("Order funnel (transitions a day)", [[{
            "expression": f"SEARCH('{{{NAMESPACE},Action,Stage,To}} "
                          "MetricName=\"OrderTransitions\" Stage=\"${Stage}\"', 'Sum', 86400)",
            "id": "funnel", "label": ""}]], x=12, y=0, period=day, view="bar"),
        _widget("Payments", [
            _ours_line("PaymentsSettled", "Sum", "settled", Gateway="alipay"),
            _ours_line("PaymentNotificationsRefused", "Sum", "notifications refused",
                       Gateway="alipay"),
            _ours_line("PaymentProblems", "Maximum", "problems", Job="settle_payments"),
            _ours_line("ReconciliationDifferences", "Maximum", "reconciliation differences"),
        ], x=0, y=6),
        _widget("Withdrawals", [
            _ours_line("WithdrawalsPending", "Maximum", "pending", Job="release_escrow"),
            _ours_line("WithdrawalsFailed", "Sum", "failed"),
        ], x=12, y=6),
    ]
    y = 12
    for n, job in enumerate(jobs):
        widgets.append(_widget(f"Sweep {job}", [
            _ours_line("SweepRuns", "Sum", "runs", Job=job),
            _ours_line("SweepFound", "Sum", "found", Job=job),
            _ours_line("SweepMoved", "Sum", "moved", Job=job),
            _ours_line("SweepFailed", "Sum", "failed", Job=job),
            _ours_line("SweepParked", "Sum", "parked", Job=job),
            _ours_line("StuckItems", "Maximum", "stuck", Job=job),
            _ours_line("OldestDueAgeSeconds", "Maximum", "oldest due (s)", Job=job),
            _ours_line("SweepDuration", "p99", "p99 ms", Job=job),
        ] + ([_ours_line("OutboxBacklog", "Maximum", "outbox backlog", Job=job)]
             if job == "deliver_notifications" else [])
          + ([_ours_line("StatementsOverdue", "Maximum", "statements overdue", Job=job)]
             if job == "sweep_contracts" else []),
            x=12 * (n % 2), y=y + 6 * (n // 2)))
    y += 6 * ((len(jobs) + 1) // 2)
    widgets += [
        _widget("API latency (ms)", [
            ["AWS/ApiGateway", "Latency", "ApiName", "${AWS::StackName}", "Stage", API_STAGE,
             {"stat": "p50", "label": "p50"}],
            ["...", {"stat": "p99", "label": "p99"}]], x=0, y=y),
        _widget("API requests and errors", [
            ["AWS/ApiGateway", "Count", "ApiName", "${AWS::StackName}", "Stage", API_STAGE,
             {"stat": "Sum"}],
            [".", "4XXError", ".", ".", ".", ".", {"stat": "Sum"}],
            [".", "5XXError", ".", ".", ".", ".", {"stat": "Sum"}]], x=12, y=y),
        _widget("Lambda errors and throttles", [
            ["AWS/Lambda", metric, "FunctionName", "${%s}" % logical,
             {"stat": "Sum", "label": f"{name} {metric.lower()}"}]
            for logical, name in functions.items() for metric in ("Errors", "Throttles")],
            x=0, y=y + 6, width=24),
    ]
    return {"widgets": widgets}


def dashboard(jobs: list[str], functions: dict[str, str]) -> dict:
    return {DASHBOARD: {"Type": "AWS::CloudWatch::Dashboard", "Properties": {
        "DashboardName": _sub("${AWS::StackName}-operations"),
        "DashboardBody": _sub(json.dumps(dashboard_body(jobs, functions),
                                         separators=(",", ":")))}}}
