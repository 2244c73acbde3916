"""The stand-in's trade book: trades, refunds and transfers kept in the data directory,
the fault controls, and the answers to the app's signed API calls on /gateway.do."""
import copy
import json
import threading
import time
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qsl

from chalicelib.alipay import protocol
from chalicelib.local.alipay_standin.cashier import Cashier
from chalicelib.local.alipay_standin.common import (DEFAULT_CONTROL, MIN_TRANSFER_FEN,
                                                   PAY_METHODS, AnswerLost, _digits, _error,
                                                   _now, _ok, form_post)
from chalicelib.local.alipay_standin.registration import Registration


class StandIn(Cashier):
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

    def listing(self) -> dict:
        with self.lock:
            return copy.deepcopy({"trades": self.trades, "transfers": self.transfers,
                                  "deliveries": self.deliveries[-200:]})
