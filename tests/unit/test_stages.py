"""The deployed stages: no local-only routes, and no serving without a real secret."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib import settings

ROOT = Path(__file__).resolve().parents[2]


def _routes_in_stage(stage: str, **env) -> set[str]:
    code = ("import json, app; print(json.dumps(sorted(app.app.routes)))")
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**os.environ, "STAGE": stage, **env},
    )
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_local_only_routes_do_not_exist_in_deployed_stages(stage):
    routes = _routes_in_stage(stage, JWT_SECRET="a-real-secret-from-ssm")
    assert "/health" in routes
    assert not [r for r in routes if r.startswith("/_local")]


def test_local_stage_has_the_local_routes():
    routes = _routes_in_stage("local")
    assert {"/_local/token", "/_local/clock", "/_local/sweeps"} <= routes


def test_only_the_local_stage_serves_the_local_routes():
    """/_local/token hands out operator tokens: a `test` stage must not have it."""
    routes = _routes_in_stage("test")
    assert "/health" in routes
    assert not [r for r in routes if r.startswith("/_local")]


def _start_in_lambda(stage: str, **env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("JWT_", "PAYMENT_", "ALIPAY_"))}
    # A deployed stage also needs a real gateway: these tests are about the secret.
    clean.update({"STAGE": stage, "AWS_LAMBDA_FUNCTION_NAME": f"service-market-{stage}",
                  "PAYMENT_GATEWAY": "alipay", "ALIPAY_SSM_PARAMETER": "/service-market/alipay",
                  **env})
    return subprocess.run([sys.executable, "-c", "import app"], cwd=ROOT, env=clean,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("stage", sorted(settings.LOCAL_STAGES))
def test_a_lambda_function_refuses_to_start_in_a_local_stage(stage):
    """A local stage accepts the public default secret: deployed, anyone could sign tokens."""
    result = _start_in_lambda(stage)
    assert result.returncode != 0
    assert "refusing to serve" in result.stderr


@pytest.mark.parametrize("secret", ["short-secret", "x" * 31])
def test_a_short_jwt_secret_from_the_environment_refuses_to_start(secret):
    result = _start_in_lambda("prod", JWT_SECRET=secret)
    assert result.returncode != 0
    assert "refusing to serve" in result.stderr
    assert _start_in_lambda("prod", JWT_SECRET="x" * 32).returncode == 0


@pytest.mark.parametrize("secret", [None, settings.LOCAL_DEFAULT_JWT_SECRET])
def test_a_deployed_function_without_a_real_secret_refuses_to_start(secret):
    env = {**os.environ, "STAGE": "prod", "AWS_LAMBDA_FUNCTION_NAME": "service-market-prod"}
    env.pop("JWT_SECRET", None)
    for name in ("JWT_SECRET_SSM_PARAMETER", "JWT_SECRET_SECRET_ARN", "JWT_JWKS_URL"):
        env.pop(name, None)
    if secret:
        env["JWT_SECRET"] = secret
    result = subprocess.run([sys.executable, "-c", "import app"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "refusing to serve" in result.stderr


def test_local_stages_accept_the_default_secret():
    settings.assert_safe_to_serve(settings.Settings(**{
        **settings.load().__dict__, "stage": "local", "jwt_secret": None}))
