"""Alipay's wire protocol (chalicelib.alipay.protocol), checked against an independent
implementation: python-alipay-sdk (it uses pycryptodomex and pyOpenSSL, we use
`cryptography`). What one signs, the other must verify, and a tampered amount must fail
both. `make deps` installs the SDK into .local/test-tools, outside .venv."""
import base64
import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from chalicelib.alipay import protocol

APP_ID = "2021000000000001"
TEST_TOOLS = Path(__file__).resolve().parents[2] / ".local" / "test-tools"

try:
    sys.path.append(str(TEST_TOOLS))
    from alipay import AliPay, DCAliPay
except ImportError:  # pragma: no cover - `make deps` installs it
    AliPay = DCAliPay = None
finally:
    sys.path.remove(str(TEST_TOOLS))

needs_sdk = pytest.mark.skipif(AliPay is None, reason="python-alipay-sdk is not in "
                                                      ".local/test-tools (run `make deps`)")


@pytest.fixture(scope="module")
def keys():
    app_private, app_public = protocol.new_key_pair()
    alipay_private, alipay_public = protocol.new_key_pair()
    return {"app_private": app_private, "app_public": app_public,
            "alipay_private": alipay_private, "alipay_public": alipay_public}


@pytest.fixture(scope="module")
def sdk(keys):
    """The SDK as the app would use it: our app key signs, Alipay's public key verifies."""
    if AliPay is None:
        pytest.skip(needs_sdk.kwargs["reason"])
    return AliPay(appid=APP_ID, app_private_key_string=keys["app_private"],
                  alipay_public_key_string=keys["alipay_public"], sign_type="RSA2")


@pytest.fixture(scope="module")
def sdk_as_alipay(keys):
    """The SDK holding Alipay's side: signs with Alipay's key, verifies with the app's."""
    if AliPay is None:
        pytest.skip(needs_sdk.kwargs["reason"])
    return AliPay(appid=APP_ID, app_private_key_string=keys["alipay_private"],
                  alipay_public_key_string=keys["app_public"], sign_type="RSA2")


def _notification(**changes) -> dict:
    params = {
        "gmt_create": "2026-11-28 10:00:00", "charset": "utf-8", "seller_id": "2088000000000001",
        "subject": "店铺首页装修", "buyer_id": "2088000000000002", "invoice_amount": "499.00",
        "notify_id": "2026112800222100000000000001", "fund_bill_list":
        '[{"amount":"499.00","fundChannel":"ALIPAYACCOUNT"}]', "notify_type":
        "trade_status_sync", "trade_status": "TRADE_SUCCESS", "receipt_amount": "499.00",
        "app_id": APP_ID, "buyer_pay_amount": "499.00", "gmt_payment": "2026-11-28 10:00:02",
        "notify_time": "2026-11-28 10:00:03", "version": "1.0", "out_trade_no":
        "ord_0123456789abcdef0123456789a", "total_amount": "499.00",
        "trade_no": "2026112822001400000000000001", "auth_app_id": APP_ID, "point_amount": "0.00",
    }
    params.update(changes)
    return params


# --- the canonical string and request signatures ------------------------------------
def test_our_string_to_sign_is_the_sdks(sdk):
    data = sdk.build_body("alipay.trade.page.pay",
                          {"subject": "店铺首页装修", "out_trade_no": "ord_1",
                           "total_amount": "499.00", "product_code": "FAST_INSTANT_TRADE_PAY"},
                          notify_url="https://api.example.com/payments/alipay/notify")
    ordered = sdk._ordered_data(dict(data))  # the SDK serialises biz_content here
    sdk_string = "&".join(f"{k}={v}" for k, v in ordered)
    assert protocol.canonical(dict(ordered)) == sdk_string


def test_a_request_the_sdk_signed_verifies_with_ours(sdk, keys):
    signed = sdk.api_alipay_trade_page_pay("店铺首页装修", "ord_1", "499.00",
                                           notify_url="https://api.example.com/notify")
    params = dict(parse_qsl(signed, keep_blank_values=True))
    app_public = protocol.load_public_key(keys["app_public"])
    assert protocol.verify_request(params, app_public)
    biz = json.loads(params["biz_content"])
    biz["total_amount"] = "0.01"
    params["biz_content"] = json.dumps(biz, separators=(",", ":"), ensure_ascii=False)
    assert not protocol.verify_request(params, app_public)


