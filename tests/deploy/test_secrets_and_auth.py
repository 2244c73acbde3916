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
from chalicelib.api import auth, jwks
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
    settings.assert_safe_to_serve(_cfg(jwt_jwks_url="https://idp.example/jwks.json",
                                       jwt_issuer="https://idp.example",
                                       jwt_audience="market-web",
                                       jwt_secret_ssm_parameter="/market-prod/jwt-secret"))


@pytest.mark.parametrize("missing", ["jwt_issuer", "jwt_audience"])
def test_a_jwks_stage_without_issuer_or_audience_refuses_to_serve(missing):
    """Without both, a token the identity provider signed for any other app would do."""
    cfg = {"jwt_jwks_url": "https://idp.example/jwks.json", "jwt_issuer": "https://idp.example",
           "jwt_audience": "market-web", "jwt_secret_ssm_parameter": "/market-prod/jwt-secret",
           missing: None}
    with pytest.raises(settings.ConfigurationError, match="refusing to serve"):
        settings.assert_safe_to_serve(_cfg(**cfg))


def test_a_jwks_url_that_is_not_https_refuses_to_serve():
    with pytest.raises(settings.ConfigurationError, match="refusing to serve"):
        settings.assert_safe_to_serve(_cfg(jwt_jwks_url="http://idp.example/jwks.json",
                                           jwt_issuer="https://idp.example",
                                           jwt_audience="market-web",
                                           jwt_secret_ssm_parameter="/market-prod/jwt-secret"))


