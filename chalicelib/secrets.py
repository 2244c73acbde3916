"""The HS256 signing secret of a deployed stage, from SSM Parameter Store or Secrets
Manager, fetched on first use and then kept for the life of the container.

Fetching lazily keeps the network call out of the cold start of routes that never read a
token (GET /health, the public catalog). A source that answers nothing usable is a
configuration error: the app refuses to serve rather than accept tokens it cannot check.
"""
import json
import threading

from chalicelib import settings as settings_module

MIN_SECRET_LENGTH = settings_module.MIN_SECRET_BYTES

_lock = threading.Lock()
_cached: str | None = None


def jwt_secret(cfg=None) -> str:
    """The stage's secret: it signs HS256 tokens (unless a JWKS verifies them) and the
    key of list cursors (chalicelib.api.pagination) in every mode."""
    cfg = cfg or settings_module.get()
    if cfg.jwt_secret:
        return cfg.jwt_secret
    if cfg.is_local:
        return settings_module.LOCAL_DEFAULT_JWT_SECRET
    global _cached
    if _cached is None:
        with _lock:
            if _cached is None:
                _cached = _checked(_fetch(cfg))
    return _cached


def forget() -> None:
    """Drop the cached secret (tests; a rotated secret reaches new containers anyway)."""
    global _cached
    _cached = None


def _fetch(cfg) -> str:
    import boto3  # only deployed stages that read a secret pay for the client

    if cfg.jwt_secret_secret_arn:
        client = boto3.client("secretsmanager", region_name=cfg.region)
        raw = client.get_secret_value(SecretId=cfg.jwt_secret_secret_arn).get("SecretString")
        return _from_secret_string(raw)
    if cfg.jwt_secret_ssm_parameter:
        client = boto3.client("ssm", region_name=cfg.region)
        answer = client.get_parameter(Name=cfg.jwt_secret_ssm_parameter, WithDecryption=True)
        return answer["Parameter"]["Value"]
    raise settings_module.ConfigurationError(
        f"stage {cfg.stage!r}: no JWT secret source configured; refusing to serve")


def _from_secret_string(raw: str | None) -> str:
    # Secrets Manager's console stores key/value pairs as a JSON object.
    try:
        data = json.loads(raw or "")
    except ValueError:
        return raw or ""
    if isinstance(data, dict):
        return str(data.get("jwt_secret") or "")
    return raw or ""


def _checked(secret: str) -> str:
    too_short = len(secret.encode("utf-8")) < MIN_SECRET_LENGTH
    if too_short or secret == settings_module.LOCAL_DEFAULT_JWT_SECRET:
        raise settings_module.ConfigurationError(
            f"the JWT secret must be at least {MIN_SECRET_LENGTH} bytes and not the "
            "local default; refusing to serve")
    return secret
