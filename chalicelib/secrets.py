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


class CachedSecret:
    """A value fetched from a secret store on first use, then kept for the life of the
    container (a rotated secret reaches new containers). One lock, so a burst of first
    requests makes one call."""

    def __init__(self, load):
        self._load, self._lock, self._value = load, threading.Lock(), None

    def get(self, cfg):
        if self._value is None:
            with self._lock:
                if self._value is None:
                    self._value = self._load(cfg)
        return self._value

    def forget(self) -> None:
        """Drop the kept value (tests; a rotation that must apply at once)."""
        self._value = None


def read_secret_string(cfg, *, secret_arn: str | None, ssm_parameter: str | None) -> str | None:
    """The raw text of a Secrets Manager secret or an SSM SecureString (None: neither set)."""
    import boto3  # only deployed stages that read a secret pay for the client

    if secret_arn:
        client = boto3.client("secretsmanager", region_name=cfg.region)
        return client.get_secret_value(SecretId=secret_arn).get("SecretString")
    if ssm_parameter:
        client = boto3.client("ssm", region_name=cfg.region)
        return client.get_parameter(Name=ssm_parameter, WithDecryption=True)["Parameter"]["Value"]
    return None


def jwt_secret(cfg=None) -> str:
    """The stage's secret: it signs HS256 tokens (unless a JWKS verifies them) and the
    key of list cursors (chalicelib.api.pagination) in every mode."""
    cfg = cfg or settings_module.get()
    if cfg.jwt_secret:
        return cfg.jwt_secret
    if cfg.is_local:
        return settings_module.LOCAL_DEFAULT_JWT_SECRET
    return _jwt_secret.get(cfg)


def forget() -> None:
    """Drop the cached secret (tests; a rotated secret reaches new containers anyway)."""
    _jwt_secret.forget()


def _fetch(cfg) -> str:
    raw = read_secret_string(cfg, secret_arn=cfg.jwt_secret_secret_arn,
                             ssm_parameter=cfg.jwt_secret_ssm_parameter)
    if raw is None:
        raise settings_module.ConfigurationError(
            f"stage {cfg.stage!r}: no JWT secret source configured; refusing to serve")
    return _checked(_from_secret_string(raw) if cfg.jwt_secret_secret_arn else raw)


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


_jwt_secret = CachedSecret(_fetch)
