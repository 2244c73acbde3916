"""A stand-in for Alipay's open platform on this machine, speaking its protocol: the app
talks to it exactly as to https://openapi.alipay.com/gateway.do, so `make run` and the
tests walk the real payment code path with nothing faked inside the app.

    python -m chalicelib.local.alipay_standin --port 8010 --data-dir .local/data/alipay-standin

What it does, like Alipay:
- GET /gateway.do?<signed alipay.trade.page.pay or wap.pay> is the cashier a buyer's
  browser is sent to: it checks the app's signature, opens the trade (one per
  out_trade_no) and shows a pay page; it confirms the payment by itself within a couple
  of seconds (or when the button is pressed) and then POSTs a signed trade_status_sync
  notification to notify_url, repeating it until the answer is `success`;
- POST /gateway.do: alipay.trade.query, alipay.trade.refund (one refund per
  out_request_no), alipay.trade.fastpay.refund.query, alipay.trade.close and
  alipay.fund.trans.uni.transfer (one transfer per out_biz_no; a payee whose account
  ends in "@invalid" does not exist), answered as signed JSON.

It has its own key pair (Alipay's side) and, as if the merchant had registered an app
with it, the app's key pair and app id; both are made on first start and kept in the
data directory, with the trades. Nothing here is a secret: it is never deployed, and a
deployed stage refuses a gateway URL that is not public https.

Faults on demand, for people and tests (POST /_standin/control, JSON; GET shows them):
  auto_confirm (true), confirm_after_seconds (1.5): confirm opened payments by itself;
  notify ("send" | "drop"), notify_delay_seconds, notify_repeat (times each is sent),
  notify_tamper (null | "amount" | "signature": send a forged one instead),
  fail {method: n}: the next n calls answer Alipay's system error (code 20000),
  lose_answer {method: n}: the next n calls take effect but the answer is lost,
  answer_delay_seconds: sleep before answering API calls (timeouts),
  refuse_transfers (null | sub_code): refuse every transfer with that sub_code.
POST /_standin/reset restores the defaults; GET /_standin/trades lists everything;
POST /_standin/trades/<out_trade_no>/notify sends its notification again.
"""
import argparse
import copy
import html
import json
import logging
import random
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qsl, urlencode, urlsplit

from chalicelib.alipay import protocol

log = logging.getLogger("alipay-standin")

DEFAULT_PORT = 8010
PAY_METHODS = {"alipay.trade.page.pay": "FAST_INSTANT_TRADE_PAY",
               "alipay.trade.wap.pay": "QUICK_WAP_WAY"}
DEFAULT_CONTROL = {
    "auto_confirm": True, "confirm_after_seconds": 1.5,
    "notify": "send", "notify_delay_seconds": 0.0, "notify_repeat": 1, "notify_tamper": None,
    "notify_retries": 8, "notify_retry_seconds": 1.0,
    "fail": {}, "lose_answer": {}, "answer_delay_seconds": 0.0, "refuse_transfers": None,
}
MIN_TRANSFER_FEN = 10  # TRANS_ACCOUNT_NO_PWD: at least 0.10 yuan


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


def form_post(url: str, form: dict[str, str], timeout: float = 10) -> tuple[int, str]:
    body = urlencode(form).encode("utf-8")
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status, answer.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")


class AnswerLost(ConnectionResetError):
    """The stand-in did the work and then dropped the connection (control: lose_answer)."""


def _now() -> datetime:
    return datetime.now(timezone.utc)