def test_a_request_we_signed_verifies_with_the_sdks_key_and_algorithm(keys, sdk_as_alipay):
    params = protocol.request_params(
        "alipay.trade.query", {"out_trade_no": "ord_1"}, app_id=APP_ID,
        key=protocol.load_private_key(keys["app_private"]),
        timestamp=datetime(2026, 11, 28, 2, 0, tzinfo=timezone.utc))
    assert params["timestamp"] == "2026-11-28 10:00:00"  # Beijing time
    signature = params["sign"]
    unsigned = {k: v for k, v in params.items() if k != "sign"}
    message = "&".join(f"{k}={v}" for k, v in sorted(unsigned.items()))
    assert sdk_as_alipay._verify(message, signature)


# --- notifications --------------------------------------------------------------------
def test_a_notification_signed_like_alipay_verifies_and_a_tampered_amount_fails(keys,
                                                                                sdk_as_alipay):
    params = _notification()
    # Alipay signs a notification over everything but sign and sign_type.
    params["sign"] = sdk_as_alipay._sign(protocol.canonical(params))
    params["sign_type"] = "RSA2"
    alipay_public = protocol.load_public_key(keys["alipay_public"])
    assert protocol.verify_notification(params, alipay_public)
    assert not protocol.verify_notification({**params, "total_amount": "0.01"}, alipay_public)
    assert not protocol.verify_notification({**params, "out_trade_no": "ord_2"}, alipay_public)
    assert not protocol.verify_notification({**params, "sign_type": "RSA"}, alipay_public)
    assert not protocol.verify_notification({**params, "sign": ""}, alipay_public)
    assert not protocol.verify_notification({**params, "sign": "bm90IGEgc2lnbmF0dXJl"},
                                             alipay_public)


def test_a_notification_we_signed_verifies_with_the_sdk(keys, sdk):
    params = _notification()
    params["sign"] = protocol.sign_text(protocol.canonical(params),
                                        protocol.load_private_key(keys["alipay_private"]))
    params["sign_type"] = "RSA2"
    sign = params.pop("sign")
    assert sdk.verify(dict(params), sign)
    assert not sdk.verify({**params, "total_amount": "0.01"}, sign)


def test_a_notification_whose_fund_bill_list_arrives_html_escaped_still_verifies(keys):
    # Seen in the field: fund_bill_list reaches some receivers as [{&quot;amount&quot;…
    # while Alipay signed the plain JSON.
    params = _notification()
    private = protocol.load_private_key(keys["alipay_private"])
    params["sign"] = protocol.sign_text(protocol.canonical(params), private)
    params["sign_type"] = "RSA2"
    escaped = {**params, "fund_bill_list": params["fund_bill_list"].replace('"', "&quot;")}
    public = protocol.load_public_key(keys["alipay_public"])
    assert protocol.verify_notification(escaped, public)
    assert not protocol.verify_notification({**escaped, "total_amount": "0.01"}, public)


def test_a_notification_signed_with_another_key_fails(keys):
    forger, _ = protocol.new_key_pair()
    params = _notification()
    params["sign"] = protocol.sign_text(protocol.canonical(params),
                                        protocol.load_private_key(forger))
    params["sign_type"] = "RSA2"
    assert not protocol.verify_notification(params, protocol.load_public_key(keys["alipay_public"]))


# --- answers ---------------------------------------------------------------------------
def test_an_answer_we_signed_is_accepted_by_the_sdk_and_by_us(keys, sdk):
    payload = {"code": "10000", "msg": "Success", "out_trade_no": "ord_1",
               "trade_no": "2026112822001400000000000001", "trade_status": "TRADE_SUCCESS",
               "total_amount": "499.00", "buyer_logon_id": "bu***@example.com",
               "subject": "店铺首页装修"}
    private = protocol.load_private_key(keys["alipay_private"])
    public = protocol.load_public_key(keys["alipay_public"])
    text = protocol.signed_answer("alipay.trade.query", payload, private)
    assert sdk._verify_and_return_sync_response(text, "alipay_trade_query_response")["code"] == "10000"
    assert protocol.read_answer(text, "alipay.trade.query", public) == payload
    # Braces inside a string value: the SDK's brace counting cuts the wrong text there,
    # ours walks the JSON.
    odd = {**payload, "subject": "括号 {不} 平衡 }}"}
    text = protocol.signed_answer("alipay.trade.query", odd, private)
    assert protocol.read_answer(text, "alipay.trade.query", public) == odd


