"""The stand-in's registration on disk: its own key pair (Alipay's side) and, as if the
merchant had registered an app with it, the app's key pair and app id."""
import json
import random
from dataclasses import asdict, dataclass
from pathlib import Path

from chalicelib.alipay import protocol


# --- the registration: keys and ids, made once per data directory ------------------------
@dataclass(frozen=True)
class Registration:
    app_id: str
    seller_id: str
    app_private_key: str
    app_public_key: str
    alipay_private_key: str
    alipay_public_key: str


def ensure_registration(data_dir: Path) -> Registration:
    """The stand-in's key pair and the registered app's, made on first use."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "registration.json"
    if path.exists():
        return Registration(**json.loads(path.read_text(encoding="utf-8")))
    app_private, app_public = protocol.new_key_pair()
    alipay_private, alipay_public = protocol.new_key_pair()
    registration = Registration(
        app_id="9021" + "".join(random.choices("0123456789", k=12)),
        seller_id="2088" + "".join(random.choices("0123456789", k=12)),
        app_private_key=app_private, app_public_key=app_public,
        alipay_private_key=alipay_private, alipay_public_key=alipay_public)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(registration), indent=1), encoding="utf-8")
    tmp.chmod(0o600)
    tmp.replace(path)
    return registration


def app_environment(registration: Registration, gateway_url: str, notify_url: str,
                    return_url: str | None = None) -> dict[str, str]:
    """The variables that point the app at this stand-in (chalicelib.settings)."""
    env = {"PAYMENT_GATEWAY": "alipay", "ALIPAY_GATEWAY_URL": gateway_url,
           "ALIPAY_APP_ID": registration.app_id,
           "ALIPAY_APP_PRIVATE_KEY": registration.app_private_key,
           "ALIPAY_PUBLIC_KEY": registration.alipay_public_key, "ALIPAY_NOTIFY_URL": notify_url}
    if return_url:
        env["ALIPAY_RETURN_URL"] = return_url
    return env
