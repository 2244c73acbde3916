"""What reaches CloudWatch: one JSON line per request with no secrets, and metrics in
CloudWatch's embedded metric format."""
import json

import pytest

from chalicelib import observability

SECRET_HEADER = "Bearer eyJ-very-secret-token"


@pytest.fixture(autouse=True)
def metrics_on(monkeypatch):
    # The dev server's tests apply its environment, which turns metric lines off.
    monkeypatch.delenv("EMF_METRICS", raising=False)


def _lines(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()
            if line.startswith("{")]


def test_each_request_logs_one_json_line_with_route_status_and_no_token(api, capsys):
    capsys.readouterr()
    reply = api.get("/orders/ord-不存在", user="buyer-1")
    assert reply.status == 404
    lines = [line for line in _lines(capsys) if line.get("type") == "request"]
    assert len(lines) == 1
    line = lines[0]
    assert line["route"] == "/orders/{order_id}" and line["method"] == "GET"
    assert line["status"] == 404 and line["error"] == "NOT_FOUND"
    assert line["request_id"] and line["latency_ms"] >= 0
    text = json.dumps(line, ensure_ascii=False)
    assert "buyer-1" not in text and "ord-不存在" not in text and "Bearer" not in text


def test_a_bad_token_is_never_logged(api, capsys):
    capsys.readouterr()
    reply = api.get("/me/balance", headers={"Authorization": SECRET_HEADER})
    assert reply.status == 401
    out = capsys.readouterr().out
    assert "very-secret" not in out and '"status":401' in out


def _emf_ok(record, name):
    spec = record["_aws"]["CloudWatchMetrics"][0]
    assert spec["Namespace"] == observability.NAMESPACE
    assert name in {m["Name"] for m in spec["Metrics"]}
    for dimension in spec["Dimensions"][0]:
        assert isinstance(record[dimension], str)  # EMF: dimension values are strings
    assert isinstance(record[name], (int, float))
    assert isinstance(record["_aws"]["Timestamp"], int)


def test_an_order_transition_is_one_emf_metric_line(capsys):
    record = observability.order_transition("accept", "awaiting_provider", "in_progress",
                                            order_id="ord-1")
    (line,) = _lines(capsys)
    assert line == json.loads(json.dumps(record))
    _emf_ok(line, "OrderTransitions")
    assert line["Action"] == "accept" and line["To"] == "in_progress"
    assert line["OrderTransitions"] == 1


def test_a_sweep_run_counts_and_times_in_one_line(capsys):
    observability.sweep_run("sweep_timeouts", 0.25, {"expired": 2})
    (line,) = _lines(capsys)
    _emf_ok(line, "SweepRuns")
    _emf_ok(line, "SweepDuration")
    assert line["Job"] == "sweep_timeouts" and line["SweepDuration"] == 250.0
    assert line["result"] == {"expired": 2}


def test_every_order_transition_through_the_api_emits_its_metric(api, capsys):
    from tests.api.orders_support import accepted_order

    capsys.readouterr()
    accepted_order(api)
    transitions = [(line["Action"], line["To"]) for line in _lines(capsys)
                   if "OrderTransitions" in line]
    assert transitions == [("place", "awaiting_payment"), ("pay", "awaiting_provider"),
                           ("accept", "in_progress")]


def test_a_refused_transition_emits_no_metric(api, capsys):
    from tests.api.orders_support import PROVIDER, paid_order

    order_id = paid_order(api)
    capsys.readouterr()
    assert api.post(f"/orders/{order_id}/approve", user=PROVIDER).status in (403, 409)
    assert not [line for line in _lines(capsys) if "OrderTransitions" in line]


def test_each_scheduled_run_emits_one_sweep_metric(api, capsys):
    capsys.readouterr()
    api.invoke("sweep_timeouts")
    api.invoke("release_escrow")
    runs = [line for line in _lines(capsys) if "SweepRuns" in line]
    assert sorted(line["Job"] for line in runs) == ["release_escrow", "sweep_timeouts"]
    for line in runs:
        _emf_ok(line, "SweepDuration")


def test_metric_lines_can_be_switched_off_but_are_still_built(capsys, monkeypatch):
    monkeypatch.setenv("EMF_METRICS", "off")
    record = observability.sweep_run("sweep_timeouts", 0.1)
    assert record["SweepRuns"] == 1
    assert _lines(capsys) == []
