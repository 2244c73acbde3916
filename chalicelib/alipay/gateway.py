"""Alipay behind the PaymentGateway protocol (chalicelib.payments.port).

- charge: alipay.trade.page.pay (desktop) or alipay.trade.wap.pay (mobile browser) — a
  signed URL on Alipay's gateway the buyer is sent to (`redirect_url`); status pending.
  The merchant reference (out_trade_no) is the order id, so one order can never be
  paid twice at Alipay, and `time_expire` closes the trade when the order's payment
  window does.
- query: alipay.trade.query by out_trade_no, for payments whose notification never came.
- refund: alipay.trade.refund with the instruction id as out_request_no (Alipay refunds
  one request number once, however often it is sent); fund_change "N" is confirmed
  with alipay.trade.fastpay.refund.query, as Alipay asks.
- transfer: alipay.fund.trans.uni.transfer (TRANS_ACCOUNT_NO_PWD to an Alipay account)
  with the withdrawal id as out_biz_no; TransferRefused on a definite refusal.
- read_notification: verifies a trade_status_sync notification.

An outcome this adapter cannot prove (no answer, a system error, an answer whose
signature does not verify) is a GatewayError: the caller retries with the same
reference, which Alipay deduplicates.
"""
import hashlib
import logging
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from typing import Callable
from urllib.parse import urlencode

from chalicelib import clock, settings as settings_module
from chalicelib.alipay import credentials as credentials_module
from chalicelib.alipay import protocol
from chalicelib.payments.port import (CLOSED, MISSING, PENDING, SUCCEEDED, GatewayError,
                                     NotificationRefused, PaymentResult, TradeStatus,
                                     TransferRefused)

log = logging.getLogger("market.alipay")

PAGE_PAY, WAP_PAY = "alipay.trade.page.pay", "alipay.trade.wap.pay"
QUERY, REFUND = "alipay.trade.query", "alipay.trade.refund"
CLOSE = "alipay.trade.close"
REFUND_QUERY, TRANSFER = "alipay.trade.fastpay.refund.query", "alipay.fund.trans.uni.transfer"
PRODUCT_CODES = {PAGE_PAY: "FAST_INSTANT_TRADE_PAY", WAP_PAY: "QUICK_WAP_WAY"}
TIMEOUT_SECONDS = 8  # well inside API Gateway's 29 s and the sweeps' budgets
MAX_REFERENCE = 64  # out_trade_no, out_request_no, out_biz_no: string(64)
# A trade must stay payable at least this long after the buyer is sent to it.
MIN_PAYABLE = timedelta(minutes=2)

_STATUSES = {protocol.WAIT_BUYER_PAY: PENDING, protocol.TRADE_SUCCESS: SUCCEEDED,
             protocol.TRADE_FINISHED: SUCCEEDED, protocol.TRADE_CLOSED: CLOSED}
# Sub-codes that say "try again later", not "no".
_RETRYABLE = {"ACQ.SYSTEM_ERROR", "SYSTEM_ERROR", "aop.ACQ.SYSTEM_ERROR",
              "isp.unknow-error", "isp.unknown-error", "ACQ.REFUND_FEE_ERROR_RETRY",
              "PAYER_BALANCE_NOT_ENOUGH", "BALANCE_IS_NOT_ENOUGH"}

# (url, form body, timeout) → (HTTP status, body text). Tests pass the stand-in in-process.
Transport = Callable[[str, bytes, float], tuple[int, str]]


def http_post(url: str, body: bytes, timeout: float) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/x-www-form-urlencoded;charset=utf-8"})
    try:
        # https by configuration: a deployed stage refuses any other gateway URL.
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status, answer.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")


def reference(key: str) -> str:
    """A merchant reference Alipay accepts (at most 64 characters), the same for the
    same key, so a retry always names the same request."""
    if len(key) <= MAX_REFERENCE:
        return key
    return "h" + hashlib.sha256(key.encode()).hexdigest()[:MAX_REFERENCE - 1]


