"""Configuration read from the environment, with defaults that suit the local stack.

Everything tunable lives here so that `.chalice/config.json`, the dev server and the
tests all set the same variables.
"""
import os
from dataclasses import dataclass, field
from pathlib import Path

LOCAL_DEFAULT_JWT_SECRET = "local-dev-secret-do-not-deploy"
# Stages that may sign with the default secret above; only `local` also serves /_local/*.
LOCAL_STAGES = {"local", "test"}
LOCAL_ROUTES_STAGE = "local"
# Shorter HS256 secrets can be brute-forced from one captured token.
MIN_SECRET_BYTES = 32
ALIPAY_GATEWAY_URL = "https://openapi.alipay.com/gateway.do"
# Gateways a deployed stage must never run on: they make money up (the sandbox).
FAKE_GATEWAYS = {"sandbox"}
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
    auto_approve_seconds: int
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
    # Origins whose browsers may call the API (CORS); "*" for any. The local stage allows
    # any origin whatever this says.
    cors_allowed_origins: tuple[str, ...] = ()
    # Where logos are served from (a CloudFront distribution deployed); unset: straight
    # from the bucket's endpoint (moto's S3 server locally).
    logo_base_url: str | None = None
    # Basis points of every release that go to the platform's revenue account.
    platform_fee_bps: int = 0
    # Money in and out (chalicelib.payments, chalicelib.alipay).
    payment_gateway: str | None = None
    payment_check_after_seconds: int = 300
    alipay_gateway_url: str = ALIPAY_GATEWAY_URL
    alipay_app_id: str | None = None
    alipay_app_private_key: str | None = None
    alipay_public_key: str | None = None
    alipay_notify_url: str | None = None
    alipay_return_url: str | None = None
    alipay_app_cert_sn: str | None = None
    alipay_root_cert_sn: str | None = None
    alipay_secret_arn: str | None = None
    alipay_ssm_parameter: str | None = None
    # Notifications leaving the platform (services.outbox): the SES sender, and where
    # mail goes ("ses", or "outbox": .eml files under <local_data_dir>/mail/).
    mail_from: str | None = None
    mail_transport: str = "ses"
    local_data_dir: str = ".local/data"
    # Issue 21's lows: a bearer token lives at most this long (exp - iat; without iat,
    # exp - now); messages' attachments per order; an e-mail confirmation link's life.
    jwt_max_lifetime_seconds: int = 24 * 3600
    max_attachments: int = 50
    email_verify_seconds: int = 24 * 3600
    # Trust (issue 25): the buyer's 追评 is accepted up to this long after completion.
    follow_up_window_seconds: int = 180 * 24 * 3600
    # After-sale (issue 24): a buyer's refund request unanswered this long is granted by
    # the sweep (退款超时); any other open proposal lapses after PROPOSAL_TTL_SECONDS.
    refund_answer_seconds: int = 48 * 3600
    proposal_ttl_seconds: int = 72 * 3600
    # The dispute queue: the evidence window after a dispute opens, and the age past which
    # an open dispute is flagged overdue.
    evidence_seconds: int = 72 * 3600
    dispute_sla_seconds: int = 5 * 24 * 3600
    # Contracts (包月合同): a statement's deadlines, in days of 24 h.
    statement_submit_days: int = 5
    confirm_days: int = 7
    pay_days: int = 7
    # Money seams (issue 21): the largest share of an order its deposit (on_accept) steps
    # may take, how long a payment stays open at the gateway, and how many unpaid orders
    # one buyer may hold open at once.
    deposit_max_bps: int = 3000
    payment_timeout_seconds: int = 900
    max_unpaid_orders: int = 5
    # Write-sharded due work (issue 29, storage.shards): the sparse "due" indexes and the
    # stuck table spread each kind over this many partition keys, and readers also read
    # the layout being retired (1: the single constant key written before sharding).
    due_shards: int = 16
    due_shards_previous: int = 1
    extra: dict = field(default_factory=dict)

    @property
    def is_local(self) -> bool:
        return self.stage in LOCAL_STAGES

    @property
    def serves_local_routes(self) -> bool:
        """/_local/token mints operator tokens: only the local stage has it."""
        return self.stage == LOCAL_ROUTES_STAGE


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
        auto_approve_seconds=_int("AUTO_APPROVE_SECONDS", 7 * day),
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
        cors_allowed_origins=_origins(os.environ.get("CORS_ALLOWED_ORIGINS", "")),
        logo_base_url=os.environ.get("LOGO_BASE_URL") or None,
        platform_fee_bps=_fee_bps(),
        payment_gateway=os.environ.get("PAYMENT_GATEWAY") or None,
        payment_check_after_seconds=_int("PAYMENT_CHECK_AFTER_SECONDS", 300),
        alipay_gateway_url=os.environ.get("ALIPAY_GATEWAY_URL") or ALIPAY_GATEWAY_URL,
        **{name: os.environ.get(name.upper()) or None for name in (
            "alipay_app_id", "alipay_app_private_key", "alipay_public_key",
            "alipay_notify_url", "alipay_return_url", "alipay_app_cert_sn",
            "alipay_root_cert_sn", "alipay_secret_arn", "alipay_ssm_parameter")},
        mail_from=os.environ.get("MAIL_FROM") or None,
        # Only the local stage defaults to the file outbox; any stage may choose either.
        mail_transport=(os.environ.get("MAIL_TRANSPORT")
                        or ("outbox" if stage == "local" else "ses")),
        local_data_dir=os.environ.get("LOCAL_DATA_DIR") or str(_ROOT / ".local" / "data"),
        jwt_max_lifetime_seconds=_int("JWT_MAX_LIFETIME_SECONDS", day),
        max_attachments=_int("MAX_ATTACHMENTS", 50),
        email_verify_seconds=_int("EMAIL_VERIFY_SECONDS", day),
        follow_up_window_seconds=_int("FOLLOW_UP_WINDOW_SECONDS", 180 * day),
        refund_answer_seconds=_int("REFUND_ANSWER_SECONDS", 2 * day),
        proposal_ttl_seconds=_int("PROPOSAL_TTL_SECONDS", 3 * day),
        evidence_seconds=_int("EVIDENCE_SECONDS", 3 * day),
        dispute_sla_seconds=_int("DISPUTE_SLA_SECONDS", 5 * day),
        statement_submit_days=_int("STATEMENT_SUBMIT_DAYS", 5),
        confirm_days=_int("CONFIRM_DAYS", 7),
        pay_days=_int("PAY_DAYS", 7),
        deposit_max_bps=_int("DEPOSIT_MAX_BPS", 3000),
        payment_timeout_seconds=_int("PAYMENT_TIMEOUT_SECONDS", 900),
        max_unpaid_orders=_int("MAX_UNPAID_ORDERS", 5),
        due_shards=_shard_count("DUE_SHARDS", 16),
        due_shards_previous=_shard_count("DUE_SHARDS_PREVIOUS", 1),
    )


