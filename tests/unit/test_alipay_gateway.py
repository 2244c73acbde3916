"""The Alipay adapter's transfers (payouts) and failure handling, against the stand-in
in-process: a definite refusal is TransferRefused, an unknown outcome GatewayError, and
the same withdrawal id never pays twice."""
import pytest

from chalicelib.alipay import credentials, protocol
from chalicelib.alipay.gateway import AlipayGateway, reference
from chalicelib.local import alipay_standin
from chalicelib.payments import GatewayError, NotificationRefused, TransferRefused

URL = "https://openapi.alipay.test/gateway.do"


@pytest.fixture(scope="module")
def registration(tmp_path_factory):
    return alipay_standin.ensure_registration(tmp_path_factory.mktemp("standin"))


@pytest.fixture
def standin(registration):
    s = alipay_standin.StandIn(registration, post=lambda url, form: (200, "success"),
                               control={"auto_confirm": False})
    yield s
    s.close()


@pytest.fixture
def gateway(registration, standin):
    creds = credentials.Credentials(app_id=registration.app_id,
                                    app_private_key=registration.app_private_key,
                                    alipay_public_key=registration.alipay_public_key,
                                    notify_url="https://market.test/notify")
    return AlipayGateway(creds, URL, transport=standin.transport)


def test_a_transfer_pays_once_per_withdrawal(gateway, standin):
    first = gateway.transfer("wd_0001", 12345, "provider@example.com", "张三",
                             idempotency_key="wd_0001")
    again = gateway.transfer("wd_0001", 12345, "provider@example.com", "张三",
                             idempotency_key="wd_0001")
    assert first == again
    sent = standin.transfers["wd_0001"]
    assert sent["amount"] == 12345
    assert sent["biz"]["payee_info"] == {"identity": "provider@example.com",
                                         "identity_type": "ALIPAY_LOGON_ID", "name": "张三"}
    assert sent["biz"]["product_code"] == "TRANS_ACCOUNT_NO_PWD"
    assert sent["biz"]["trans_amount"] == "123.45"


@pytest.mark.parametrize("account, name, amount", [
    ("nobody@invalid", "张三", 10000),  # PAYEE_NOT_EXIST
    ("provider@example.com", "", 10000),  # PAYEE_USERINFO_ERROR
    ("provider@example.com", "张三", 5),  # below 0.10 yuan
])
def test_a_definite_refusal_is_transfer_refused(gateway, account, name, amount):
    with pytest.raises(TransferRefused) as refused:
        gateway.transfer("wd_0002", amount, account, name)
    assert refused.value.reason


def test_a_refusal_by_alipays_rules_is_transfer_refused(gateway, standin):
    standin.set_control({"refuse_transfers": "PAYEE_ACCOUNT_STATUS_ERROR"})
    with pytest.raises(TransferRefused, match="PAYEE_ACCOUNT_STATUS_ERROR"):
        gateway.transfer("wd_0003", 10000, "provider@example.com", "张三")


@pytest.mark.parametrize("fault", ["fail", "lose_answer"])
def test_an_unknown_outcome_is_a_gateway_error_and_a_retry_pays_once(gateway, standin, fault):
    standin.set_control({fault: {"alipay.fund.trans.uni.transfer": 1}})
    with pytest.raises(GatewayError):
        gateway.transfer("wd_0004", 10000, "provider@example.com", "张三")
    order_id = gateway.transfer("wd_0004", 10000, "provider@example.com", "张三")
    assert order_id == standin.transfers["wd_0004"]["answer"]["order_id"]
    assert len(standin.transfers) == 1


def test_a_timeout_is_a_gateway_error(registration, gateway, monkeypatch):
    def slow(url, body, timeout):
        raise TimeoutError("read timed out")

    monkeypatch.setattr(gateway, "transport", slow)
    with pytest.raises(GatewayError, match="no answer"):
        gateway.transfer("wd_0005", 10000, "provider@example.com", "张三")
    monkeypatch.setattr(gateway, "transport", lambda url, body, timeout: (502, "Bad Gateway"))
    with pytest.raises(GatewayError, match="HTTP 502"):
        gateway.query("ord_1")


def test_an_answer_in_progress_is_not_final(gateway, standin, monkeypatch):
    real = standin._transfer

    def dealing(biz):
        answer = real(biz)
        return {**answer, "status": "DEALING"}

    monkeypatch.setattr(standin, "_transfer", dealing)
    with pytest.raises(GatewayError, match="not final"):
        gateway.transfer("wd_0006", 10000, "provider@example.com", "张三")


def test_the_stand_in_refuses_a_request_not_signed_by_the_app(registration, standin):
    forged = credentials.Credentials(app_id=registration.app_id,
                                     app_private_key=protocol.new_key_pair()[0],
                                     alipay_public_key=registration.alipay_public_key)
    impostor = AlipayGateway(forged, URL, transport=standin.transport)
    with pytest.raises(GatewayError, match="invalid-signature"):
        impostor.transfer("wd_0007", 10000, "provider@example.com", "张三")
    assert standin.transfers == {}


def test_a_notification_is_read_only_when_alipays_and_ours(gateway, standin, registration):
    standin.trades["ord_1"] = {"out_trade_no": "ord_1", "trade_no": "2026", "total_amount": "1.00",
                               "subject": "s", "status": "TRADE_SUCCESS", "notify_url": None,
                               "return_url": None, "time_expire": None,
                               "app_id": registration.app_id, "created_at": "2026-11-28 10:00:00",
                               "paid_at": "2026-11-28 10:00:01", "refunds": {}, "refunded": 0}
    trade = gateway.read_notification(standin.notification("ord_1"))
    assert (trade.order_id, trade.status, trade.amount, trade.ref) == ("ord_1", "succeeded", 100,
                                                                       "2026")
    with pytest.raises(NotificationRefused):
        gateway.read_notification(standin.notification("ord_1", tamper="amount"))
    other = {**standin.notification("ord_1"), "notify_type": "trade_refund_sync"}
    with pytest.raises(NotificationRefused):  # changed after signing
        gateway.read_notification(other)


def test_long_references_are_shortened_the_same_way_every_time():
    assert reference("ord_1:refund:all") == "ord_1:refund:all"
    long = "x" * 80
    assert reference(long) == reference(long) and len(reference(long)) == 64
