"""The dev server's pieces, without starting it: configuration, port checks, the sweep
timer, the demo loader, shutdown order and the S3 snapshot."""
import socket
import sys
import types

import boto3
import pytest
from moto import mock_aws

from chalicelib.local import devserver, s3_snapshot


def test_defaults_match_the_readme(monkeypatch):
    for name in ("PORT", "DYNAMODB_PORT", "S3_PORT", "LOCAL_DATA_DIR", "SWEEP_INTERVAL_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    opts = devserver.options_from_env()
    assert (opts.port, opts.dynamodb_port, opts.s3_port) == (8000, 8001, 9001)
    assert opts.sweep_interval == 10
    assert opts.alipay_standin_port == 8010 and opts.payment_gateway == "alipay"
    # Resolved: a worktree may link .local to another checkout's.
    assert opts.data_dir == (devserver.ROOT / ".local" / "data").resolve()
    assert opts.dynamodb_dir == opts.data_dir / "dynamodb"


def test_environment_overrides_ports_and_data_dir(tmp_path):
    opts = devserver.options_from_env({"PORT": "8100", "DYNAMODB_PORT": "8101", "S3_PORT": "8102",
                                       "LOCAL_DATA_DIR": str(tmp_path), "SWEEP_INTERVAL_SECONDS": "0.5"})
    assert (opts.port, opts.dynamodb_port, opts.s3_port) == (8100, 8101, 8102)
    assert opts.data_dir == tmp_path.resolve()
    assert opts.sweep_interval == 0.5


def test_a_port_that_is_not_a_number_is_a_clear_error():
    with pytest.raises(devserver.StartupError, match="PORT='八千'"):
        devserver.options_from_env({"PORT": "八千"})


def test_local_environment_points_the_app_at_the_local_engines():
    opts = devserver.options_from_env({"DYNAMODB_PORT": "8101", "S3_PORT": "8102"})
    env = devserver.local_environment(opts)
    assert env["STAGE"] == "local"
    assert env["TABLE_PREFIX"] == "market-local-"
    assert env["DYNAMODB_ENDPOINT"] == "http://127.0.0.1:8101"
    assert env["S3_ENDPOINT"] == "http://127.0.0.1:8102"
    assert env["BUCKET_NAME"] == "market-local-files"
    assert env["PAYMENT_GATEWAY"] == "alipay"  # through the stand-in, by default
    # The app writes notification mail where the dev server keeps its data.
    assert env["MAIL_TRANSPORT"] == "outbox"
    assert env["LOCAL_DATA_DIR"] == str(opts.data_dir)



def test_the_stand_in_is_the_default_and_the_sandbox_a_choice(tmp_path):
    opts = devserver.options_from_env({"PORT": "8100", "ALIPAY_STANDIN_PORT": "8110",
                                       "LOCAL_DATA_DIR": str(tmp_path)})
    assert opts.uses_standin and opts.alipay_standin_port == 8110
    registration = devserver.alipay_standin.ensure_registration(opts.standin_dir)
    env = devserver.standin_environment(opts, registration)
    assert env["ALIPAY_GATEWAY_URL"] == "http://127.0.0.1:8110/gateway.do"
    assert env["ALIPAY_NOTIFY_URL"] == "http://127.0.0.1:8100/payments/alipay/notify"
    assert env["ALIPAY_RETURN_URL"] == "http://127.0.0.1:8100/console/"  # back to the console
    assert env["ALIPAY_APP_ID"] == registration.app_id
    assert (tmp_path / "alipay-standin" / "registration.json").exists()
    sandbox = devserver.options_from_env({"PAYMENT_GATEWAY": "sandbox"})
    assert not sandbox.uses_standin
    assert "Alipay stand-in" not in devserver.banner(sandbox)
    with pytest.raises(devserver.StartupError, match="PAYMENT_GATEWAY"):
        devserver.options_from_env({"PAYMENT_GATEWAY": "wechat"})


def test_apply_environment_drops_a_public_url_and_real_credentials(monkeypatch):
    for name in ("STAGE", "TABLE_PREFIX", "DYNAMODB_ENDPOINT", "S3_ENDPOINT", "BUCKET_NAME",
                 "EMF_METRICS", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                 "PAYMENT_GATEWAY", "ALIPAY_APP_ID", "LOCAL_DATA_DIR", "MAIL_TRANSPORT"):
        monkeypatch.setenv(name, "before")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://market.example.com")
    monkeypatch.setenv("AWS_PROFILE", "someone-real")
    devserver.apply_environment(devserver.options_from_env({}))
    import os

    assert "PUBLIC_BASE_URL" not in os.environ
    assert "AWS_PROFILE" not in os.environ
    assert os.environ["AWS_ACCESS_KEY_ID"] == "local"
    assert os.environ["STAGE"] == "local"
    assert "ALIPAY_APP_ID" not in os.environ  # a real app id never reaches the local stage


def test_a_taken_port_is_refused_with_the_variable_to_change():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(devserver.StartupError) as error:
            devserver.ensure_free(port, "DynamoDB Local", "DYNAMODB_PORT")
    assert str(port) in str(error.value) and "DYNAMODB_PORT=" in str(error.value)


def test_a_free_port_passes():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    devserver.ensure_free(port, "the API", "PORT")


def test_stack_stops_in_reverse_once_and_past_a_failure():
    stopped = []
    stack = devserver.Stack()
    stack.on_stop("java", lambda: stopped.append("java"))
    stack.on_stop("broken", lambda: 1 / 0)
    stack.on_stop("timer", lambda: stopped.append("timer"))
    stack.stop()
    stack.stop()
    assert stopped == ["timer", "java"]


def test_summary_of_no_jobs():
    assert devserver.summarise({}) == "no jobs registered"


def test_summary_names_only_what_happened():
    line = devserver.summarise({"sweep_timeouts": {"expired": 2, "reminded": 0},
                                "release_escrow": {"released": 0}})
    assert line == "sweep_timeouts: expired=2; release_escrow: nothing due"


def test_sweep_timer_survives_a_failing_job(caplog):
    calls = []

    def run_all():
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("表不存在")
        return {"sweep_timeouts": {"expired": 1}}

    timer = devserver.SweepTimer(60, run_all)
    with caplog.at_level("INFO", logger="devserver"):
        assert timer.run_once() == "sweeps: failed: RuntimeError: 表不存在"
        assert timer.run_once() == "sweeps: sweep_timeouts: expired=1"
    assert [r.getMessage() for r in caplog.records] == [
        "sweeps: failed: RuntimeError: 表不存在", "sweeps: sweep_timeouts: expired=1"]


def test_sweep_timer_does_not_repeat_an_idle_line(caplog):
    timer = devserver.SweepTimer(60, dict)
    with caplog.at_level("INFO", logger="devserver"):
        for _ in range(3):
            timer.run_once()
    assert [r.getMessage() for r in caplog.records] == ["sweeps: no jobs registered"]


def test_sweep_timer_runs_on_its_thread_and_stops():
    ran = []
    timer = devserver.SweepTimer(0.01, lambda: ran.append(1) or {})
    timer.start()
    while not ran:
        timer.join(0.01)
    timer.stop()
    assert not timer.is_alive()


@pytest.fixture
def fake_demo(monkeypatch):
    module = types.ModuleType("chalicelib.local.demo")
    module.calls = []
    module.load_demo_data = lambda now: module.calls.append(now) or {"services": 4}
    monkeypatch.setitem(sys.modules, "chalicelib.local.demo", module)
    return module


def test_demo_data_loads_once_per_data_dir(tmp_path, fake_demo):
    assert devserver.load_demo_once(tmp_path, "now-1") == "demo data: loaded ({'services': 4})"
    assert devserver.load_demo_once(tmp_path, "now-2") == "demo data: already loaded"
    assert fake_demo.calls == ["now-1"]


def test_a_failing_demo_is_retried_next_start(tmp_path, fake_demo, capsys):
    fake_demo.load_demo_data = lambda now: 1 / 0
    assert "FAILED" in devserver.load_demo_once(tmp_path, "now")
    assert not (tmp_path / devserver.DEMO_MARKER).exists()
    assert "ZeroDivisionError" in capsys.readouterr().err


def test_a_missing_demo_module_is_a_note_not_a_crash(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "chalicelib.local.demo", None)
    assert "does not exist yet" in devserver.load_demo_once(tmp_path, "now")
    assert not (tmp_path / devserver.DEMO_MARKER).exists()


def test_banner_says_how_to_get_a_token_and_search(tmp_path):
    text = devserver.banner(devserver.options_from_env({"PORT": "8100",
                                                        "LOCAL_DATA_DIR": str(tmp_path)}))
    assert "http://127.0.0.1:8100/_local/token" in text
    assert "/services?q=%E8%A3%85%E4%BF%AE" in text
    assert str(tmp_path.resolve() / "dynamodb") in text


@pytest.fixture
def s3():
    # S3 alone: the moto_aws fixture would also create every table, which this does not need.
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="snap")
        yield client