class AlipayGateway:
    name = "alipay"
    notification_ack = protocol.NOTIFY_ACK

    def __init__(self, creds: credentials_module.Credentials, gateway_url: str, *,
                 transport: Transport = http_post, now: Callable[[], datetime] = clock.real_now):
        self.creds = creds
        self.gateway_url = gateway_url
        self.transport = transport
        self._now = now
        self._app_key = protocol.load_private_key(creds.app_private_key)
        self._alipay_key = protocol.load_public_key(creds.alipay_public_key)

    @classmethod
    def from_settings(cls) -> "AlipayGateway":
        cfg = settings_module.get()
        return cls(credentials_module.load(cfg), cfg.alipay_gateway_url)

    # --- requests ------------------------------------------------------------------
    def _params(self, method: str, biz: dict, **extra) -> dict[str, str]:
        return protocol.request_params(
            method, biz, app_id=self.creds.app_id, key=self._app_key, timestamp=self._now(),
            extra={"app_cert_sn": self.creds.app_cert_sn,
                   "alipay_root_cert_sn": self.creds.alipay_root_cert_sn, **extra})

    def _call(self, method: str, biz: dict) -> dict:
        """One server-to-server API call; its verified `..._response` payload."""
        body = urlencode(self._params(method, biz)).encode("utf-8")
        try:
            status, text = self.transport(self.gateway_url, body, TIMEOUT_SECONDS)
        except (OSError, urllib.error.URLError) as error:  # timeouts, refused, reset, lost
            raise GatewayError(f"{method}: no answer from Alipay ({error})") from error
        if status != 200:
            raise GatewayError(f"{method}: Alipay answered HTTP {status}")
        try:
            payload = protocol.read_answer(text, method, self._alipay_key)
        except protocol.ProtocolError as error:
            raise GatewayError(f"{method}: {error}") from error
        code, sub_code = payload.get("code"), payload.get("sub_code")
        if code != protocol.SUCCESS_CODE and (code == "20000" or sub_code in _RETRYABLE):
            raise GatewayError(f"{method}: {code} {sub_code} {payload.get('sub_msg', '')}")
        return payload

    # --- the PaymentGateway protocol --------------------------------------------------
    def charge(self, order_id: str, amount: int, idempotency_key: str, *, subject: str = "",
               expires_at: datetime | None = None, channel: str = "page") -> PaymentResult:
        """A signed page.pay / wap.pay URL: nothing is sent to Alipay until the buyer
        opens it, so a retry simply makes a fresh URL for the same trade."""
        method = WAP_PAY if channel == "wap" else PAGE_PAY
        biz = {"out_trade_no": reference(order_id), "total_amount": protocol.yuan(amount),
               "subject": subject or order_id, "product_code": PRODUCT_CODES[method]}
        if expires_at is not None:
            biz["time_expire"] = protocol.beijing_time(max(expires_at,
                                                           self._now() + MIN_PAYABLE))
        if method == WAP_PAY and self.creds.return_url:
            biz["quit_url"] = self.creds.return_url
        params = self._params(method, biz, notify_url=self.creds.notify_url,
                              return_url=self.creds.return_url)
        separator = "&" if "?" in self.gateway_url else "?"
        return PaymentResult(ref=order_id, status=PENDING,
                             redirect_url=self.gateway_url + separator + urlencode(params))

    def query(self, order_id: str) -> TradeStatus:
        payload = self._call(QUERY, {"out_trade_no": reference(order_id)})
        if payload.get("code") != protocol.SUCCESS_CODE:
            if payload.get("sub_code") == "ACQ.TRADE_NOT_EXIST":
                return TradeStatus(order_id, MISSING)
            raise GatewayError(f"{QUERY}: {payload.get('code')} {payload.get('sub_code')}")
        if payload.get("out_trade_no") != reference(order_id):
            raise GatewayError(f"{QUERY}: the answer is about {payload.get('out_trade_no')!r}")
        raw = payload.get("trade_status")
        if raw not in _STATUSES:
            raise GatewayError(f"{QUERY}: unknown trade_status {raw!r}")
        try:
            amount = protocol.fen(payload.get("total_amount"))
        except protocol.ProtocolError as error:
            raise GatewayError(f"{QUERY}: {error}") from error
        return TradeStatus(order_id, _STATUSES[raw], ref=payload.get("trade_no"),
                           amount=amount, raw_status=raw)

    def close(self, order_id: str) -> bool:
        """alipay.trade.close: the trade can no longer be paid (PAYMENT_TIMEOUT_SECONDS).
        True when it is closed or was never opened; False when Alipay says it is no
        longer open for another reason (paid meanwhile: ask with `query`)."""
        payload = self._call(CLOSE, {"out_trade_no": reference(order_id)})
        if payload.get("code") == protocol.SUCCESS_CODE:
            return True
        if payload.get("sub_code") == "ACQ.TRADE_NOT_EXIST":
            return True  # the buyer never opened the cashier; the signed URL has expired
        if payload.get("sub_code") == "ACQ.TRADE_STATUS_ERROR":
            return False
        raise GatewayError(f"{CLOSE}: {payload.get('code')} {payload.get('sub_code')}")

    def refund(self, payment_ref: str, amount: int, idempotency_key: str) -> str:
        request_no = reference(idempotency_key)
        payload = self._call(REFUND, {"trade_no": payment_ref,
                                      "refund_amount": protocol.yuan(amount),
                                      "out_request_no": request_no})
        if payload.get("code") != protocol.SUCCESS_CODE:
            # A definite "no" (ACQ.TRADE_NOT_ALLOW_REFUND …): the instruction driver
            # retries with backoff and parks it for a person.
            raise GatewayError(f"{REFUND} refused: {payload.get('sub_code')} "
                               f"{payload.get('sub_msg', '')}")
        if payload.get("fund_change") != "Y":
            self._confirm_refund(payment_ref, request_no, amount)
        return f"{payment_ref}:{request_no}"

    def _confirm_refund(self, payment_ref: str, request_no: str, amount: int) -> None:
        # "fund_change=N": a repeat of a refund already made, or one still in progress.
        payload = self._call(REFUND_QUERY, {"trade_no": payment_ref,
                                            "out_request_no": request_no,
                                            "query_options": ["gmt_refund_pay"]})
        if (payload.get("code") != protocol.SUCCESS_CODE
                or payload.get("refund_status") != "REFUND_SUCCESS"):
            raise GatewayError(f"{REFUND}: refund {request_no} not confirmed yet "
                               f"({payload.get('refund_status') or payload.get('sub_code')})")
        if payload.get("refund_amount") and protocol.fen(payload["refund_amount"]) != amount:
            raise GatewayError(f"{REFUND}: refund {request_no} is for "
                               f"{payload['refund_amount']}, not {protocol.yuan(amount)}")

    def transfer(self, payout_id: str, amount: int, account: str, name: str,
                 idempotency_key: str | None = None) -> str:
        """Pay `amount` to the Alipay account (logon id: e-mail or phone) whose real name
        is `name`; Alipay's order id. The key (the withdrawal id) is the out_biz_no, so
        retrying the same withdrawal never pays twice."""
        payload = self._call(TRANSFER, {
            "out_biz_no": reference(idempotency_key or payout_id),
            "trans_amount": protocol.yuan(amount),
            "product_code": "TRANS_ACCOUNT_NO_PWD", "biz_scene": "DIRECT_TRANSFER",
            "order_title": "服务市场提现",
            "payee_info": {"identity": account, "identity_type": "ALIPAY_LOGON_ID",
                           "name": name}})
        if payload.get("code") != protocol.SUCCESS_CODE:
            # 40004 is a business failure: nothing was paid, and a retry would fail alike.
            if payload.get("code") == "40004":
                raise TransferRefused(f"{payload.get('sub_code')}: {payload.get('sub_msg', '')}")
            raise GatewayError(f"{TRANSFER}: {payload.get('code')} {payload.get('sub_code')}")
        status = payload.get("status")
        if status == "SUCCESS":
            return str(payload.get("order_id") or payload.get("pay_fund_order_id"))
        if status == "FAIL":
            raise TransferRefused(f"{payload.get('error_code') or 'FAIL'}: "
                                  f"{payload.get('fail_reason', '')}")
        raise GatewayError(f"{TRANSFER}: status {status!r}; the outcome is not final yet")

    # --- notifications -------------------------------------------------------------
    def read_notification(self, form: dict[str, str]) -> TradeStatus | None:
        """The verified trade status a notification carries; None for a kind of
        notification we do not act on. NotificationRefused when it is not provably
        Alipay's about one of this app's trades."""
        if not protocol.verify_notification(form, self._alipay_key):
            raise NotificationRefused("the signature does not verify")
        if form.get("app_id") != self.creds.app_id:
            raise NotificationRefused(f"the notification is for app {form.get('app_id')!r}")
        if self.creds.seller_id and form.get("seller_id") != self.creds.seller_id:
            raise NotificationRefused(f"the notification is for seller {form.get('seller_id')!r}")
        if form.get("notify_type", "trade_status_sync") != "trade_status_sync":
            return None
        raw = form.get("trade_status")
        if not form.get("out_trade_no") or raw not in _STATUSES:
            raise NotificationRefused(f"no out_trade_no or unknown trade_status {raw!r}")
        try:
            amount = protocol.fen(form.get("total_amount"))
        except protocol.ProtocolError as error:
            raise NotificationRefused(str(error)) from None
        return TradeStatus(form["out_trade_no"], _STATUSES[raw], ref=form.get("trade_no"),
                           amount=amount, raw_status=raw)