# --- RS256 against a JWKS ----------------------------------------------------
@pytest.fixture
def idp(tmp_path, monkeypatch):
    """A local identity provider: an RSA key and its JWKS served from a file URL."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    document = tmp_path / "jwks.json"
    document.write_text(json.dumps({"keys": [{**public, "kid": "key-1", "use": "sig",
                                              "alg": "RS256"}]}))
    monkeypatch.setenv("JWT_JWKS_URL", document.as_uri())
    monkeypatch.setenv("JWT_AUDIENCE", "market-web")
    monkeypatch.setenv("JWT_ISSUER", "https://idp.example")
    monkeypatch.setenv("JWT_ROLES_CLAIM", "cognito:groups")
    settings.reload()
    yield key
    monkeypatch.undo()
    settings.reload()
    jwks.forget()


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


@pytest.mark.parametrize("claim", ["aud", "iss"])
def test_rs256_tokens_without_audience_or_issuer_are_refused(idp, claim):
    token = _rs256(idp)
    claims = jwt.decode(token["authorization"][7:], options={"verify_signature": False})
    del claims[claim]
    with pytest.raises(Unauthenticated):
        auth.caller_from_headers({"authorization": "Bearer " + jwt.encode(
            claims, idp, algorithm="RS256", headers={"kid": "key-1"})})


def test_jwks_mode_without_issuer_and_audience_never_accepts_a_token(idp, monkeypatch):
    monkeypatch.delenv("JWT_AUDIENCE")
    settings.reload()
    with pytest.raises(settings.ConfigurationError):
        auth.caller_from_headers(_rs256(idp))


@pytest.fixture
def fetches(monkeypatch):
    """Every read of a URL (the JWKS), counted."""
    import urllib.request

    seen = []
    real = urllib.request.urlopen

    def counting(url, *args, **kwargs):
        seen.append(getattr(url, "full_url", url))
        return real(url, *args, **kwargs)

    monkeypatch.setattr(urllib.request, "urlopen", counting)
    return seen


def test_tokens_with_made_up_kids_refetch_the_jwks_at_most_once_a_minute(idp, fetches):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert auth.caller_from_headers(_rs256(idp)).user_id == "buyer-1"
    for n in range(30):
        with pytest.raises(Unauthenticated):
            auth.caller_from_headers(_rs256(stranger, kid=f"made-up-{n}"))
    assert len(fetches) <= 2, fetches  # the first token, then one look for a rotated key


def test_a_rotated_key_is_found_by_one_refetch(idp, tmp_path):
    assert auth.caller_from_headers(_rs256(idp)).user_id == "buyer-1"
    rotated = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rotated.public_key()))
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [{**public, "kid": "key-2"}]}))
    assert auth.caller_from_headers(_rs256(rotated, kid="key-2")).user_id == "buyer-1"


class _Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_known_keys_outlive_a_failed_refresh_and_failures_are_retried_sparingly(
        idp, tmp_path, fetches):
    clock = _Clock()
    keys = jwks.KeySet((tmp_path / "jwks.json").as_uri(), clock=clock)
    assert keys.key("key-1") is not None
    (tmp_path / "jwks.json").write_text("<html>502 Bad Gateway</html>")
    clock.now += jwks.CACHE_SECONDS + 1
    assert keys.key("key-1") is not None  # stale but known: still verifies
    assert keys.key("key-1") is not None
    assert len(fetches) == 2  # the refresh failed once and waits RETRY_SECONDS to retry
    clock.now += jwks.RETRY_SECONDS
    keys.key("key-1")
    assert len(fetches) == 3


@pytest.fixture
def broken_idp(idp, tmp_path, monkeypatch, moto_aws):
    from chalice.test import Client

    import app as app_module
    from tests.support import ApiClient

    with Client(app_module.app, stage_name="local") as client:
        yield ApiClient(client)


@pytest.mark.parametrize("answer", ["<html>502 Bad Gateway</html>", None, '{"keys": []}'])
def test_a_jwks_that_is_not_a_key_set_or_unreachable_is_503_in_the_error_shape(
        idp, broken_idp, tmp_path, answer):
    path = tmp_path / "jwks.json"
    if answer is None:
        path.unlink()
    else:
        path.write_text(answer)
    headers = {k.title(): v for k, v in _rs256(idp).items()}
    reply = broken_idp.get("/providers/me", headers=headers)
    assert reply.status == 503, reply
    assert reply.error_code == "SERVICE_UNAVAILABLE"
    assert set(reply.json["error"]) == {"code", "message", "details"}
    assert int(reply.headers["retry-after"]) >= 1
    # A public route answers as to an anonymous caller.
    assert broken_idp.get("/health", headers=headers).status == 200


# --- cursors ------------------------------------------------------------------
def _cursor_signed_with(secret: str, start_key, scope: str = "") -> str:
    import base64
    import hashlib
    import hmac

    key = hashlib.sha256(b"cursor:" + secret.encode()).digest()
    raw = json.dumps({"k": start_key, "s": scope}, separators=(",", ":"), sort_keys=True).encode()
    sig = hmac.new(key, raw, hashlib.sha256).digest()[:12]
    return base64.urlsafe_b64encode(sig + raw).decode().rstrip("=")


def test_deployed_cursors_are_signed_with_the_stages_secret_not_the_public_default(
        fresh, monkeypatch):
    from chalicelib.api import pagination
    from chalicelib.domain.errors import InvalidRequest

    boto3.client("ssm", region_name="us-east-1").put_parameter(
        Name="/market-prod/jwt-secret", Value=STRONG, Type="SecureString")
    monkeypatch.setattr(settings, "_current",
                        _cfg(jwt_secret_ssm_parameter="/market-prod/jwt-secret"))
    start = {"term": {"S": "ALL"}, "sort_newest": {"S": "20261122#svc_1"}}
    mine = pagination.encode_cursor(start, "market")
    assert pagination.decode_cursor(mine, "market") == start
    assert mine != _cursor_signed_with(settings.LOCAL_DEFAULT_JWT_SECRET, start, "market")
    assert mine == _cursor_signed_with(STRONG, start, "market")
    with pytest.raises(InvalidRequest):  # anyone can compute this one
        pagination.decode_cursor(
            _cursor_signed_with(settings.LOCAL_DEFAULT_JWT_SECRET, start, "market"), "market")


def test_a_jwks_stage_still_needs_a_secret_for_its_cursors():
    with pytest.raises(settings.ConfigurationError, match="refusing to serve"):
        settings.assert_safe_to_serve(_cfg(jwt_jwks_url="https://idp.example/jwks.json",
                                           jwt_issuer="https://idp.example",
                                           jwt_audience="market-web"))