def test_s3_snapshot_round_trip(s3, tmp_path):
    png = bytes(range(256)) * 3
    s3.put_object(Bucket="snap", Key="logos/svc_店铺装修.png", Body=png, ContentType="image/png")
    s3.put_object(Bucket="snap", Key="deliverables/o1/终稿.txt", Body="终稿".encode())
    assert s3_snapshot.save(s3, "snap", tmp_path / "s3") == 2

    s3.delete_object(Bucket="snap", Key="logos/svc_店铺装修.png")
    s3.delete_object(Bucket="snap", Key="deliverables/o1/终稿.txt")
    assert s3_snapshot.restore(s3, "snap", tmp_path / "s3") == 2

    logo = s3.get_object(Bucket="snap", Key="logos/svc_店铺装修.png")
    assert logo["Body"].read() == png and logo["ContentType"] == "image/png"
    assert s3.get_object(Bucket="snap", Key="deliverables/o1/终稿.txt")["Body"].read() == "终稿".encode()


def test_restoring_without_a_snapshot_does_nothing(s3, tmp_path):
    assert s3_snapshot.restore(s3, "snap", tmp_path / "s3") == 0
    assert s3.list_objects_v2(Bucket="snap")["KeyCount"] == 0


def test_a_demo_that_finds_its_data_already_there_says_so(tmp_path, fake_demo):
    fake_demo.load_demo_data = lambda now: False
    assert devserver.load_demo_once(tmp_path, "now") == "demo data: already present"


