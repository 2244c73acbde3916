"""Alipay's open-platform wire protocol, pure: RSA2 signatures over the canonical
parameter string, signed requests, verified notifications and answers, amounts in yuan.

The rules (Alipay's "自行实现签名" and "异步通知验签" documents):
- the string to sign is every parameter except `sign` (and, when verifying a
  notification, `sign_type`) whose value is not empty, sorted by name (byte order),
  joined as `name=value` with `&`, values raw — not URL-encoded;
- RSA2 is SHA256withRSA (PKCS#1 v1.5) with a 2048-bit key; the signature travels base64;
- an API answer is `{"<method with _>_response": {...}, "sign": "..."}` and the signature
  covers the exact text of the `..._response` value as sent, so it is cut out of the
  answer, never re-serialised;
- amounts are yuan with two decimals ("499.00"); times are Beijing time.

Crypto is the `cryptography` package; nothing here is hand-made. Both the app's
adapter and the local stand-in use this module, so tests/unit/test_alipay_protocol.py
checks it against an independent implementation (python-alipay-sdk).
"""
import base64
import hashlib
import html
import json
import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Mapping

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

SIGN_TYPE = "RSA2"
CHARSET = "utf-8"
VERSION = "1.0"
BEIJING = timezone(timedelta(hours=8))
SUCCESS_CODE = "10000"
# What Alipay's notify_url must answer, as the whole plain-text body, to stop repeats.
NOTIFY_ACK = "success"

# trade_status values (alipay.trade.query and trade_status_sync notifications)
WAIT_BUYER_PAY, TRADE_SUCCESS = "WAIT_BUYER_PAY", "TRADE_SUCCESS"
TRADE_FINISHED, TRADE_CLOSED = "TRADE_FINISHED", "TRADE_CLOSED"
PAID_STATUSES = (TRADE_SUCCESS, TRADE_FINISHED)

MAX_AMOUNT_FEN = 100_000_000 * 100  # Alipay's ceiling: 100,000,000.00 yuan


class ProtocolError(ValueError):
    """A message that does not follow the protocol (unparseable, unsigned, malformed)."""


# --- keys -------------------------------------------------------------------
def _pem_body(text: str) -> bytes:
    return base64.b64decode(re.sub(r"\s+", "", text))


