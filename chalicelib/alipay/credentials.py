"""The app's Alipay registration: app id, the app's private key, Alipay's public key and
the addresses Alipay calls back, from the environment (local stages, the stand-in) or,
in a deployed stage, from one Secrets Manager secret or SSM SecureString holding JSON:

    {"app_id": "2021…", "app_private_key": "MIIEv…", "alipay_public_key": "MIIBI…",
     "notify_url": "https://…/api/payments/alipay/notify",
     "return_url": "https://market.example.com/orders/paid",        (optional)
     "seller_id": "2088…",                                          (optional: checked)
     "app_cert_sn": "…", "alipay_root_cert_sn": "…"}                (certificate mode)

Keys may be PEM or the bare base64 Alipay's key tool prints. Certificate mode (公钥证书,
which alipay.fund.trans.uni.transfer requires) may give the certificates themselves
(`app_public_cert`, `alipay_public_cert`, `alipay_root_cert`) instead of serial numbers.
Fetched on first use and kept for the life of the container, like the JWT secret.
"""
import json
from dataclasses import dataclass

from chalicelib import secrets
from chalicelib import settings as settings_module
from chalicelib.alipay import protocol


@dataclass(frozen=True)
class Credentials:
    app_id: str
    app_private_key: str
    alipay_public_key: str
    notify_url: str | None = None
    return_url: str | None = None
    seller_id: str | None = None
    app_cert_sn: str | None = None
    alipay_root_cert_sn: str | None = None


def load(cfg=None) -> Credentials:
    """This stage's Alipay credentials (ConfigurationError when missing or unusable)."""
    cfg = cfg or settings_module.get()
    if cfg.alipay_app_id and cfg.alipay_app_private_key:
        return _checked(cfg, {"app_id": cfg.alipay_app_id,
                              "app_private_key": cfg.alipay_app_private_key,
                              "alipay_public_key": cfg.alipay_public_key,
                              "app_cert_sn": cfg.alipay_app_cert_sn,
                              "alipay_root_cert_sn": cfg.alipay_root_cert_sn})
    return _stored.get(cfg)


def forget() -> None:
    """Drop the cached credentials (tests; rotated keys reach new containers anyway)."""
    _stored.forget()


def _fetch(cfg) -> dict:
    raw = secrets.read_secret_string(cfg, secret_arn=cfg.alipay_secret_arn,
                                     ssm_parameter=cfg.alipay_ssm_parameter)
    if raw is None:
        raise settings_module.ConfigurationError(
            f"stage {cfg.stage!r}: no Alipay credentials (ALIPAY_APP_ID and "
            "ALIPAY_APP_PRIVATE_KEY, ALIPAY_SECRET_ARN or ALIPAY_SSM_PARAMETER)")
    try:
        data = json.loads(raw or "")
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise settings_module.ConfigurationError("the Alipay secret must be a JSON object")
    return data


def _checked(cfg, data: dict) -> Credentials:
    def text(name):
        value = data.get(name)
        return str(value).strip() if value not in (None, "") else None

    app_id = text("app_id")
    public = text("alipay_public_key") or text("alipay_public_cert")
    if not app_id or not text("app_private_key") or not public:
        raise settings_module.ConfigurationError(
            "the Alipay credentials need app_id, app_private_key and alipay_public_key")
    try:
        protocol.load_private_key(text("app_private_key"))
        protocol.load_public_key(public)
        app_cert_sn = text("app_cert_sn") or (
            protocol.cert_sn(text("app_public_cert")) if text("app_public_cert") else None)
        root_sn = text("alipay_root_cert_sn") or (
            protocol.root_cert_sn(text("alipay_root_cert")) if text("alipay_root_cert") else None)
    except (ValueError, TypeError) as error:
        raise settings_module.ConfigurationError(f"an Alipay key is unusable: {error}") from None
    notify_url = cfg.alipay_notify_url or text("notify_url")
    if not cfg.is_local and (not notify_url or not notify_url.startswith("https://")):
        raise settings_module.ConfigurationError(
            "a deployed stage needs an https notify_url in its Alipay credentials")
    return Credentials(app_id=app_id, app_private_key=text("app_private_key"),
                       alipay_public_key=public, notify_url=notify_url,
                       return_url=cfg.alipay_return_url or text("return_url"),
                       seller_id=text("seller_id"), app_cert_sn=app_cert_sn,
                       alipay_root_cert_sn=root_sn)


# Kept for the life of the container, like the JWT secret.
_stored = secrets.CachedSecret(lambda cfg: _checked(cfg, _fetch(cfg)))
