"""Operators' view of what the scheduled jobs could not finish."""
from chalice import Blueprint

from chalicelib import lazy
from chalicelib.api import answers
from chalicelib.api.pagination import encode_cursor, page
from chalicelib.api.routing import OPERATOR, PAGING, route

stuck = lazy.module("chalicelib.services.stuck")

bp = Blueprint(__name__)


@route(bp, "/admin/stuck", "GET",
       response=answers.page_of(answers.STUCK_ITEM), auth=OPERATOR, query=PAGING, tag="admin")
def list_stuck(req):
    """Parked money instructions and poisoned sweep items, by job then id."""
    limit, start_key = req.paging("stuck")
    items, last_key = stuck.list_stuck(limit=limit, start_key=start_key)
    return page(items, encode_cursor(last_key, "stuck"))
