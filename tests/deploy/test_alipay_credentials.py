"""A deployed stage's Alipay registration comes from Secrets Manager or SSM once per
container, must be complete and usable, and a deployed stage never takes payments on
the sandbox or on a gateway that is not public https (the local stand-in)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from chalicelib import settings
from chalicelib.alipay import credentials, protocol

APP_PRIVATE, APP_PUBLIC = protocol.new_key_pair()
ALIPAY_PRIVATE, ALIPAY_PUBLIC = protocol.new_key_pair()
DOCUMENT = {"app_id": "2021000000000001", "app_private_key": APP_PRIVATE,
            "alipay_public_key": ALIPAY_PUBLIC,
            "notify_url": "https://abc.execute-api.us-east-1.amazonaws.com/api/payments/alipay/notify"}


def _cfg(**changes) -> settings.Settings:
    base = {**settings.load().__dict__, "stage": "prod", "region": "us-east-1",
            "jwt_secret_ssm_parameter": "/market-prod/jwt-secret", "payment_gateway": "alipay",
            "alipay_ssm_parameter": "/market-prod/alipay"}
    base.update({k: None for k in ("alipay_app_id", "alipay_app_private_key",
                                   "alipay_public_key", "alipay_notify_url", "alipay_secret_arn")})
    return settings.Settings(**{**base, **changes})


@pytest.fixture
def fresh():
    credentials.forget()
    with mock_aws():
        yield
    credentials.forget()


def _put_ssm(document) -> None:
    boto3.client("ssm", region_name="us-east-1").put_parameter(
        Name="/market-prod/alipay", Value=json.dumps(document), Type="SecureString",
        Overwrite=True)


def test_the_ssm_document_is_read_once_per_container(fresh):
    _put_ssm(DOCUMENT)
    creds = credentials.load(_cfg())
    assert (creds.app_id, creds.notify_url) == (DOCUMENT["app_id"], DOCUMENT["notify_url"])
    _put_ssm({**DOCUMENT, "app_id": "2021000000000002"})
    assert credentials.load(_cfg()).app_id == DOCUMENT["app_id"]  # cached


def test_secrets_manager_takes_bare_base64_keys_as_alipays_tools_print_them(fresh):
    bare = {**DOCUMENT, "app_private_key": "".join(APP_PRIVATE.splitlines()[1:-1]),
            "alipay_public_key": "".join(ALIPAY_PUBLIC.splitlines()[1:-1])}
    arn = boto3.client("secretsmanager", region_name="us-east-1").create_secret(
        Name="market-prod-alipay", SecretString=json.dumps(bare))["ARN"]
    creds = credentials.load(_cfg(alipay_ssm_parameter=None, alipay_secret_arn=arn))
    signature = protocol.sign_text("a=1", protocol.load_private_key(creds.app_private_key))
    assert protocol.verify_text("a=1", signature, protocol.load_public_key(APP_PUBLIC))


@pytest.mark.parametrize("document", [
    {k: v for k, v in DOCUMENT.items() if k != "alipay_public_key"},
    {**DOCUMENT, "app_private_key": "not a key"},
    {**DOCUMENT, "notify_url": "http://abc.example/notify"},  # Alipay posts over https only
    {k: v for k, v in DOCUMENT.items() if k != "notify_url"},
])
def test_an_incomplete_or_unusable_registration_refuses(fresh, document):
    _put_ssm(document)
    with pytest.raises(settings.ConfigurationError):
        credentials.load(_cfg())


def test_no_source_at_all_refuses(fresh):
    with pytest.raises(settings.ConfigurationError, match="no Alipay credentials"):
        credentials.load(_cfg(alipay_ssm_parameter=None))


# --- a deployed stage takes real payments or none ----------------------------------------
@pytest.mark.parametrize("changes, problem", [
    ({"payment_gateway": None}, "PAYMENT_GATEWAY is unset"),
    ({"payment_gateway": "sandbox"}, "PAYMENT_GATEWAY is sandbox"),
    ({"alipay_gateway_url": "http://127.0.0.1:8010/gateway.do"}, "not an https URL"),
    ({"alipay_gateway_url": "https://localhost:8010/gateway.do"}, "this machine"),
    ({"alipay_gateway_url": "https://10.0.0.8/gateway.do"}, "private address"),
    ({"alipay_ssm_parameter": None}, "no Alipay credentials"),
])
def test_a_deployed_stage_refuses_the_sandbox_and_the_stand_in(changes, problem):
    with pytest.raises(settings.ConfigurationError, match=problem):
        settings.assert_safe_to_serve(_cfg(**changes))


def test_a_deployed_stage_on_alipay_serves():
    settings.assert_safe_to_serve(_cfg())
    settings.assert_safe_to_serve(_cfg(
        alipay_gateway_url="https://openapi-sandbox.dl.alipaydev.com/gateway.do"))


def test_local_stages_default_to_the_sandbox():
    local = _cfg(stage="local", payment_gateway=None)
    settings.assert_safe_to_serve(local)
    assert settings.payment_gateway_name(local) == "sandbox"
    with pytest.raises(settings.ConfigurationError):
        settings.payment_gateway_name(_cfg(payment_gateway=None))


def _start_prod_function(**env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("ALIPAY_", "JWT_", "PAYMENT_"))}
    clean.update(STAGE="prod", AWS_LAMBDA_FUNCTION_NAME="service-market-prod",
                 JWT_SECRET_SSM_PARAMETER="/market-prod/jwt-secret",
                 ALIPAY_SSM_PARAMETER="/market-prod/alipay", **env)
    return subprocess.run([sys.executable, "-c", "import app"],
                          cwd=Path(__file__).resolve().parents[2], env=clean,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("env", [
    {}, {"PAYMENT_GATEWAY": "sandbox"},
    {"PAYMENT_GATEWAY": "alipay", "ALIPAY_GATEWAY_URL": "http://127.0.0.1:8010/gateway.do"},
])
def test_a_prod_function_refuses_to_start_on_the_sandbox_or_the_stand_in(env):
    result = _start_prod_function(**env)
    assert result.returncode != 0
    assert "refusing to serve" in result.stderr


def test_a_prod_function_on_alipay_starts():
    result = _start_prod_function(PAYMENT_GATEWAY="alipay")
    assert result.returncode == 0, result.stderr[-2000:]
