"""`make run`: the whole local stage in one process.

DynamoDB Local (data on disk), moto's S3 server, the Alipay stand-in (a separate program
speaking Alipay's protocol: payments go through the real gateway code path), the Chalice
app on chalice's own local HTTP server, and the scheduled jobs on a timer (`chalice
local` never runs schedules). Everything it starts, it stops: on Ctrl-C, SIGTERM, a crash
or a normal exit.

    .venv/bin/python -m chalicelib.local.devserver
"""
import atexit
import importlib
import logging
import os
import signal
import socket
import sys
import threading
import traceback
from dataclasses import dataclass
from pathlib import Path

from chalicelib.local import alipay_standin, engines, http_gateway, s3_snapshot

log = logging.getLogger("devserver")

ROOT = engines.ROOT
LOCAL_TABLE_PREFIX = "market-local-"
LOCAL_BUCKET = "market-local-files"
DEMO_MARKER = "demo-loaded"


class StartupError(RuntimeError):
    """The local stack cannot start; the message says what to do."""


def _rank_listed_services() -> None:
    """Write the market entries of every listed service again, so that data kept from
    before `sort=best` (or from before the services table had its stream) has them
    (local data is small; a deployed stage does the same once, see README)."""
    from chalicelib.services import market_index
    from chalicelib.storage.catalog import ServiceModel

    for service in ServiceModel.scan(ServiceModel.status == "listed"):
        market_index.reindex_service(service.id)


class StreamConsumer(threading.Thread):
    """What Lambda's event source mapping does deployed: reads the services table's
    stream on DynamoDB Local every `interval` seconds and hands each batch, as Lambda's
    event, to the app's own `index_market` handler. One thread, so one service's records
    are applied in order."""

    def __init__(self, interval: float, handler):
        super().__init__(name="market-stream", daemon=True)
        from chalicelib.local.stream_reader import StreamReader
        from chalicelib.storage.catalog import ServiceModel

        self.interval = interval
        # Between descriptions of the stream (new shards) each poll is one GetRecords
        # per open shard: a change shows in search within about one interval.
        self._reader = StreamReader(ServiceModel, describe_every=5.0)
        self._handler = handler
        self._stopped = threading.Event()

    def run(self) -> None:
        while not self._stopped.wait(self.interval):
            self.run_once()

    def run_once(self) -> int:
        """Apply what the stream holds now; the number of batches (a failed batch is
        read again next time, as Lambda retries it)."""
        try:
            events = self._reader.read()
        except Exception:  # DynamoDB Local busy or stopping: the next tick reads again
            log.debug("stream read failed", exc_info=True)
            return 0
        for done, event in enumerate(events):
            try:
                self._handler(event, None)
            except Exception:
                log.exception("index_market failed; its batch is read again")
                self._reader.rewind(events[done:])
                return done
        return len(events)

    def stop(self) -> None:
        self._stopped.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout=5)


@dataclass(frozen=True)
class Options:
    host: str
    port: int
    dynamodb_port: int
    s3_port: int
    data_dir: Path
    sweep_interval: float
    stream_interval: float = 0.2  # STREAM_POLL_SECONDS: how often the services' stream is read
    alipay_standin_port: int = alipay_standin.DEFAULT_PORT
    payment_gateway: str = "alipay"  # PAYMENT_GATEWAY=sandbox: no stand-in, instant payments

    @property
    def dynamodb_dir(self) -> Path:
        return self.data_dir / "dynamodb"

    @property
    def standin_dir(self) -> Path:
        return self.data_dir / "alipay-standin"

    @property
    def uses_standin(self) -> bool:
        return self.payment_gateway == "alipay"

    @property
    def s3_dir(self) -> Path:
        return self.data_dir / "s3"


