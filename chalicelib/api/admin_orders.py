"""Operators' order routes: every order in one status, and so the dispute queue."""
from chalice import Blueprint

from chalicelib.api import answers
from chalicelib.api.pagination import encode_cursor, page
from chalicelib.api.routing import OPERATOR, PAGING, route
from chalicelib.api.schema import Enum
from chalicelib.domain import orders as life
from chalicelib.services.orders import queue

bp = Blueprint(__name__)

QUEUE_QUERY = {**PAGING, "status": Enum(list(life.STATES), required=False,
                                        description="default disputed: the dispute queue")}


@route(bp, "/admin/orders", "GET", auth=OPERATOR, query=QUEUE_QUERY,
       response=answers.page_of(answers.ORDER), tag="admin")
def orders_in_status(req):
    """Every order in one status; disputed ones oldest first (the dispute queue)."""
    status = req.query.get("status", life.DISPUTED)
    scope = f"admin-orders:{status}"
    limit, start_key = req.paging(scope)
    items, last_key = queue.list_in_status(req.caller, status, limit=limit, start_key=start_key)
    return page(items, encode_cursor(last_key, scope))
