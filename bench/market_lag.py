"""How long a change takes to show in search on the local stack: `make run`'s dev server
(DynamoDB Local, its stream read every STREAM_POLL_SECONDS by the dev server's consumer)
started on free ports and a temporary data directory, driven over HTTP. For each of
`rounds` services: list it, then read `GET /services?q=<its word>` every 10 ms until it
shows; delist it, then read until it is gone. The time from the listing's (delisting's)
answer to the first read that shows it is the lag.

    .venv/bin/python -m bench.market_lag [rounds]
"""
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from bench import env  # noqa: F401 - the local stage's environment, dummy credentials
from chalicelib.local import engines

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT = 180
POLL = 0.01


def _png() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (80, 80), (200, 30, 40)).save(out, format="PNG")
    return out.getvalue()


class Stack:
    def __init__(self, data_dir: Path):
        self.port = engines.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env_vars = dict(os.environ, PORT=str(self.port), DYNAMODB_PORT=str(engines.free_port()),
                        S3_PORT=str(engines.free_port()), LOCAL_DATA_DIR=str(data_dir),
                        PAYMENT_GATEWAY="sandbox", SWEEP_INTERVAL_SECONDS="30",
                        PYTHONUNBUFFERED="1")
        self.log = open(data_dir.parent / "devserver.log", "ab")
        self.process = subprocess.Popen([sys.executable, "-m", "chalicelib.local.devserver"],
                                        cwd=ROOT, env=env_vars, stdout=self.log,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/health", timeout=1).ok:
                    return
            except requests.RequestException:
                time.sleep(0.3)
        raise SystemExit("the dev server did not start")

    def token(self, sub: str, operator: bool = False) -> dict:
        reply = requests.post(self.url + "/_local/token",
                              json={"sub": sub, "roles": ["operator"] if operator else []})
        return {"Authorization": f"Bearer {reply.json()['token']}"}

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=60)
        self.log.close()


def _until(stack: Stack, q: str, service_id: str, present: bool) -> float:
    start = time.monotonic()
    while time.monotonic() - start < 60:
        items = requests.get(stack.url + "/services", params={"q": q}).json()["items"]
        if (service_id in [i["id"] for i in items]) == present:
            return time.monotonic() - start
        time.sleep(POLL)
    raise SystemExit("search never caught up")


def measure(rounds: int = 20) -> dict:
    base = Path(tempfile.mkdtemp(prefix="bench-lag-"))
    stack = Stack(base / "data")
    try:
        provider, operator = stack.token("lag-provider"), stack.token("op-1", operator=True)
        requests.post(stack.url + "/providers/me/application", headers=provider, json={
            "display_name": "测延迟工作室", "company_name": "测延迟有限公司",
            "contact": "13800000000", "intro": "只为测量"}).raise_for_status()
        requests.post(f"{stack.url}/admin/providers/lag-provider/approve", headers=operator,
                      json={}).raise_for_status()
        listing, delisting = [], []
        for i in range(rounds):
            word = f"lagword{i:03d}"
            created = requests.post(stack.url + "/services", headers=provider, json={
                "title": f"测延迟{word}", "category": "shop-decoration",
                "summary": f"{word} 延迟测量", "content": "内容", "pricing": "fixed",
                "price": 1000 + i, "tags": []})
            created.raise_for_status()
            sid = created.json()["id"]
            requests.put(f"{stack.url}/services/{sid}/logo", data=_png(),
                         headers={**provider, "Content-Type": "image/png"}).raise_for_status()
            requests.post(f"{stack.url}/services/{sid}/list", headers=provider,
                          json={}).raise_for_status()
            listing.append(_until(stack, word, sid, present=True))
            requests.post(f"{stack.url}/services/{sid}/delist", headers=provider,
                          json={}).raise_for_status()
            delisting.append(_until(stack, word, sid, present=False))
    finally:
        stack.stop()
        shutil.rmtree(base, ignore_errors=True)

    def summary(xs):
        xs = sorted(xs)
        return {"median_ms": round(statistics.median(xs) * 1000),
                "p95_ms": round(xs[int(0.95 * (len(xs) - 1))] * 1000),
                "max_ms": round(xs[-1] * 1000)}

    return {"rounds": rounds, "poll_seconds": 0.2, "listing": summary(listing),
            "delisting": summary(delisting)}


if __name__ == "__main__":
    print(json.dumps(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 20), indent=2))
