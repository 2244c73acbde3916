"""The benchmark's environment: the local stage with dummy credentials, set before the
app is imported, plus helpers to point the models at an engine and describe the machine."""
import atexit
import os
import platform
import shutil
import statistics
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Read at import time by the app: set before anything imports it.
os.environ["STAGE"] = "local"
os.environ.setdefault("TABLE_PREFIX", "bench-")
os.environ.setdefault("BUCKET_NAME", "market-bench-files")
os.environ.pop("JWT_SECRET", None)
os.environ.pop("DYNAMODB_ENDPOINT", None)
os.environ.pop("S3_ENDPOINT", None)
os.environ.pop("PAYMENT_GATEWAY", None)  # the sandbox; bench.alipay switches for one order
# What the local stage writes to disk (mail to users with an e-mail channel, the Alipay
# stand-in's keys) goes to a directory of this run, not the developer's .local/data.
_DATA_DIR = tempfile.mkdtemp(prefix="bench-data-")
os.environ["LOCAL_DATA_DIR"] = _DATA_DIR
atexit.register(shutil.rmtree, _DATA_DIR, True)

from chalicelib.local import engines  # noqa: E402 - after the environment is set

engines.dummy_aws_credentials()


point_at = engines.point_at


def each_size(measure, engines: dict, sizes) -> dict:
    """`measure(engines, size)` for each table size, smallest first; a size that could not
    be filled in the time budget ("pending") stops the larger ones."""
    from bench import counters

    counters.install()
    out = {}
    for size in sizes:
        out[size] = measure(engines, size)
        if "pending" in out[size]:
            break
    return out


def fresh_tables() -> None:
    from chalicelib.storage import schema

    schema.create_missing_tables()
    schema.create_bucket_if_missing()


@contextmanager
def moto_engine(prefix: str = "bench-"):
    """Fresh tables and bucket in moto, in this process."""
    from moto import mock_aws

    from chalicelib import clock

    clock.reset()
    with mock_aws():
        point_at(None, None, prefix)
        fresh_tables()
        yield
    clock.reset()


@contextmanager
def local_engines():
    """DynamoDB Local (in memory) and moto's S3 server on loopback, for one block."""
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's S3: a line per request
    ddb_port, s3_port = engines.free_port(), engines.free_port()
    ddb = engines.start_dynamodb_local(ddb_port)
    s3 = engines.start_s3_server(s3_port)
    try:
        yield {"dynamodb": f"http://127.0.0.1:{ddb_port}", "s3": f"http://127.0.0.1:{s3_port}"}
    finally:
        s3.stop()
        engines.stop(ddb)


def machine() -> dict:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        model = platform.processor() or "unknown"
    return {"nproc": os.cpu_count(), "cpu": model,
            "python": platform.python_version(), "platform": platform.platform()}


def median(values) -> float:
    values = list(values)
    return statistics.median(values) if values else float("nan")


def percentile(values, p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]
