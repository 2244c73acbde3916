"""What every part of the Alipay stand-in shares: its logger, port, pay methods, fault
controls and the small makers of Alipay's answers and numbers."""
import logging
import random
from datetime import datetime, timezone
from urllib.parse import urlencode

from chalicelib.alipay import gateway, protocol

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


def form_post(url: str, form: dict[str, str], timeout: float = 10) -> tuple[int, str]:
    """Post a form the way the app posts to Alipay (the same transport)."""
    return gateway.http_post(url, urlencode(form).encode("utf-8"), timeout)


class AnswerLost(ConnectionResetError):
    """The stand-in did the work and then dropped the connection (control: lose_answer)."""


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _ok() -> dict:
    return {"code": protocol.SUCCESS_CODE, "msg": "Success"}


def _error(code: str, msg: str, sub_code: str, sub_msg: str) -> dict:
    return {"code": code, "msg": msg, "sub_code": sub_code, "sub_msg": sub_msg}


def _digits(prefix: str, length: int) -> str:
    return prefix + "".join(random.choices("0123456789", k=max(0, length - len(prefix))))


def _trade_no() -> str:
    return _digits(_now().strftime("%Y%m%d") + "22001", 28)