class StandIn:
    """Alipay's side: trades, refunds, transfers, notifications. Thread-safe."""

    def __init__(self, registration: Registration, state_path: Path | None = None, *,
                 post: Callable[[str, dict], tuple[int, str]] = form_post,
                 control: dict | None = None):
        self.registration = registration
        self.state_path = state_path
        self.post = post
        self.lock = threading.RLock()
        self.control = copy.deepcopy(DEFAULT_CONTROL)
        self.control.update(control or {})
        self.trades: dict[str, dict] = {}
        self.transfers: dict[str, dict] = {}
        self.deliveries: list[dict] = []  # every notification sent, with its answer
        self._timers: list[threading.Timer] = []
        self._alipay_key = protocol.load_private_key(registration.alipay_private_key)
        self._app_key = protocol.load_public_key(registration.app_public_key)
        self._load()

    # --- state ----------------------------------------------------------------
    def _load(self) -> None:
        if self.state_path and self.state_path.exists():
            state = json.loads(self.state_path.read_text(encoding="utf-8"))
            self.trades, self.transfers = state.get("trades", {}), state.get("transfers", {})

    def _save(self) -> None:
        if not self.state_path:
            return
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"trades": self.trades, "transfers": self.transfers},
                                  ensure_ascii=False, indent=1), encoding="utf-8")
        tmp.replace(self.state_path)

    def set_control(self, changes: dict) -> dict:
        with self.lock:
            for name, value in (changes or {}).items():
                if name not in DEFAULT_CONTROL:
                    raise ValueError(f"unknown control {name!r}")
                self.control[name] = value
            return copy.deepcopy(self.control)

    def reset_control(self) -> dict:
        with self.lock:
            self.control = copy.deepcopy(DEFAULT_CONTROL)
            return copy.deepcopy(self.control)

    def close(self) -> None:
        with self.lock:
            timers, self._timers = self._timers, []
        for timer in timers:
            timer.cancel()

    def _later(self, seconds: float, fn, *args) -> None:
        timer = threading.Timer(max(0.0, float(seconds)), fn, args)
        timer.daemon = True
        with self.lock:
            self._timers = [t for t in self._timers if t.is_alive()] + [timer]
        timer.start()

    # --- the gateway ------------------------------------------------------------
    def transport(self, url: str, body: bytes, timeout: float) -> tuple[int, str]:
        """The app's HTTP call, in-process (tests): same parsing, same answers."""
        status, _, text = self.gateway(dict(parse_qsl(body.decode("utf-8"),
                                                      keep_blank_values=True)), url)
        return status, text

    def gateway(self, params: dict[str, str], base_url: str) -> tuple[int, str, str]:
        """One request to /gateway.do: (HTTP status, content type, body)."""
        method = params.get("method", "")
        if method in PAY_METHODS:
            return self._cashier_request(method, params, base_url)
        with self.lock:
            delay = float(self.control["answer_delay_seconds"] or 0)
            fail = self._take("fail", method)
            lose = self._take("lose_answer", method)
        if delay:
            time.sleep(delay)
        if not protocol.verify_request(params, self._app_key):
            return self._answer(method, _error("40002", "Invalid Arguments",
                                               "isv.invalid-signature", "验签出错"))
        if params.get("app_id") != self.registration.app_id:
            return self._answer(method, _error("40002", "Invalid Arguments",
                                               "isv.invalid-app-id", "无效的AppID参数"))
        if fail:
            return self._answer(method, _error("20000", "Service Currently Unavailable",
                                               "isp.unknow-error", "系统繁忙"))
        try:
            biz = json.loads(params.get("biz_content") or "{}")
        except ValueError:
            biz = None
        if not isinstance(biz, dict):
            return self._answer(method, _error("40002", "Invalid Arguments",
                                               "isv.invalid-parameter", "biz_content"))
        handler = {"alipay.trade.query": self._query, "alipay.trade.refund": self._refund,
                   "alipay.trade.fastpay.refund.query": self._refund_query,
                   "alipay.trade.close": self._close,
                   "alipay.fund.trans.uni.transfer": self._transfer}.get(method)
        if handler is None:
            return self._answer(method, _error("40004", "Business Failed",
                                               "isv.invalid-method", f"unknown {method}"))
        with self.lock:
            payload = handler(biz)
            self._save()
        if lose:
            raise AnswerLost(f"{method}: the answer was lost (stand-in control)")
        return self._answer(method, payload)

    def _take(self, control: str, method: str) -> bool:
        counts = self.control[control]
        left = int(counts.get(method, 0) or 0)
        if left <= 0:
            return False
        counts[method] = left - 1
        return True

    def _answer(self, method: str, payload: dict) -> tuple[int, str, str]:
        return 200, "application/json;charset=utf-8", protocol.signed_answer(
            method, payload, self._alipay_key)

    def _trade(self, biz: dict) -> dict | None:
        if biz.get("out_trade_no") in self.trades:
            return self.trades[biz["out_trade_no"]]
        if biz.get("trade_no"):
            return next((t for t in self.trades.values() if t["trade_no"] == biz["trade_no"]),
                        None)
        return None

    def _query(self, biz: dict) -> dict:
        trade = self._trade(biz)
        if trade is None:
            return _error("40004", "Business Failed", "ACQ.TRADE_NOT_EXIST", "交易不存在")
        payload = {**_ok(), "trade_no": trade["trade_no"], "out_trade_no": trade["out_trade_no"],
                   "trade_status": trade["status"], "total_amount": trade["total_amount"],
                   "buyer_logon_id": "bu***@example.com"}
        if trade.get("paid_at"):
            payload.update(send_pay_date=trade["paid_at"], buyer_pay_amount=trade["total_amount"],
                           receipt_amount=trade["total_amount"])
        return payload

    def _refund(self, biz: dict) -> dict:
        trade = self._trade(biz)
        if trade is None:
            return _error("40004", "Business Failed", "ACQ.TRADE_NOT_EXIST", "交易不存在")
        request_no = biz.get("out_request_no") or trade["out_trade_no"]
        done = trade["refunds"].get(request_no)
        base = {**_ok(), "trade_no": trade["trade_no"], "out_trade_no": trade["out_trade_no"],
                "buyer_logon_id": "bu***@example.com"}
        if done is not None:
            # The same request number again: Alipay refunds it once, and says so.
            return {**base, "fund_change": "N", "refund_fee": protocol.yuan(trade["refunded"])}
        if trade["status"] not in protocol.PAID_STATUSES:
            return _error("40004", "Business Failed", "ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
        try:
            amount = protocol.fen(str(biz.get("refund_amount")))
        except protocol.ProtocolError:
            return _error("40004", "Business Failed", "ACQ.INVALID_PARAMETER", "refund_amount")
        total = protocol.fen(trade["total_amount"])
        if amount <= 0 or trade["refunded"] + amount > total:
            return _error("40004", "Business Failed", "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL",
                          "退款金额超限")
        trade["refunds"][request_no] = {"amount": amount, "at": protocol.beijing_time(_now())}
        trade["refunded"] += amount
        if trade["refunded"] == total:
            trade["status"] = protocol.TRADE_CLOSED
        # Alipay notifies refunds too: TRADE_CLOSED after a full one.
        self._later(0.2, self.deliver, trade["out_trade_no"])
        return {**base, "fund_change": "Y", "refund_fee": protocol.yuan(trade["refunded"]),
                "gmt_refund_pay": protocol.beijing_time(_now())}

    def _refund_query(self, biz: dict) -> dict:
        trade = self._trade(biz)
        if trade is None:
            return _error("40004", "Business Failed", "ACQ.TRADE_NOT_EXIST", "交易不存在")
        refund = trade["refunds"].get(biz.get("out_request_no") or trade["out_trade_no"])
        payload = {**_ok(), "trade_no": trade["trade_no"], "out_trade_no": trade["out_trade_no"],
                   "out_request_no": biz.get("out_request_no")}
        if refund:  # an unknown request number answers success with no refund_status
            payload.update(refund_status="REFUND_SUCCESS",
                           refund_amount=protocol.yuan(refund["amount"]),
                           total_amount=trade["total_amount"], gmt_refund_pay=refund["at"])
        return payload

    def _close(self, biz: dict) -> dict:
        trade = self._trade(biz)
        if trade is None:
            return _error("40004", "Business Failed", "ACQ.TRADE_NOT_EXIST", "交易不存在")
        if trade["status"] != protocol.WAIT_BUYER_PAY:
            return _error("40004", "Business Failed", "ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
        trade["status"] = protocol.TRADE_CLOSED
        return {**_ok(), "trade_no": trade["trade_no"], "out_trade_no": trade["out_trade_no"]}

    def _transfer(self, biz: dict) -> dict:
        out_biz_no = str(biz.get("out_biz_no") or "")
        if out_biz_no in self.transfers:
            return self.transfers[out_biz_no]["answer"]  # the same transfer, answered alike
        payee = biz.get("payee_info") or {}
        refusal = None
        try:
            amount = protocol.fen(str(biz.get("trans_amount")))
        except protocol.ProtocolError:
            amount, refusal = 0, ("INVALID_PARAMETER", "trans_amount")
        if not out_biz_no or biz.get("product_code") != "TRANS_ACCOUNT_NO_PWD":
            refusal = ("INVALID_PARAMETER", "out_biz_no / product_code")
        elif payee.get("identity_type") not in ("ALIPAY_LOGON_ID", "ALIPAY_USER_ID") or not (
                payee.get("identity")):
            refusal = ("PAYEE_NOT_EXIST", "收款账号不存在")
        elif str(payee["identity"]).endswith("@invalid"):
            refusal = ("PAYEE_NOT_EXIST", "收款账号不存在")
        elif payee.get("identity_type") == "ALIPAY_LOGON_ID" and not payee.get("name"):
            refusal = ("PAYEE_USERINFO_ERROR", "收款方姓名不能为空")
        elif amount < MIN_TRANSFER_FEN and refusal is None:
            refusal = ("EXCEED_LIMIT_SM_MIN_AMOUNT", "单笔最低转账金额0.1元")
        elif self.control["refuse_transfers"]:
            refusal = (str(self.control["refuse_transfers"]), "stand-in control")
        if refusal:
            answer = _error("40004", "Business Failed", *refusal)
        else:
            answer = {**_ok(), "out_biz_no": out_biz_no,
                      "order_id": _digits(_now().strftime("%Y%m%d") + "1100", 32),
                      "pay_fund_order_id": _digits(_now().strftime("%Y%m%d") + "1100", 32),
                      "status": "SUCCESS", "trans_date": protocol.beijing_time(_now())}
        self.transfers[out_biz_no] = {"biz": biz, "amount": amount, "answer": answer}
        return answer

    # --- the cashier (page.pay / wap.pay) -------------------------------------------
    def _cashier_request(self, method: str, params: dict, base_url: str) -> tuple[int, str, str]:
        if not protocol.verify_request(params, self._app_key):
            return _page(400, "支付宝替身：签名无效", "<p>invalid-signature: 验签出错</p>")
        if params.get("app_id") != self.registration.app_id:
            return _page(400, "支付宝替身：无效的AppID", "<p>isv.invalid-app-id</p>")
        try:
            biz = json.loads(params.get("biz_content") or "")
            total = protocol.fen(str(biz.get("total_amount")))
        except (ValueError, AttributeError):
            return _page(400, "支付宝替身：参数错误", "<p>biz_content / total_amount</p>")
        out_trade_no = str(biz.get("out_trade_no") or "")
        if not out_trade_no or biz.get("product_code") != PAY_METHODS[method] or total <= 0:
            return _page(400, "支付宝替身：参数错误", "<p>out_trade_no / product_code</p>")
        with self.lock:
            trade = self.trades.get(out_trade_no)
            if trade is None:
                trade = self.trades[out_trade_no] = {
                    "out_trade_no": out_trade_no, "trade_no": _trade_no(),
                    "total_amount": protocol.yuan(total), "subject": str(biz.get("subject", "")),
                    "status": protocol.WAIT_BUYER_PAY, "notify_url": params.get("notify_url"),
                    "return_url": params.get("return_url"),
                    "time_expire": biz.get("time_expire"), "app_id": params["app_id"],
                    "created_at": protocol.beijing_time(_now()), "paid_at": None,
                    "refunds": {}, "refunded": 0}
                self._save()
                if self.control["auto_confirm"]:
                    self._later(float(self.control["confirm_after_seconds"]), self.confirm,
                                out_trade_no)
            elif trade["total_amount"] != protocol.yuan(total):
                return _page(400, "支付宝替身：交易信息被篡改",
                             "<p>ACQ.CONTEXT_INCONSISTENT: 同一订单号的金额不一致</p>")
        return self.cashier(out_trade_no, base_url)

    def cashier(self, out_trade_no: str, base_url: str = "") -> tuple[int, str, str]:
        """The pay page a person sees; it refreshes itself until the trade is paid."""
        with self.lock:
            trade = copy.deepcopy(self.trades.get(out_trade_no))
            auto = self.control["auto_confirm"]
        if trade is None:
            return _page(404, "支付宝替身：交易不存在", "<p>ACQ.TRADE_NOT_EXIST</p>")
        root = _root(base_url)
        rows = (f"<p>商品：{html.escape(trade['subject'])}</p>"
                f"<p class='amount'>￥{html.escape(trade['total_amount'])}</p>"
                f"<p>商户订单号：{html.escape(trade['out_trade_no'])}<br>"
                f"支付宝交易号：{html.escape(trade['trade_no'])}</p>")
        if trade["status"] == protocol.WAIT_BUYER_PAY:
            note = ("本地替身会在几秒内自动确认付款。" if auto else "请点击按钮完成付款。")
            body = (rows + f"<p>{note}</p><form method='post' action='{root}/standin/pay/"
                    f"{html.escape(out_trade_no)}'><button>确认付款</button></form>")
            return _page(200, "支付宝替身 — 收银台", body,
                         refresh=f"{root}/standin/cashier/{html.escape(out_trade_no)}")
        done = {protocol.TRADE_SUCCESS: "付款成功", protocol.TRADE_FINISHED: "交易完成",
                protocol.TRADE_CLOSED: "交易已关闭"}[trade["status"]]
        back = ""
        if trade.get("return_url") and trade["status"] in protocol.PAID_STATUSES:
            back = (f"<p><a href='{html.escape(self.return_link(trade))}'>返回商户</a></p>")
        return _page(200, f"支付宝替身 — {done}", rows + f"<p><b>{done}</b></p>" + back)

    def return_link(self, trade: dict) -> str:
        """The signed synchronous return (return_url) after a payment."""
        params = {"charset": "utf-8", "out_trade_no": trade["out_trade_no"],
                  "method": "alipay.trade.page.pay.return", "total_amount": trade["total_amount"],
                  "trade_no": trade["trade_no"], "auth_app_id": trade["app_id"],
                  "version": "1.0", "app_id": trade["app_id"], "sign_type": "RSA2",
                  "seller_id": self.registration.seller_id,
                  "timestamp": protocol.beijing_time(_now())}
        params["sign"] = protocol.sign_text(protocol.canonical(params, exclude=(
            "sign", "sign_type")), self._alipay_key)
        separator = "&" if "?" in trade["return_url"] else "?"
        return trade["return_url"] + separator + urlencode(params)

    # --- paying and notifying ---------------------------------------------------------
    def confirm(self, out_trade_no: str) -> dict | None:
        """The buyer paid: the trade succeeds and its notification goes out."""
        with self.lock:
            trade = self.trades.get(out_trade_no)
            if trade is None or trade["status"] != protocol.WAIT_BUYER_PAY:
                return trade
            trade["status"] = protocol.TRADE_SUCCESS
            trade["paid_at"] = protocol.beijing_time(_now())
            self._save()
            delay = float(self.control["notify_delay_seconds"] or 0)
        log.info("paid %s (%s, ￥%s)", out_trade_no, trade["trade_no"], trade["total_amount"])
        self._later(delay, self.deliver, out_trade_no)
        return trade

    def notification(self, out_trade_no: str, *, tamper: str | None = None) -> dict[str, str]:
        """The signed trade_status_sync form for the trade as it stands now."""
        with self.lock:
            trade = copy.deepcopy(self.trades[out_trade_no])
        now = protocol.beijing_time(_now())
        form = {"notify_time": now, "notify_type": "trade_status_sync",
                "notify_id": _digits("", 34), "charset": "utf-8", "version": "1.0",
                "app_id": trade["app_id"], "auth_app_id": trade["app_id"],
                "seller_id": self.registration.seller_id, "buyer_id": _digits("2088", 16),
                "trade_no": trade["trade_no"], "out_trade_no": trade["out_trade_no"],
                "trade_status": trade["status"], "total_amount": trade["total_amount"],
                "subject": trade["subject"], "gmt_create": trade["created_at"]}
        if trade.get("paid_at"):
            form.update(gmt_payment=trade["paid_at"], receipt_amount=trade["total_amount"],
                        buyer_pay_amount=trade["total_amount"],
                        invoice_amount=trade["total_amount"], point_amount="0.00",
                        fund_bill_list=json.dumps([{"amount": trade["total_amount"],
                                                    "fundChannel": "ALIPAYACCOUNT"}],
                                                  separators=(",", ":")))
        if trade["refunded"]:
            form.update(refund_fee=protocol.yuan(trade["refunded"]), gmt_refund=now,
                        out_biz_no=list(trade["refunds"])[-1])
        form["sign"] = protocol.sign_text(protocol.canonical(form), self._alipay_key)
        form["sign_type"] = protocol.SIGN_TYPE
        if tamper == "amount":
            form["total_amount"] = protocol.yuan(max(1, protocol.fen(trade["total_amount"]) // 100))
        elif tamper == "signature":
            form["sign"] = protocol.sign_text("forged", protocol.load_private_key(
                protocol.new_key_pair(1024)[0]))
        return form

    def deliver(self, out_trade_no: str, attempt: int = 0) -> None:
        """Send the trade's notification as the controls say; repeat until `success`."""
        with self.lock:
            trade = self.trades.get(out_trade_no)
            control = copy.deepcopy(self.control)
        if trade is None or not trade.get("notify_url") or control["notify"] == "drop":
            return
        tamper = control["notify_tamper"]
        times = max(1, int(control["notify_repeat"] or 1)) if attempt == 0 else 1
        acknowledged = False
        for _ in range(times):
            form = self.notification(out_trade_no, tamper=tamper)
            try:
                status, text = self.post(trade["notify_url"], form)
            except OSError as error:
                status, text = 0, str(error)
            ok = status == 200 and text.strip() == protocol.NOTIFY_ACK
            acknowledged = acknowledged or ok
            with self.lock:
                self.deliveries.append({"out_trade_no": out_trade_no, "attempt": attempt,
                                        "trade_status": form["trade_status"],
                                        "tamper": tamper, "status": status,
                                        "answer": text[:200]})
            log.info("notified %s (%s, attempt %d): %s %s", out_trade_no, form["trade_status"],
                     attempt + 1, status, text[:60])
        if not acknowledged and not tamper and attempt + 1 < int(control["notify_retries"]):
            # Alipay repeats over 25 hours; the stand-in compresses that to seconds.
            wait = min(30.0, float(control["notify_retry_seconds"]) * 2 ** attempt)
            self._later(wait, self.deliver, out_trade_no, attempt + 1)

    def listing(self) -> dict:
        with self.lock:
            return copy.deepcopy({"trades": self.trades, "transfers": self.transfers,
                                  "deliveries": self.deliveries[-200:]})


def _ok() -> dict:
    return {"code": protocol.SUCCESS_CODE, "msg": "Success"}


def _error(code: str, msg: str, sub_code: str, sub_msg: str) -> dict:
    return {"code": code, "msg": msg, "sub_code": sub_code, "sub_msg": sub_msg}


def _digits(prefix: str, length: int) -> str:
    return prefix + "".join(random.choices("0123456789", k=max(0, length - len(prefix))))


def _trade_no() -> str:
    return _digits(_now().strftime("%Y%m%d") + "22001", 28)


def _root(base_url: str) -> str:
    parts = urlsplit(base_url or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def _page(status: int, title: str, body: str, refresh: str | None = None) -> tuple[int, str, str]:
    meta = f"<meta http-equiv='refresh' content='2;url={refresh}'>" if refresh else ""
    return status, "text/html; charset=utf-8", (
        "<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'>{meta}"
        f"<title>{html.escape(title)}</title><style>body{{font-family:sans-serif;max-width:28em;"
        "margin:3em auto;padding:0 1em}h1{color:#1677ff;font-size:1.3em}.amount{font-size:2em}"
        "button{background:#1677ff;color:#fff;border:0;padding:.7em 2em;font-size:1em;"
        "border-radius:4px}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>{body}"
        "<p><small>本地支付宝替身 (alipay stand-in) — 不涉及真实资金</small></p></body></html>")


# --- HTTP ----------------------------------------------------------------------------
class Handler(BaseHTTPRequestHandler):
    standin: StandIn  # set on the subclass by make_server
    server_version = "alipay-standin/1"

    def log_message(self, fmt, *args):
        log.debug("%s %s", self.address_string(), fmt % args)

    def _send(self, status: int, content_type: str, body: str,
              headers: dict | None = None) -> None:
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _json(self, status: int, data) -> None:
        self._send(status, "application/json; charset=utf-8",
                   json.dumps(data, ensure_ascii=False, indent=1))

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _base(self) -> str:
        return f"http://{self.headers.get('Host') or '%s:%d' % self.server.server_address[:2]}"

    def do_GET(self):
        parts = urlsplit(self.path)
        path = parts.path
        if path == "/gateway.do":
            return self._gateway(dict(parse_qsl(parts.query, keep_blank_values=True)))
        if path.startswith("/standin/cashier/"):
            return self._send(*self.standin.cashier(path.rsplit("/", 1)[-1], self._base()))
        if path == "/_standin/control":
            return self._json(200, self.standin.control)
        if path == "/_standin/trades":
            return self._json(200, self.standin.listing())
        if path in ("/", "/health"):
            return self._send(200, "text/plain; charset=utf-8", "alipay stand-in\n")
        self._send(404, "text/plain; charset=utf-8", "not found\n")

    def do_POST(self):
        parts = urlsplit(self.path)
        path, body = parts.path, self._body()
        if path == "/gateway.do":
            params = dict(parse_qsl(parts.query, keep_blank_values=True))
            params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
            return self._gateway(params)
        if path.startswith("/standin/pay/"):
            out_trade_no = path.rsplit("/", 1)[-1]
            self.standin.confirm(out_trade_no)
            return self._send(303, "text/plain; charset=utf-8", "paid\n",
                              {"Location": f"/standin/cashier/{out_trade_no}"})
        if path == "/_standin/control":
            try:
                changes = json.loads(body or b"{}")
                return self._json(200, self.standin.set_control(changes))
            except (ValueError, TypeError, AttributeError) as error:
                return self._json(400, {"error": str(error)})
        if path == "/_standin/reset":
            return self._json(200, self.standin.reset_control())
        if path.startswith("/_standin/trades/") and path.endswith("/notify"):
            out_trade_no = path.split("/")[-2]
            if out_trade_no not in self.standin.trades:
                return self._json(404, {"error": "no such trade"})
            self.standin.deliver(out_trade_no)
            return self._json(200, {"notified": out_trade_no})
        self._send(404, "text/plain; charset=utf-8", "not found\n")

    def _gateway(self, params: dict) -> None:
        try:
            self._send(*self.standin.gateway(params, self._base()))
        except AnswerLost:
            self.close_connection = True  # the work is done; the caller never hears it


def make_server(standin: StandIn, host: str = "127.0.0.1", port: int = DEFAULT_PORT):
    handler = type("StandInHandler", (Handler,), {"standin": standin})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def _stop(signum, frame):
    raise KeyboardInterrupt


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--data-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(stream=sys.stdout, level=logging.INFO,
                        format="alipay-standin: %(message)s")
    registration = ensure_registration(args.data_dir)
    standin = StandIn(registration, args.data_dir / "state.json")
    server = make_server(standin, args.host, args.port)
    signal.signal(signal.SIGTERM, _stop)
    print(f"alipay-standin: serving http://{args.host}:{args.port}/gateway.do "
          f"(app id {registration.app_id})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        standin.close()
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