def test_summary_of_an_idle_run_leaves_out_the_bookkeeping():
    idle = {"job": "sweep_timeouts", "found": 0, "moved": 0, "pages": 1, "read": 0,
            "more": False, "elapsed_ms": 17}
    busy = {**idle, "found": 3, "moved": 3, "more": True}
    assert devserver.summarise({"sweep_timeouts": idle}) == "sweep_timeouts: nothing due"
    assert devserver.summarise({"sweep_timeouts": busy}) == "sweep_timeouts: found=3, moved=3"


def test_the_local_stack_keeps_metric_lines_out_of_the_console():
    env = devserver.local_environment(devserver.options_from_env({}))
    assert env["EMF_METRICS"] == "off"


def test_the_stream_poll_defaults_to_a_fifth_of_a_second_and_is_configurable(monkeypatch):
    monkeypatch.delenv("STREAM_POLL_SECONDS", raising=False)
    assert devserver.options_from_env().stream_interval == 0.2  # as the README says
    assert devserver.options_from_env({"STREAM_POLL_SECONDS": "1.5"}).stream_interval == 1.5


class _Reader:
    """A stream reader holding two batches; what the consumer hands back is read first."""

    def __init__(self, events):
        self.events, self.rewound = list(events), []

    def read(self):
        events, self.events = self.events, []
        return events

    def rewind(self, events):
        self.rewound = list(events)
        self.events = list(events) + self.events


def test_the_stream_consumer_hands_a_failed_batch_back_and_goes_on_next_time(caplog):
    handled, failing = [], {"second"}

    def handler(event, context):
        if event["id"] in failing:
            raise RuntimeError("DynamoDB Local is busy")
        handled.append(event["id"])

    consumer = devserver.StreamConsumer(0.2, handler)
    consumer._reader = _Reader([{"id": "first"}, {"id": "second"}, {"id": "third"}])
    assert consumer.run_once() == 1
    assert handled == ["first"]
    assert [e["id"] for e in consumer._reader.rewound] == ["second", "third"]  # in order
    assert "index_market failed" in caplog.text
    failing.clear()
    assert consumer.run_once() == 2
    assert handled == ["first", "second", "third"]
