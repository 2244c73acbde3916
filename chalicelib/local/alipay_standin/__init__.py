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
from chalicelib.local.alipay_standin.common import (DEFAULT_CONTROL, DEFAULT_PORT,
                                                   MIN_TRANSFER_FEN, PAY_METHODS, AnswerLost,
                                                   form_post, log)
from chalicelib.local.alipay_standin.registration import (Registration, app_environment,
                                                         ensure_registration)
from chalicelib.local.alipay_standin.server import Handler, main, make_server
from chalicelib.local.alipay_standin.trades import StandIn

__all__ = ["DEFAULT_CONTROL", "DEFAULT_PORT", "MIN_TRANSFER_FEN", "PAY_METHODS", "AnswerLost",
           "Handler", "Registration", "StandIn", "app_environment", "ensure_registration",
           "form_post", "log", "main", "make_server"]