def options_from_env(environ=os.environ) -> Options:
    def number(name: str, default, kind=int):
        raw = environ.get(name, "")
        try:
            return kind(raw) if raw.strip() else default
        except ValueError:
            raise StartupError(f"{name}={raw!r} is not a number") from None

    data_dir = Path(environ.get("LOCAL_DATA_DIR") or ROOT / ".local" / "data")
    return Options(
        host="127.0.0.1",
        port=number("PORT", 8000),
        dynamodb_port=number("DYNAMODB_PORT", 8001),
        s3_port=number("S3_PORT", 9001),
        data_dir=data_dir.resolve(),
        sweep_interval=number("SWEEP_INTERVAL_SECONDS", 10.0, float),
        stream_interval=number("STREAM_POLL_SECONDS", 0.2, float),
        alipay_standin_port=number("ALIPAY_STANDIN_PORT", alipay_standin.DEFAULT_PORT),
        payment_gateway=_gateway_choice(environ.get("PAYMENT_GATEWAY")),
    )


def _gateway_choice(raw: str | None) -> str:
    name = (raw or "alipay").strip()
    if name not in ("alipay", "sandbox"):
        raise StartupError(f"PAYMENT_GATEWAY={raw!r}: the local stack runs alipay (through "
                           "the stand-in, the default) or sandbox")
    return name


def local_environment(opts: Options) -> dict[str, str]:
    """The variables that make the app a `local` stage talking to the local engines."""
    return {
        "STAGE": "local",
        "TABLE_PREFIX": LOCAL_TABLE_PREFIX,
        "DYNAMODB_ENDPOINT": f"http://127.0.0.1:{opts.dynamodb_port}",
        "S3_ENDPOINT": f"http://127.0.0.1:{opts.s3_port}",
        "BUCKET_NAME": LOCAL_BUCKET,
        "EMF_METRICS": "off",
        "PAYMENT_GATEWAY": opts.payment_gateway,
        # Mail to users lands as .eml files in <LOCAL_DATA_DIR>/mail/ (services.outbox).
        "LOCAL_DATA_DIR": str(opts.data_dir),
        "MAIL_TRANSPORT": "outbox",
    }


def standin_environment(opts: Options, registration) -> dict[str, str]:
    """The variables that point the app at the stand-in, with the app's registration."""
    # The cashier's 返回商户 leads back to the console, which opens the order it names.
    return alipay_standin.app_environment(
        registration, f"http://127.0.0.1:{opts.alipay_standin_port}/gateway.do",
        f"http://127.0.0.1:{opts.port}/payments/alipay/notify",
        return_url=f"http://127.0.0.1:{opts.port}/console/")


def apply_environment(opts: Options) -> None:
    os.environ.update(local_environment(opts))
    # A deployed stage's public URLs would make logo links point away from moto's S3.
    os.environ.pop("PUBLIC_BASE_URL", None)
    os.environ.pop("LOGO_BASE_URL", None)
    # Real Alipay credentials in the shell must not reach the local stage.
    for name in [n for n in os.environ if n.startswith("ALIPAY_")]:
        os.environ.pop(name)
    engines.dummy_aws_credentials()


def ensure_free(port: int, what: str, variable: str) -> None:
    with socket.socket() as sock:
        # Without it a port still in TIME_WAIT from the last run would look taken.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            raise StartupError(
                f"port {port} ({what}) is already in use — is another `make run` going? "
                f"Stop it, or choose another port with {variable}=...") from None


class Stack:
    """What the dev server started, stopped in reverse order exactly once."""

    def __init__(self):
        self._stops: list[tuple[str, object]] = []
        self._lock = threading.Lock()

    def on_stop(self, name: str, fn) -> None:
        self._stops.append((name, fn))

    def stop(self) -> None:
        with self._lock:
            stops, self._stops = self._stops, []
        for name, fn in reversed(stops):
            try:
                fn()
            except Exception:  # one failed stop must not leave the rest running
                log.exception("could not stop %s", name)