def _origins(raw: str) -> tuple[str, ...]:
    return tuple(o.strip().rstrip("/") for o in raw.split(",") if o.strip())


# Each sweep page reads every shard: more than this many queries per page would cost more
# than the partitions they spread.
MAX_DUE_SHARDS = 64


def _shard_count(name: str, default: int) -> int:
    # Zero or a typo would hide every due item from the sweeps: refuse to start instead.
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    if not raw.strip().isdigit() or not 1 <= int(raw) <= MAX_DUE_SHARDS:
        raise ConfigurationError(f"{name} must be 1..{MAX_DUE_SHARDS}, not {raw!r}")
    return int(raw)


def _fee_bps() -> int:
    # A typo here would take money from every release: refuse to start instead.
    raw = os.environ.get("PLATFORM_FEE_BPS")
    if raw in (None, ""):
        return 0
    if not raw.strip().isdigit() or not 0 <= int(raw) <= 10000:
        raise ConfigurationError(f"PLATFORM_FEE_BPS must be 0..10000 basis points, not {raw!r}")
    return int(raw)


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


def payment_gateway_name(settings: Settings) -> str:
    """The gateway to use; local stages default to the sandbox, deployed ones to none."""
    if settings.payment_gateway:
        return settings.payment_gateway
    if settings.is_local:
        return "sandbox"
    raise ConfigurationError(
        f"stage {settings.stage!r}: PAYMENT_GATEWAY is not set; refusing to take payments")


