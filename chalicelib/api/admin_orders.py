"""Operators' order routes: every order in one status, and so the dispute queue."""
from chalice import Blueprint

from chalicelib.api.pagination import encode_cursor, page
from chalicelib.api.routing import OPERATOR, PAGING, route
from chalicelib.api.schema import Bool, DateTime, Enum, Int, ListOf, MapOf, Obj, Str, page_of
from chalicelib.domain import orders as life
from chalicelib.services.orders import queue

bp = Blueprint(__name__)

_TIME = {"example": "2026-11-22T08:00:00+00:00"}
# The order answer as every order route gives it (extensible: features add fields).
ORDER = Obj({
    "id": Str(1, 128), "status": Enum(list(life.STATES)), "status_label": Str(1, 20),
    "buyer_id": Str(1, 128), "provider_id": Str(1, 128), "service_id": Str(1, 128),
    "service": Obj({
        "title": Str(1, 200), "category": Str(0, 100, nullable=True), "pricing": Str(1, 20),
        "price": Int(), "headline": Str(0, 200, nullable=True),
        "logo_key": Str(0, 1024, nullable=True),
    }, extensible=True, description="the service as it was when ordered"),
    "requirement": Str(0, 5000, multiline=True), "due_at": DateTime(**_TIME),
    "amount": Int(description="fen"), "currency": Str(3, 3),
    "deadlines": MapOf(DateTime(), description="each pending timer and when it fires"),
    "milestones": ListOf(Obj({"title": Str(0, 200), "amount": Int(), "release": Str(1, 20),
                              "status": Str(1, 20)}, extensible=True), 0, 100),
    "current_step": Int(), "revision_count": Int(), "delivery_count": Int(),
    "escrow": Obj({"funded": Int(), "released": Int(), "refunded": Int(), "held": Int()},
                  extensible=True),
    "late_cancel_eligible": Bool(),
    "dispute": Obj({"by": Str(1, 128), "reason": Str(0, 500, multiline=True)},
                   extensible=True, nullable=True,
                   description="who opened the dispute, why, when and from which status"),
    "reviewed_by_buyer": Bool(), "reviewed_by_provider": Bool(), "version": Int(),
    "created_at": DateTime(**_TIME), "updated_at": DateTime(**_TIME),
    **{name: DateTime(nullable=True) for name in (
        "paid_at", "accepted_at", "delivered_at", "completed_at", "closed_at")},
}, name="Order", extensible=True)
QUEUE_QUERY = {**PAGING, "status": Enum(list(life.STATES), required=False,
                                        description="default disputed: the dispute queue")}


@route(bp, "/admin/orders", "GET", auth=OPERATOR, query=QUEUE_QUERY,
       response=page_of(ORDER, "OrderPage"), tag="admin")
def orders_in_status(req):
    """Every order in one status; disputed ones oldest first (the dispute queue)."""
    status = req.query.get("status", life.DISPUTED)
    scope = f"admin-orders:{status}"
    limit, start_key = req.paging(scope)
    items, last_key = queue.list_in_status(status, limit=limit, start_key=start_key)
    return page(items, encode_cursor(last_key, scope))