class SweepTimer(threading.Thread):
    """Runs every registered job every `interval` seconds; an exception is logged, never fatal."""

    def __init__(self, interval: float, run_all):
        super().__init__(name="sweeps", daemon=True)
        self.interval = interval
        self._run_all = run_all
        self._stopped = threading.Event()
        self._last = ""

    def run(self) -> None:
        while not self._stopped.wait(self.interval):
            self.run_once()

    def run_once(self) -> str:
        try:
            line = "sweeps: " + summarise(self._run_all())
        except Exception as error:  # the next tick may well succeed
            line = f"sweeps: failed: {type(error).__name__}: {error}"
            log.debug("sweep failure", exc_info=True)
        # An idle stack would otherwise print the same "nothing" line every few seconds.
        if line != self._last or "=" in line:
            log.info(line)
        self._last = line
        return line

    def stop(self) -> None:
        self._stopped.set()
        # A sweep in flight is not waited for long: its writes are conditional, and the
        # next start's sweep finishes whatever it left.
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout=5)


# What every run reports whether or not it did anything: not news on an idle stack.
_BOOKKEEPING = {"job", "pages", "read", "elapsed_ms", "more"}


def summarise(results: dict) -> str:
    """One line from run_all()'s answer: what each job did, quiet about zeros."""
    if not results:
        return "no jobs registered"
    parts = []
    for name, result in results.items():
        if isinstance(result, dict):
            done = ", ".join(f"{k}={v}" for k, v in result.items()
                             if k not in _BOOKKEEPING and v not in (0, None, False, [], {}))
            parts.append(f"{name}: {done or 'nothing due'}")
        else:
            parts.append(f"{name}: {result}")
    return "; ".join(parts)


def load_demo_once(data_dir: Path, now) -> str:
    """Load the demo catalog the first time this data directory is used.

    The marker lives next to the data, so `make reset-data` brings the demo back, and a
    demo service a developer deleted stays deleted across restarts.
    """
    marker = data_dir / DEMO_MARKER
    if marker.exists():
        return "demo data: already loaded"
    try:
        demo = importlib.import_module("chalicelib.local.demo")
    except ModuleNotFoundError as error:
        if error.name != "chalicelib.local.demo":
            raise
        return "demo data: chalicelib/local/demo.py does not exist yet; starting empty"
    try:
        result = demo.load_demo_data(now)
    except Exception:  # noqa: BLE001 - a broken demo must not stop the developer's server
        traceback.print_exc()
        return "demo data: loading FAILED (see above); will retry on next start"
    marker.write_text("loaded\n", encoding="utf-8")
    if result is False:
        return "demo data: already present"
    return "demo data: loaded" + ("" if result in (None, True) else f" ({result})")


def banner(opts: Options) -> str:
    url = f"http://{opts.host}:{opts.port}"
    standin = f"http://{opts.host}:{opts.alipay_standin_port}"
    payments = ([f"  Payments: the Alipay stand-in on {standin} opens the pay page a `pay` answer",
                 "            links to (payment.redirect_url) and confirms it within 2 s;",
                 f"            faults on demand: {standin}/_standin/control (see README)."]
                if opts.uses_standin else
                ["  Payments: PAYMENT_GATEWAY=sandbox, every payment succeeds at once."])
    return "\n".join([
        "",
        f"  服务定制市场 API (stage local) on {url}",
        f"  Web console: {url}/console/  (sign in by picking a user)",
        "",
        "  Get a token:",
        f"    curl -s -X POST {url}/_local/token -H 'Content-Type: application/json' "
        "-d '{\"sub\":\"buyer-1\"}'",
        "  Search the market for 装修:",
        f"    curl -s '{url}/services?q=%E8%A3%85%E4%BF%AE'",
        "",
        f"  Data: DynamoDB Local in {opts.dynamodb_dir} (port {opts.dynamodb_port}),",
        f"        S3 (moto, port {opts.s3_port}) saved to {opts.s3_dir} on stop.",
        *payments,
        f"  Scheduled jobs run every {opts.sweep_interval:g}s; the market index follows the",
        f"  services' stream (read every {opts.stream_interval:g}s). Ctrl-C stops everything.",
        "",
    ])


