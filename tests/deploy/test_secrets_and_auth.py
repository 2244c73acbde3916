"""Deployed-stage auth: the HS256 secret comes from SSM or Secrets Manager once per
container and must be real; RS256 tokens are verified against a JWKS."""
import json
from datetime import datetime, timedelta, timezone

import boto3
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from moto import mock_aws

from chalicelib import secrets, settings
from chalicelib.api import auth
from chalicelib.domain.errors import Unauthenticated

STRONG = "淘宝-服务市场-" + "k" * 40


def _cfg(**changes) -> settings.Settings:
    return settings.Settings(**{**settings.load().__dict__, "stage": "prod", "jwt_secret": None,
                                "region": "us-east-1", "payment_gateway": "alipay",
                                "alipay_ssm_parameter": "/market-prod/alipay", **changes})


@pytest.fixture
def fresh():
    secrets.forget()
    with mock_aws():
        yield
    secrets.forget()


def test_the_ssm_secret_is_fetched_once_per_container(fresh):
    ssm = boto3.client("ssm", region_name="us-east-1")
    ssm.put_parameter(Name="/market-prod/jwt-secret", Value=STRONG, Type="SecureString")
    cfg = _cfg(jwt_secret_ssm_parameter="/market-prod/jwt-secret")
    assert secrets.jwt_secret(cfg) == STRONG
    ssm.put_parameter(Name="/market-prod/jwt-secret", Value="r" * 40, Type="SecureString",
                      Overwrite=True)
    assert secrets.jwt_secret(cfg) == STRONG  # cached: no second call per request


def test_secrets_manager_takes_a_plain_or_a_json_secret(fresh):
    client = boto3.client("secretsmanager", region_name="us-east-1")
    plain = client.create_secret(Name="plain", SecretString=STRONG)["ARN"]
    as_json = client.create_secret(Name="json",
                                   SecretString=json.dumps({"jwt_secret": STRONG}))["ARN"]
    for arn in (plain, as_json):
        secrets.forget()
        assert secrets.jwt_secret(_cfg(jwt_secret_secret_arn=arn)) == STRONG


@pytest.mark.parametrize("value", ["short-secret", settings.LOCAL_DEFAULT_JWT_SECRET])
def test_a_weak_or_local_secret_in_ssm_refuses_to_serve(fresh, value):
    boto3.client("ssm", region_name="us-east-1").put_parameter(
        Name="/market-prod/jwt-secret", Value=value, Type="SecureString")
    with pytest.raises(settings.ConfigurationError, match="refusing to serve"):
        secrets.jwt_secret(_cfg(jwt_secret_ssm_parameter="/market-prod/jwt-secret"))


def test_a_deployed_stage_without_any_secret_source_refuses_to_serve():
    with pytest.raises(settings.ConfigurationError, match="refusing to serve"):
        settings.assert_safe_to_serve(_cfg())
    settings.assert_safe_to_serve(_cfg(jwt_secret_ssm_parameter="/market-prod/jwt-secret"))
    settings.assert_safe_to_serve(_cfg(jwt_jwks_url="https://idp.example/jwks.json"))


# --- RS256 against a JWKS ----------------------------------------------------
@pytest.fixture
def idp(tmp_path, monkeypatch):
    """A local identity provider: an RSA key and its JWKS served from a file URL."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [{**public, "kid": "key-1", "use": "sig",
                                          "alg": "RS256"}]}))
    monkeypatch.setenv("JWT_JWKS_URL", jwks.as_uri())
    monkeypatch.setenv("JWT_AUDIENCE", "market-web")
    monkeypatch.setenv("JWT_ISSUER", "https://idp.example")
    monkeypatch.setenv("JWT_ROLES_CLAIM", "cognito:groups")
    settings.reload()
    yield key
    monkeypatch.undo()
    settings.reload()


def _rs256(key, kid="key-1", **claims):
    body = {"sub": "buyer-1", "aud": "market-web", "iss": "https://idp.example",
            "exp": datetime.now(timezone.utc) + timedelta(hours=1), **claims}
    return {"authorization": "Bearer " + jwt.encode(body, key, algorithm="RS256",
                                                    headers={"kid": kid})}


def test_an_rs256_token_from_the_jwks_names_the_caller_and_roles(idp):
    caller = auth.caller_from_headers(_rs256(idp, sub="op-1", **{"cognito:groups": ["operator"]}))
    assert caller.user_id == "op-1" and caller.is_operator


@pytest.mark.parametrize("claims", [{"aud": "another-app"}, {"iss": "https://evil.example"},
                                    {"exp": datetime.now(timezone.utc) - timedelta(minutes=1)}])
def test_rs256_tokens_for_another_audience_issuer_or_expired_are_refused(idp, claims):
    with pytest.raises(Unauthenticated):
        auth.caller_from_headers(_rs256(idp, **claims))


def test_a_key_not_in_the_jwks_is_refused(idp):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(Unauthenticated):
        auth.caller_from_headers(_rs256(stranger))
    with pytest.raises(Unauthenticated):
        auth.caller_from_headers(_rs256(stranger, kid="key-2"))


def test_with_a_jwks_an_hs256_token_is_refused_even_with_the_old_secret(idp):
    token = jwt.encode({"sub": "mallory", "exp": datetime.now(timezone.utc) + timedelta(hours=1),
                        "aud": "market-web", "iss": "https://idp.example"},
                       settings.LOCAL_DEFAULT_JWT_SECRET, algorithm="HS256",
                       headers={"kid": "key-1"})
    with pytest.raises(Unauthenticated):
        auth.caller_from_headers({"authorization": f"Bearer {token}"})
