"""Money views: what the ledger owes the caller, and the operator's ledger audit."""
from chalice import Blueprint

from chalicelib import lazy
from chalicelib.api import answers
from chalicelib.api.routing import OPERATOR, USER, route

ledger_check = lazy.module("chalicelib.services.ledger_check")
payouts = lazy.module("chalicelib.services.payouts")

bp = Blueprint(__name__)


@route(bp, "/me/balance", "GET", auth=USER, response=answers.BALANCE, tag="money")
def my_balance(req):
    """What the platform owes the caller: available earnings and pending withdrawals."""
    return payouts.balance(req.caller)


@route(bp, "/admin/ledger/check", "GET", response=answers.LEDGER_CHECK, auth=OPERATOR, tag="admin")
def check_ledger(req):
    """Audit: postings balance, every order's escrow and payable agree with them."""
    return ledger_check.check_ledger()