def _raise_exit(signum, frame):
    raise SystemExit(128 + signum)


def start(opts: Options, stack: Stack):
    """Start the engines and build the HTTP server (not yet serving)."""
    ports = [(opts.port, "the API", "PORT"),
             (opts.dynamodb_port, "DynamoDB Local", "DYNAMODB_PORT"),
             (opts.s3_port, "moto's S3", "S3_PORT")]
    if opts.uses_standin:
        ports.append((opts.alipay_standin_port, "the Alipay stand-in", "ALIPAY_STANDIN_PORT"))
    for port, what, variable in ports:
        ensure_free(port, what, variable)
    apply_environment(opts)
    if opts.uses_standin:
        # Made here, before the stand-in reads it: the app needs the same registration.
        registration = alipay_standin.ensure_registration(opts.standin_dir)
        os.environ.update(standin_environment(opts, registration))

    from chalicelib import clock, settings
    from chalicelib.storage import base, files, schema

    settings.reload()
    base.configure()
    files.reset_client()

    # First, while this is the only thread (see engines.start_dynamodb_local).
    ddb = engines.start_dynamodb_local(opts.dynamodb_port, opts.dynamodb_dir,
                                       die_with_parent=True)
    stack.on_stop("DynamoDB Local", lambda: engines.stop(ddb))
    if opts.uses_standin:
        standin = engines.start_alipay_standin(opts.alipay_standin_port, opts.standin_dir,
                                               die_with_parent=True)
        stack.on_stop("Alipay stand-in", lambda: engines.stop(standin))
    s3 = engines.start_s3_server(opts.s3_port)
    stack.on_stop("moto S3", s3.stop)

    app, config = http_gateway.load_app(ROOT, stage="local")
    created = schema.create_missing_tables(add_indexes=True)
    if any(name.endswith(("market_index.by_best", "services.stream")) for name in created):
        _rank_listed_services()  # entries written before `best` or the stream lack it
    schema.create_bucket_if_missing()
    restored = s3_snapshot.restore(files.s3_client(), settings.get().bucket, opts.s3_dir)
    # Saved before moto stops (stops run in reverse order).
    stack.on_stop("S3 snapshot", lambda: s3_snapshot.save(
        files.s3_client(), settings.get().bucket, opts.s3_dir))
    log.info("tables: %s", f"created {len(created)}" if created else "all present")
    if restored:
        log.info("s3: restored %d objects", restored)
    log.info(load_demo_once(opts.data_dir, clock.now()))

    # The market's search entries follow the services' stream, as deployed; what is
    # already in it (the demo, the last run's final writes) is applied before serving.
    consumer = StreamConsumer(opts.stream_interval, app.handler_map["index_market"])
    consumer.run_once()
    consumer.start()
    stack.on_stop("market stream consumer", consumer.stop)

    from chalicelib.jobs import registry

    timer = SweepTimer(opts.sweep_interval, registry.run_all)
    timer.start()
    stack.on_stop("sweep timer", timer.stop)

    server = http_gateway.build_server(app, config, opts.host, opts.port)
    stack.on_stop("HTTP server", server.server.server_close)
    return server


def main() -> int:
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(message)s")
    # Their per-request INFO lines would bury the app's own log.
    # market.jobs: the sweep timer prints its own one-line summary when a job did something.
    for noisy in ("botocore", "pynamodb", "werkzeug", "moto", "market.jobs"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    stack = Stack()
    atexit.register(stack.stop)
    signal.signal(signal.SIGTERM, _raise_exit)
    # A shell starts background jobs with SIGINT ignored; Ctrl-C must still stop us.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        opts = options_from_env()
        server = start(opts, stack)
        print(banner(opts), flush=True)
        server.server.serve_forever()
    except StartupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, SystemExit):
        print("\nstopping…", flush=True)
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