def assert_safe_to_serve(settings: Settings, in_lambda: bool = False) -> None:
    """A deployed stage must have a real signing secret (it signs HS256 tokens, and list
    cursors in every mode), a real payment gateway and, with a JWKS, know whose tokens to
    accept; refuse to serve otherwise. A Lambda function never runs a local stage (its
    secret is public)."""
    if settings.is_local:
        if in_lambda:
            raise ConfigurationError(
                f"stage {settings.stage!r} is for local runs and tests only (a public default "
                "secret); refusing to serve in Lambda")
        return
    assert_real_payments(settings)
    if settings.jwt_jwks_url:
        if not settings.jwt_jwks_url.startswith("https://"):
            raise ConfigurationError(
                f"stage {settings.stage!r}: JWT_JWKS_URL must be an https URL; refusing to serve")
        if not (settings.jwt_issuer and settings.jwt_audience):
            # Without both, a token the identity provider signed for any other app (or
            # another provider's pool) would be accepted.
            raise ConfigurationError(
                f"stage {settings.stage!r}: JWT_JWKS_URL needs JWT_ISSUER and JWT_AUDIENCE; "
                "refusing to serve")
    # The secret itself is fetched on first use (chalicelib.secrets): a cold start must
    # not pay for a network call, but a stage that names no source at all is broken.
    if not settings.jwt_secret and not (settings.jwt_secret_ssm_parameter
                                        or settings.jwt_secret_secret_arn):
        raise ConfigurationError(
            f"stage {settings.stage!r}: no JWT secret (JWT_SECRET, JWT_SECRET_SSM_PARAMETER or "
            "JWT_SECRET_SECRET_ARN; cursors need one with JWT_JWKS_URL too); refusing to serve"
        )
    if settings.jwt_secret == LOCAL_DEFAULT_JWT_SECRET:
        raise ConfigurationError(
            f"stage {settings.stage!r}: JWT_SECRET is the local default; refusing to serve"
        )
    if settings.jwt_secret and len(settings.jwt_secret.encode("utf-8")) < MIN_SECRET_BYTES:
        raise ConfigurationError(
            f"stage {settings.stage!r}: JWT_SECRET is shorter than {MIN_SECRET_BYTES} bytes; "
            "refusing to serve")


def assert_real_payments(settings: Settings) -> None:
    """A deployed stage takes real money or none: never the sandbox (it makes money up)
    and never a gateway URL that is not a public https address (the local stand-in)."""
    if settings.is_local:
        return
    name = settings.payment_gateway
    if not name or name in FAKE_GATEWAYS:
        raise ConfigurationError(
            f"stage {settings.stage!r}: PAYMENT_GATEWAY is {name or 'unset'}; a deployed "
            "stage needs a real gateway (alipay); refusing to serve")
    if name == "alipay":
        problem = _not_public_https(settings.alipay_gateway_url)
        if problem:
            raise ConfigurationError(
                f"stage {settings.stage!r}: ALIPAY_GATEWAY_URL {problem} (the local stand-in?); "
                "refusing to serve")
        if not (settings.alipay_secret_arn or settings.alipay_ssm_parameter
                or (settings.alipay_app_id and settings.alipay_app_private_key)):
            raise ConfigurationError(
                f"stage {settings.stage!r}: no Alipay credentials (ALIPAY_SECRET_ARN, "
                "ALIPAY_SSM_PARAMETER); refusing to serve")


def _not_public_https(url: str | None) -> str | None:
    """Why `url` is not a public https address (None when it is)."""
    import ipaddress
    from urllib.parse import urlsplit

    parts = urlsplit(url or "")
    if parts.scheme != "https" or not parts.hostname:
        return f"{url!r} is not an https URL"
    host = parts.hostname.lower()
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        return f"{url!r} points at this machine"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if not address.is_global:
        return f"{url!r} points at a private address"
    return None
