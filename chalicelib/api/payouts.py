"""Payout routes (提现): the payout account, withdrawals, and the caller's statement."""
from chalice import Blueprint

from chalicelib import lazy
from chalicelib.api.pagination import encode_cursor, page
from chalicelib.api.routing import PAGING, USER, route
from chalicelib.api.schema import DateTime, Enum, Int, ListOf, Obj, Str
from chalicelib.domain import escrow as money
from chalicelib.domain import payouts as payout_rules

payouts = lazy.module("chalicelib.services.payouts")

bp = Blueprint(__name__)

PAYOUT_ACCOUNT_BODY = Obj({
    "account": Str(3, 100, example="13800138000",
                   description="the Alipay account (phone, e-mail or 2088… user id)"),
    "name": Str(1, 50, example="张小美", description="the account holder's real name"),
}, name="PayoutAccountInput")
WITHDRAW = Obj({
    "amount": Int(minimum=payout_rules.MIN_WITHDRAWAL, example=47405,
                  description="fen, at most what is available "
                              "(Alipay transfers start at 0.10 CNY)"),
}, name="WithdrawalRequest")

_WHEN = {"required": True, "example": "2026-11-22T08:00:00+00:00"}
PAYOUT_ACCOUNT = Obj({
    "account": Str(3, 100), "name": Str(1, 50), "updated_at": DateTime(**_WHEN),
}, name="PayoutAccount")
WITHDRAWAL = Obj({
    "id": Str(1, 128), "amount": Int(minimum=payout_rules.MIN_WITHDRAWAL), "currency": Enum(["CNY"]),
    "status": Enum(list(payout_rules.STATUSES)),
    "account": Str(1, 100, description="the payout account, masked"),
    "created_at": DateTime(**_WHEN), "updated_at": DateTime(**_WHEN),
    "paid_at": DateTime(nullable=True), "failed_at": DateTime(nullable=True),
    "failure_reason": Str(0, 500, nullable=True, description="the gateway's refusal"),
}, name="Withdrawal")
STATEMENT_LINE = Obj({
    "id": Str(1, 200), "kind": Enum(["release", payout_rules.WITHDRAWAL, payout_rules.RETURNED,
                                           # 全额退款 (issue 21): a reversed deposit, the
                                           # debt it left, and its repayment.
                                           money.REVERSAL, money.DEBT, money.DEBT_REPAYMENT]),
    "amount": Int(minimum=-10**12, description="fen; positive in, negative out"),
    "currency": Enum(["CNY"]),
    "order_id": Str(1, 128, nullable=True), "withdrawal_id": Str(1, 128, nullable=True),
    "fee": Int(nullable=True, description="on a release: the platform fee kept from it"),
    "at": DateTime(**_WHEN),
}, name="StatementLine")


def _page(item: Obj, name: str) -> Obj:
    return Obj({"items": ListOf(item, 0, 100), "next_cursor": Str(1, 4096, nullable=True)},
               name=name)


@route(bp, "/providers/me/payout-account", "PUT", auth=USER, body=PAYOUT_ACCOUNT_BODY,
       response=PAYOUT_ACCOUNT, tag="payouts")
def set_payout_account(req):
    """Set where the caller's withdrawals are paid (an Alipay account)."""
    return payouts.set_payout_account(req.caller, now=req.now, **req.body)


@route(bp, "/providers/me/payout-account", "GET", auth=USER, response=PAYOUT_ACCOUNT,
       tag="payouts")
def get_payout_account(req):
    """The caller's payout account (404 before one is set)."""
    return payouts.get_payout_account(req.caller)


@route(bp, "/me/withdrawals", "POST", auth=USER, body=WITHDRAW, status=201,
       response=WITHDRAWAL, tag="payouts")
def withdraw(req):
    """提现: `available` drops at once; the transfer runs in the background."""
    return payouts.request_withdrawal(req.caller, req.body["amount"], req.now,
                                      request_key=req.request_key)


@route(bp, "/me/withdrawals", "GET", auth=USER, query=PAGING,
       response=_page(WITHDRAWAL, "WithdrawalPage"), tag="payouts")
def list_withdrawals(req):
    """The caller's withdrawals, newest first."""
    scope = f"withdrawals:{req.caller.user_id}"
    limit, start_key = req.paging(scope)
    items, last_key = payouts.list_withdrawals(req.caller, limit=limit, start_key=start_key)
    return page(items, encode_cursor(last_key, scope))


@route(bp, "/me/statement", "GET", auth=USER, query=PAGING,
       response=_page(STATEMENT_LINE, "StatementPage"), tag="payouts")
def statement(req):
    """Every movement of the caller's available balance, newest first."""
    scope = f"statement:{req.caller.user_id}"
    limit, start_key = req.paging(scope)
    items, last_key = payouts.statement(req.caller, limit=limit, start_key=start_key)
    return page(items, encode_cursor(last_key, scope))
