"""Daily figures in pictures: the market's for operators, a provider's own for it."""
from chalice import Blueprint

from chalicelib import lazy
from chalicelib.api import answers
from chalicelib.api.routing import OPERATOR, USER, route
from chalicelib.api.schema import Str

analytics = lazy.module("chalicelib.services.analytics")

bp = Blueprint(__name__)

RANGE = {"from": Str(10, 10, required=False, description="first day, YYYY-MM-DD (Beijing)"),
         "to": Str(10, 10, required=False,
                   description="last day, YYYY-MM-DD, included; at most 366 days in all")}


@route(bp, "/admin/analytics/daily", "GET", auth=OPERATOR, query=RANGE,
       response=answers.MARKET_DAYS, tag="admin")
def market_daily(req):
    """The market's figures for every Beijing day of the range, zeros included."""
    return analytics.market_daily(req.query.get("from"), req.query.get("to"))


@route(bp, "/me/analytics/daily", "GET", auth=USER, query=RANGE,
       response=answers.PROVIDER_DAYS, tag="providers")
def my_daily(req):
    """The caller's own shop, day by day: inquiries, 询单转化率, earnings, reviews."""
    return analytics.provider_daily(req.caller.user_id, req.query.get("from"),
                                    req.query.get("to"))
