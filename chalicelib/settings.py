"""Configuration read from the environment, with defaults that suit the local stack.

Everything tunable lives here so that `.chalice/config.json`, the dev server and the
tests all set the same variables.
"""
import os
from dataclasses import dataclass, field
from pathlib import Path

LOCAL_DEFAULT_JWT_SECRET = "local-dev-secret-do-not-deploy"
LOCAL_STAGES = {"local", "test"}
_ROOT = Path(__file__).resolve().parents[1]


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw not in (None, "") else default


@dataclass(frozen=True)
class Settings:
    stage: str
    table_prefix: str
    dynamodb_endpoint: str | None
    s3_endpoint: str | None
    region: str
    bucket: str
    public_base_url: str | None
    jwt_secret: str | None
    payment_window_seconds: int
    accept_window_seconds: int
    late_cancel_after_seconds: int
    review_window_seconds: int
    reminder_before_seconds: int
    idempotency_ttl_seconds: int
    sweep_budget_seconds: int
    sweep_page_size: int
    instruction_max_attempts: int
    max_body_bytes: int
    # Where a deployed stage finds its HS256 secret (chalicelib.secrets), or the JWKS
    # that verifies RS256 tokens instead (chalicelib.api.auth).
    jwt_secret_ssm_parameter: str | None = None
    jwt_secret_secret_arn: str | None = None
    jwt_jwks_url: str | None = None
    jwt_audience: str | None = None
    jwt_issuer: str | None = None
    jwt_roles_claim: str = "roles"
    # Notifications leaving the platform (services.delivery): the SES sender, and where
    # mail goes ("ses", or "outbox": .eml files under <local_data_dir>/mail/).
    mail_from: str | None = None
    mail_transport: str = "ses"
    local_data_dir: str = ".local/data"
    extra: dict = field(default_factory=dict)

    @property
    def is_local(self) -> bool:
        return self.stage in LOCAL_STAGES


def load() -> Settings:
    stage = os.environ.get("STAGE", "prod")
    day = 24 * 3600
    return Settings(
        stage=stage,
        table_prefix=os.environ.get("TABLE_PREFIX", f"market-{stage}-"),
        dynamodb_endpoint=os.environ.get("DYNAMODB_ENDPOINT") or None,
        s3_endpoint=os.environ.get("S3_ENDPOINT") or None,
        region=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
        bucket=os.environ.get("BUCKET_NAME", f"market-{stage}-files"),
        public_base_url=os.environ.get("PUBLIC_BASE_URL") or None,
        jwt_secret=os.environ.get("JWT_SECRET") or None,
        payment_window_seconds=_int("PAYMENT_WINDOW_SECONDS", 72 * 3600),
        accept_window_seconds=_int("ACCEPT_WINDOW_SECONDS", 7 * day),
        late_cancel_after_seconds=_int("LATE_CANCEL_AFTER_SECONDS", 15 * day),
        review_window_seconds=_int("REVIEW_WINDOW_SECONDS", 15 * day),
        reminder_before_seconds=_int("REMINDER_BEFORE_SECONDS", day),
        idempotency_ttl_seconds=_int("IDEMPOTENCY_TTL_SECONDS", day),
        sweep_budget_seconds=_int("SWEEP_BUDGET_SECONDS", 40),
        sweep_page_size=_int("SWEEP_PAGE_SIZE", 100),
        instruction_max_attempts=_int("INSTRUCTION_MAX_ATTEMPTS", 8),
        max_body_bytes=_int("MAX_BODY_BYTES", 256 * 1024),
        jwt_secret_ssm_parameter=os.environ.get("JWT_SECRET_SSM_PARAMETER") or None,
        jwt_secret_secret_arn=os.environ.get("JWT_SECRET_SECRET_ARN") or None,
        jwt_jwks_url=os.environ.get("JWT_JWKS_URL") or None,
        jwt_audience=os.environ.get("JWT_AUDIENCE") or None,
        jwt_issuer=os.environ.get("JWT_ISSUER") or None,
        jwt_roles_claim=os.environ.get("JWT_ROLES_CLAIM") or "roles",
        mail_from=os.environ.get("MAIL_FROM") or None,
        # Only the local stage defaults to the file outbox; any stage may choose either.
        mail_transport=(os.environ.get("MAIL_TRANSPORT")
                        or ("outbox" if stage == "local" else "ses")),
        local_data_dir=os.environ.get("LOCAL_DATA_DIR") or str(_ROOT / ".local" / "data"),
    )


_current: Settings | None = None


def get() -> Settings:
    global _current
    if _current is None:
        _current = load()
    return _current


def reload() -> Settings:
    """Re-read the environment (tests and the dev server change it)."""
    global _current
    _current = load()
    return _current


class ConfigurationError(RuntimeError):
    """The app cannot serve safely with this configuration."""


def assert_safe_to_serve(settings: Settings) -> None:
    """A deployed stage must have a real signing secret; refuse to serve otherwise."""
    if settings.is_local:
        return
    if settings.jwt_jwks_url:
        return
    # The secret itself is fetched on first use (chalicelib.secrets): a cold start must
    # not pay for a network call, but a stage that names no source at all is broken.
    if not settings.jwt_secret and not (settings.jwt_secret_ssm_parameter
                                        or settings.jwt_secret_secret_arn):
        raise ConfigurationError(
            f"stage {settings.stage!r}: no JWT secret (JWT_SECRET, JWT_SECRET_SSM_PARAMETER, "
            "JWT_SECRET_SECRET_ARN) and no JWT_JWKS_URL; refusing to serve"
        )
    if settings.jwt_secret == LOCAL_DEFAULT_JWT_SECRET:
        raise ConfigurationError(
            f"stage {settings.stage!r}: JWT_SECRET is the local default; refusing to serve"
        )
