"""The buyer's side of the stand-in: the cashier a browser is sent to (page.pay / wap.pay),
the pay page, the signed return link, confirming a payment and its trade_status_sync
notifications. Mixed into StandIn (trades.py), whose lock, trades, controls and keys it uses."""
import copy
import html
import json
from urllib.parse import urlencode, urlsplit

from chalicelib.alipay import protocol
from chalicelib.local.alipay_standin.common import (PAY_METHODS, _digits, _now, _trade_no,
                                                   log)


class Cashier:
    """StandIn's cashier, payments and notifications (see StandIn for the state it keeps)."""

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