def load_private_key(text: str) -> rsa.RSAPrivateKey:
    """The app's private key: PEM, or the bare base64 (PKCS#8 or PKCS#1) that Alipay's
    key tool prints."""
    text = (text or "").strip()
    if not text:
        raise ProtocolError("no private key")
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_private_key(text.encode(), password=None)
    else:
        key = serialization.load_der_private_key(_pem_body(text), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ProtocolError("the private key is not an RSA key")
    return key


def load_public_key(text: str) -> rsa.RSAPublicKey:
    """Alipay's public key: PEM, bare base64 (as the console shows it), or the public
    key certificate (alipayCertPublicKey_RSA2.crt) of certificate mode."""
    text = (text or "").strip()
    if not text:
        raise ProtocolError("no public key")
    if "BEGIN CERTIFICATE" in text:
        key = x509.load_pem_x509_certificate(first_certificate(text).encode()).public_key()
    elif text.startswith("-----BEGIN"):
        key = serialization.load_pem_public_key(text.encode())
    else:
        key = serialization.load_der_public_key(_pem_body(text))
    if not isinstance(key, rsa.RSAPublicKey):
        raise ProtocolError("the public key is not an RSA key")
    return key


def new_key_pair(bits: int = 2048) -> tuple[str, str]:
    """(private PKCS#8 PEM, public SPKI PEM): what Alipay's key tool makes."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


# --- certificate mode (公钥证书): the serial numbers every request carries -----------
_CERT_RE = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)
_RSA_SIGNATURES = {"1.2.840.113549.1.1.2", "1.2.840.113549.1.1.4", "1.2.840.113549.1.1.5",
                   "1.2.840.113549.1.1.11", "1.2.840.113549.1.1.12", "1.2.840.113549.1.1.13",
                   "1.2.840.113549.1.1.1"}


def first_certificate(text: str) -> str:
    found = _CERT_RE.search(text or "")
    if not found:
        raise ProtocolError("no PEM certificate")
    return found.group(0)


def _issuer_sn(cert: x509.Certificate) -> str:
    def part(oid):
        values = cert.issuer.get_attributes_for_oid(oid)
        return values[0].value if values else None

    name = "CN={},OU={},O={},C={}".format(
        part(x509.NameOID.COMMON_NAME), part(x509.NameOID.ORGANIZATIONAL_UNIT_NAME),
        part(x509.NameOID.ORGANIZATION_NAME), part(x509.NameOID.COUNTRY_NAME))
    return hashlib.md5((name + str(cert.serial_number)).encode()).hexdigest()


def cert_sn(pem: str) -> str:
    """app_cert_sn: MD5 of the issuer (CN,OU,O,C) and the serial number of the app's
    public key certificate."""
    return _issuer_sn(x509.load_pem_x509_certificate(first_certificate(pem).encode()))


def root_cert_sn(pem_chain: str) -> str:
    """alipay_root_cert_sn: the serial numbers of the RSA certificates of Alipay's root
    chain, joined by `_` (the chain also holds an SM2 certificate, which is skipped)."""
    out = []
    for block in _CERT_RE.findall(pem_chain or ""):
        cert = x509.load_pem_x509_certificate(block.encode())
        if cert.signature_algorithm_oid.dotted_string in _RSA_SIGNATURES:
            out.append(_issuer_sn(cert))
    if not out:
        raise ProtocolError("no RSA certificate in the root chain")
    return "_".join(out)


# --- signing ----------------------------------------------------------------
def canonical(params: Mapping[str, object], *, exclude: tuple[str, ...] = ("sign",)) -> str:
    """The string Alipay signs: non-empty parameters but `exclude`, sorted, raw values."""
    items = sorted((k, str(v)) for k, v in params.items()
                   if k not in exclude and v is not None and str(v) != "")
    return "&".join(f"{k}={v}" for k, v in items)


def sign_text(text: str, key: rsa.RSAPrivateKey) -> str:
    return base64.b64encode(key.sign(text.encode(CHARSET), padding.PKCS1v15(),
                                     hashes.SHA256())).decode()


def verify_text(text: str, signature: str, key: rsa.RSAPublicKey) -> bool:
    """Whether `signature` (base64) is Alipay's RSA2 signature of `text`."""
    try:
        raw = base64.b64decode(signature or "", validate=False)
        key.verify(raw, text.encode(CHARSET), padding.PKCS1v15(), hashes.SHA256())
        return True
    except (InvalidSignature, ValueError, TypeError):
        return False


def sign_params(params: Mapping[str, object], key: rsa.RSAPrivateKey) -> str:
    return sign_text(canonical(params), key)


# JSON-valued members of a notification that reach some receivers HTML-escaped
# (`[{&quot;amount&quot;:…`) while Alipay signed them plain.
_ESCAPED_MEMBERS = ("fund_bill_list", "voucher_detail_list")


def verify_notification(params: Mapping[str, str], key: rsa.RSAPublicKey) -> bool:
    """A notification (or a return_url redirect) is signed over everything but `sign`
    and `sign_type`; only RSA2 is accepted. Checked as received, then with the JSON
    members unescaped: either way only Alipay's signature over the content passes."""
    if params.get("sign_type", SIGN_TYPE) != SIGN_TYPE or not params.get("sign"):
        return False
    if verify_text(canonical(params, exclude=("sign", "sign_type")), params["sign"], key):
        return True
    if not any("&quot;" in str(params.get(name) or "") for name in _ESCAPED_MEMBERS):
        return False
    plain = {k: html.unescape(v) if k in _ESCAPED_MEMBERS and v else v for k, v in params.items()}
    return verify_text(canonical(plain, exclude=("sign", "sign_type")), params["sign"], key)


def biz_json(biz: Mapping[str, object]) -> str:
    """biz_content as Alipay's SDKs send it: compact JSON, Chinese as is."""
    return json.dumps(biz, ensure_ascii=False, separators=(",", ":"))


def request_params(method: str, biz: Mapping[str, object], *, app_id: str,
                   key: rsa.RSAPrivateKey, timestamp: datetime,
                   extra: Mapping[str, str | None] | None = None) -> dict[str, str]:
    """Every parameter of one signed API request (`sign` included), ready to be posted
    as a form or put in a URL's query."""
    params = {"app_id": app_id, "method": method, "format": "JSON", "charset": CHARSET,
              "sign_type": SIGN_TYPE, "timestamp": beijing_time(timestamp),
              "version": VERSION, "biz_content": biz_json(biz)}
    params.update({k: v for k, v in (extra or {}).items() if v})
    params["sign"] = sign_params(params, key)
    return params


def verify_request(params: Mapping[str, str], key: rsa.RSAPublicKey) -> bool:
    """What Alipay's gateway checks (the stand-in does too): the app's signature over
    every parameter but `sign`."""
    if params.get("sign_type") != SIGN_TYPE or not params.get("sign"):
        return False
    return verify_text(canonical(params), params["sign"], key)


# --- answers ----------------------------------------------------------------
def response_key(method: str) -> str:
    return method.replace(".", "_") + "_response"


def signed_answer(method: str, payload: Mapping[str, object], key: rsa.RSAPrivateKey) -> str:
    """An API answer as Alipay sends it (the stand-in's side)."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return '{"%s":%s,"sign":"%s"}' % (response_key(method), body, sign_text(body, key))


def read_answer(text: str, method: str, key: rsa.RSAPublicKey) -> dict:
    """The `..._response` object of an API answer, only if Alipay's signature over its
    exact text verifies. An answer without a signature (Alipay sends some error answers
    unsigned) or with a wrong one is a ProtocolError: never proof of anything."""
    try:
        envelope = json.loads(text)
    except ValueError:
        raise ProtocolError("the answer is not JSON") from None
    if not isinstance(envelope, dict):
        raise ProtocolError("the answer is not a JSON object")
    name = response_key(method) if response_key(method) in envelope else "error_response"
    if name not in envelope:
        raise ProtocolError(f"the answer has no {response_key(method)}")
    signature = envelope.get("sign")
    if not signature:
        raise ProtocolError(f"unsigned answer: {text[:300]}")
    signed = _raw_member(text, name)
    if signed is None or not verify_text(signed, signature, key):
        raise ProtocolError("the answer's signature does not verify")
    payload = json.loads(signed)
    if not isinstance(payload, dict):
        raise ProtocolError("the answer's payload is not an object")
    return payload


def _raw_member(text: str, name: str) -> str | None:
    """The exact source text of the top-level member `name` of a JSON object, found by
    walking the object's members with the JSON decoder (never by searching the text)."""
    decoder = json.JSONDecoder()
    space = re.compile(r"\s*")
    pos = space.match(text, 0).end()
    if text[pos:pos + 1] != "{":
        return None
    pos += 1
    try:
        while True:
            pos = space.match(text, pos).end()
            if text[pos:pos + 1] == "}":
                return None
            key, pos = decoder.raw_decode(text, pos)
            pos = space.match(text, pos).end()
            if text[pos:pos + 1] != ":":
                return None
            start = space.match(text, pos + 1).end()
            _, end = decoder.raw_decode(text, start)
            if key == name:
                return text[start:end]
            pos = space.match(text, end).end()
            if text[pos:pos + 1] != ",":
                return None
            pos += 1
    except ValueError:
        return None


# --- amounts and times ------------------------------------------------------
def yuan(fen: int) -> str:
    """12345 fen → "123.45"."""
    if not isinstance(fen, int) or fen < 0:
        raise ValueError("an amount is a non-negative number of fen")
    return f"{fen // 100}.{fen % 100:02d}"


_AMOUNT = re.compile(r"^[0-9]{1,9}(\.[0-9]{1,2})?$")


def fen(text: str) -> int:
    """"123.45" → 12345; anything that is not a plain amount with at most two decimals
    is a ProtocolError (a notification is never rounded into agreement)."""
    if not isinstance(text, str) or not _AMOUNT.match(text.strip()):
        raise ProtocolError(f"not an amount: {text!r}")
    try:
        value = Decimal(text.strip()) * 100
    except InvalidOperation:
        raise ProtocolError(f"not an amount: {text!r}") from None
    return int(value)


def beijing_time(at: datetime) -> str:
    """Alipay's `yyyy-MM-dd HH:mm:ss`, in China Standard Time (UTC+8)."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    return at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")
