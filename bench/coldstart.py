"""Cold start and package size, against the floor app.

A cold start is a fresh interpreter importing the app and answering one API Gateway
event that reads one item from DynamoDB Local — the work a Lambda init plus its first
invocation does. The app runs as a deployed stage would (not `local`: no local routes,
a real secret), the floor app answers the same one-GetItem request. Runs alternate
between the two so that a busy moment on the machine hits both alike.
"""
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from bench import env

FLOOR_DIR = env.ROOT / "bench" / "floor_app"
CHILD = env.ROOT / "bench" / "coldstart_child.py"
FLOOR_TABLE = "bench-floor"
FLOOR_ITEM = "floor-1"


def load_floor_app(dynamodb: str):
    """Import bench/floor_app/app.py under its own name (the main app is `app`)."""
    os.environ["DYNAMODB_ENDPOINT"] = dynamodb
    os.environ["FLOOR_TABLE"] = FLOOR_TABLE
    spec = importlib.util.spec_from_file_location("bench_floor_app", FLOOR_DIR / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def seed_floor(dynamodb: str) -> None:
    floor = load_floor_app(dynamodb)
    model = floor.FloorItem
    if not model.exists():
        model.create_table(billing_mode="PAY_PER_REQUEST", wait=True)
    model(FLOOR_ITEM, title="店铺装修").save()


def first_request(seeded: dict) -> tuple[str, dict]:
    """The app route for the first request: a public one-item read that exists."""
    import re

    from bench.calls import route_matcher

    match = route_matcher()
    for path in (f"/services/{seeded.get('service')}", "/providers/provider-1", "/users/buyer-1"):
        spec = match("GET", path) if "None" not in path else None
        if spec is not None:
            names = re.findall(r"\{(\w+)\}", spec.path)
            pattern = "^" + re.sub(r"\\\{\w+\\\}", "([^/]+)", re.escape(spec.path)) + "$"
            return spec.path, dict(zip(names, re.match(pattern, path).groups()))
    return "/health", {}


def _child_env(dynamodb: str, prefix: str) -> dict:
    child = dict(os.environ)
    child.update({
        "STAGE": "bench", "TABLE_PREFIX": prefix, "DYNAMODB_ENDPOINT": dynamodb,
        "JWT_SECRET": "bench-secret-not-the-local-default", "AWS_LAMBDA_FUNCTION_NAME": "bench",
        "PAYMENT_GATEWAY": "alipay", "ALIPAY_SSM_PARAMETER": "/bench/alipay",
        "FLOOR_TABLE": FLOOR_TABLE, "BUCKET_NAME": "market-bench-files",
    })
    # The warm-up run must write .pyc files, as the deployed zip ships them (deploy/package
    # .py): a machine that sets PYTHONDONTWRITEBYTECODE would otherwise time compiling.
    child.pop("PYTHONDONTWRITEBYTECODE", None)
    child.pop("S3_ENDPOINT", None)
    child.pop("PYTHONPATH", None)
    return child


def _one(app_dir: Path, resource: str, params: dict, child_env: dict) -> dict:
    out = subprocess.run([sys.executable, str(CHILD), str(app_dir), resource, json.dumps(params)],
                         env=child_env, cwd=str(app_dir), capture_output=True, text=True,
                         timeout=120)
    if out.returncode != 0:
        raise RuntimeError(f"cold start of {app_dir} failed: {out.stderr[-800:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure_cold_start(dynamodb: str, prefix: str, seeded: dict, repeats: int = 7) -> dict:
    seed_floor(dynamodb)
    resource, params = first_request(seeded)
    child_env = _child_env(dynamodb, prefix)
    app_runs, floor_runs = [], []
    # One unmeasured run of each warms the OS file cache and writes .pyc files.
    _one(env.ROOT, resource, params, child_env)
    _one(FLOOR_DIR, "/item/{item_id}", {"item_id": FLOOR_ITEM}, child_env)
    for i in range(repeats):
        pair = [(app_runs, env.ROOT, resource, params),
                (floor_runs, FLOOR_DIR, "/item/{item_id}", {"item_id": FLOOR_ITEM})]
        for runs, app_dir, res, prm in (pair if i % 2 == 0 else pair[::-1]):
            runs.append(_one(app_dir, res, prm, child_env))
    app_total = env.median(r["total_s"] for r in app_runs)
    floor_total = env.median(r["total_s"] for r in floor_runs)
    return {
        "request": f"GET {resource}", "statuses": sorted({r["status"] for r in app_runs}),
        "repeats": repeats,
        "app_total": app_total, "floor_total": floor_total, "ratio": app_total / floor_total,
        "app_import": env.median(r["import_s"] for r in app_runs),
        "floor_import": env.median(r["import_s"] for r in floor_runs),
        "app_first": env.median(r["first_request_s"] for r in app_runs),
        "floor_first": env.median(r["first_request_s"] for r in floor_runs),
    }


def _package(project: Path, workdir: Path) -> dict | None:
    chalice = Path(sys.executable).parent / "chalice"
    # The zip does not depend on the stage; `dev` needs the deploy policy file, so fall
    # back to `local` (generated policy) while that file does not exist.
    for stage in ("dev", "local"):
        out_dir = workdir / f"{project.name}-{stage}"
        result = subprocess.run([str(chalice), "package", "--stage", stage, str(out_dir)],
                                cwd=str(project), capture_output=True, text=True, timeout=300,
                                env={**os.environ, "AWS_DEFAULT_REGION": "us-east-1"})
        zip_path = out_dir / "deployment.zip"
        if result.returncode == 0 and zip_path.exists():
            break
    else:
        return {"error": (result.stderr or result.stdout)[-300:]}
    with zipfile.ZipFile(zip_path) as archive:
        ours = sum(i.file_size for i in archive.infolist()
                   if i.filename == "app.py" or i.filename.startswith("chalicelib/"))
    return {"zip_bytes": zip_path.stat().st_size, "own_code_bytes": ours, "stage": stage}


def measure_package() -> dict:
    """`chalice package` zips of the app and of the floor app, built the same way."""
    with tempfile.TemporaryDirectory(prefix="bench-package-") as tmp:
        app = _package(env.ROOT, Path(tmp))
        floor = _package(FLOOR_DIR, Path(tmp))
    return {"app": app, "floor": floor}
