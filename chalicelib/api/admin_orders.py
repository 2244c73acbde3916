"""Operators' order routes: every order in one status, and so the dispute queue."""
from chalice import Blueprint

from chalicelib import lazy
from chalicelib.api import answers
from chalicelib.api.pagination import encode_cursor, page
from chalicelib.api.routing import OPERATOR, PAGING, route
from chalicelib.api.schema import Bool, DateTime, Enum, Obj
from chalicelib.domain import orders as life

queue = lazy.module("chalicelib.services.orders.queue")

bp = Blueprint(__name__)

QUEUE_QUERY = {**PAGING, "status": Enum(list(life.STATES), required=False,
                                        description="default disputed: the dispute queue")}
# The order, plus what the dispute queue is worked by (always present).
QUEUE_ITEM = Obj({
    **answers.ORDER.fields,
    "evidence_until": DateTime(nullable=True, description=(
        "disputed: the end of the evidence window (EVIDENCE_SECONDS after the dispute "
        "opened); null for other statuses")),
    "overdue": Bool(description="disputed longer than DISPUTE_SLA_SECONDS (5 days)"),
}, name="QueuedOrder", extensible=answers.ORDER.extensible)


@route(bp, "/admin/orders", "GET", auth=OPERATOR, query=QUEUE_QUERY,
       response=answers.page_of(QUEUE_ITEM), tag="admin")
def orders_in_status(req):
    """Every order in one status; disputed ones oldest first (the dispute queue)."""
    status = req.query.get("status", life.DISPUTED)
    scope = f"admin-orders:{status}"
    limit, start_key = req.paging(scope)
    items, last_key = queue.list_in_status(req.caller, status, limit=limit, start_key=start_key,
                                        now=req.now)
    return page(items, encode_cursor(last_key, scope))