def test_an_answer_is_verified_over_its_exact_text(keys):
    body = '{"code":"10000","msg":"Success","total_amount":"499.00"}'
    public = protocol.load_public_key(keys["alipay_public"])
    sign = protocol.sign_text(body, protocol.load_private_key(keys["alipay_private"]))
    spaced = '{ "alipay_trade_query_response" : %s , "sign" : "%s" }' % (body, sign)
    assert protocol.read_answer(spaced, "alipay.trade.query", public)["total_amount"] == "499.00"
    tampered = spaced.replace("499.00", "4.99")
    with pytest.raises(protocol.ProtocolError):
        protocol.read_answer(tampered, "alipay.trade.query", public)
    # The same payload re-serialised differently is not what was signed.
    loose = '{"alipay_trade_query_response": {"code": "10000", "msg": "Success", ' \
            '"total_amount": "499.00"}, "sign": "%s"}' % sign
    with pytest.raises(protocol.ProtocolError):
        protocol.read_answer(loose, "alipay.trade.query", public)


@pytest.mark.parametrize("text", [
    "not json", "[]", '{"alipay_trade_query_response":{"code":"20000"}}',
    '{"error_response":{"code":"40002","sub_code":"isv.invalid-signature"}}',
    '{"sign":"x","other_response":{}}',
])
def test_unsigned_or_foreign_answers_prove_nothing(keys, text):
    with pytest.raises(protocol.ProtocolError):
        protocol.read_answer(text, "alipay.trade.query",
                             protocol.load_public_key(keys["alipay_public"]))


# --- keys as Alipay's tools hand them out ---------------------------------------------------
def test_bare_base64_keys_in_pkcs8_and_pkcs1_load(keys):
    key = serialization.load_pem_private_key(keys["app_private"].encode(), password=None)
    pkcs8 = base64.b64encode(key.private_bytes(serialization.Encoding.DER,
                                               serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption())).decode()
    pkcs1 = base64.b64encode(key.private_bytes(serialization.Encoding.DER,
                                               serialization.PrivateFormat.TraditionalOpenSSL,
                                               serialization.NoEncryption())).decode()
    public = base64.b64encode(key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode()
    for private in (pkcs8, pkcs1, "\n".join([pkcs8[:64], pkcs8[64:]])):
        signature = protocol.sign_text("a=1", protocol.load_private_key(private))
        assert protocol.verify_text("a=1", signature, protocol.load_public_key(public))


def _cert(subject_cn: str, issuer: x509.Name, key, signer, serial: int) -> str:
    subject = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Ant Financial"),
                         x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Certification Authority"),
                         x509.NameAttribute(NameOID.COMMON_NAME, subject_cn)])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer or subject)
            .public_key(key.public_key()).serial_number(serial).not_valid_before(now)
            .not_valid_after(now + timedelta(days=30)).sign(signer, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


@needs_sdk
def test_certificate_serial_numbers_match_the_sdk():
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    root = _cert("Ant Financial Certification Authority R1", None, root_key, root_key,
                 0x1234567890ABCDEF)
    root_name = x509.load_pem_x509_certificate(root.encode()).subject
    app_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    app_cert = _cert(APP_ID, root_name, app_key, root_key, 987654321987654321)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ec_root = _cert("an SM2-like root Alipay also ships", None, ec_key, ec_key, 42)
    chain = root + "\n" + ec_root + "\n" + _cert("second RSA root", None, root_key, root_key, 7)

    assert protocol.cert_sn(app_cert) == DCAliPay.get_cert_sn(app_cert)
    assert protocol.root_cert_sn(chain) == DCAliPay.get_root_cert_sn(chain)
    assert protocol.root_cert_sn(chain).count("_") == 1  # the EC certificate is skipped
    assert isinstance(protocol.load_public_key(app_cert), rsa.RSAPublicKey)


# --- amounts ---------------------------------------------------------------------------------
@pytest.mark.parametrize("fen, text", [(0, "0.00"), (1, "0.01"), (49900, "499.00"),
                                       (12345, "123.45"), (10_000_000_000, "100000000.00")])
def test_amounts_convert_both_ways(fen, text):
    assert protocol.yuan(fen) == text
    assert protocol.fen(text) == fen


@pytest.mark.parametrize("text", ["", "1.001", "-1.00", "1e3", "１.00", "1,00", " ", "NaN",
                                  "0x10", "1.0.0"])
def test_anything_but_a_plain_amount_is_refused(text):
    with pytest.raises(protocol.ProtocolError):
        protocol.fen(text)


def test_amounts_with_one_decimal_or_none_are_read():
    assert protocol.fen("499") == 49900
    assert protocol.fen("499.5") == 49950
