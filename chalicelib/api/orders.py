"""Order routes: placing, paying, every life-cycle action, deliveries and the history."""
from chalice import Blueprint

from chalicelib import lazy
from chalicelib.api import answers
from chalicelib.api.pagination import encode_cursor, page
from chalicelib.api.routing import OPERATOR, PAGING, USER, route
from chalicelib.api.schema import DateTime, Enum, Int, ListOf, Obj, Str
from chalicelib.domain import orders as life
from chalicelib.domain.catalog import MAX_PRICE

deliverables = lazy.module("chalicelib.services.deliverables")
orders = lazy.module("chalicelib.services.orders")

bp = Blueprint(__name__)

MILESTONE = Obj({
    "title": Str(1, 60, example="首页装修"),
    "amount": Int(minimum=1),
    "release": Enum(["on_approval", "on_accept"]),
}, name="Milestone")

PLACE = Obj({
    "service_id": Str(1, 128),
    "requirement": Str(1, 5000, multiline=True, example="双十一店铺首页装修，红色主题"),
    "due_at": DateTime(example="2026-12-01T00:00:00+00:00", required=False,
                       description="required unless a package is chosen (then its "
                                   "delivery_days from now)"),
    "price": Int(minimum=1, maximum=MAX_PRICE, required=False,
                 description="only for negotiable services (the buyer's offer)"),
    "milestones": ListOf(MILESTONE, 1, 10, required=False),
    # The service's menu (issue 26): a package's name, extras' names, the form's answers.
    "package": Str(1, 20, required=False, description="required when the service has packages"),
    "extras": ListOf(Str(1, 20), 0, 10, unique=True, required=False),
    "answers": answers.AnswerMap(required=False,
                                 description='{"<question id>": "<text or file id>"}'),
}, name="PlaceOrder")
PRICE = Obj({
    "amount": Int(minimum=1, maximum=MAX_PRICE, description="the new price in fen"),
    "milestones": ListOf(MILESTONE, 1, 10, required=False,
                         description="a new plan summing to amount; without it, one step"),
}, name="PriceChange")
REASON = Obj({"reason": Str(1, 500, multiline=True)}, name="Reason")
NOTE = Obj({"note": Str(1, 2000, multiline=True)}, name="Note")
EMPTY = Obj({}, name="Empty")
PAY = Obj({
    "channel": Enum(["page", "wap"], required=False,
                    description="where the buyer pays: a desktop (page, the default) or a "
                                "mobile browser (wap)"),
    "plan_version": Int(minimum=1, required=False,
                        description="the plan the buyer saw (the order's plan_version): "
                                    "another one is refused with 409 PLAN_CHANGED"),
}, name="PayRequest")
UPLOAD = Obj({
    "filename": Str(1, 200, example="首页设计稿.psd"),
    "content_type": Str(3, 100, example="image/png"),
    "size": Int(minimum=1, maximum=life.DELIVERABLE_MAX_BYTES),
}, name="UploadRequest")
DELIVER = Obj({
    "file_ids": ListOf(Str(1, 128), 1, 20, unique=True),
    "note": Str(0, 2000, multiline=True, required=False),
}, name="Delivery")
RESOLVE = Obj({
    "refund": Int(minimum=0),
    "release": Int(minimum=0),
    "note": Str(0, 2000, multiline=True, required=False,
                description="the decision's reasons, sent to both parties"),
    "fault": Enum(["buyer", "provider", "none"],
                  description="whose fault the dispute was (required); `provider` counts in "
                              "the provider's disputes_lost"),
}, name="Resolution")
LIST_QUERY = {**PAGING, "as": Enum(["buyer", "provider"], required=False),
              "status": Enum(list(life.STATES), required=False)}


@route(bp, "/orders", "POST",
       response=answers.ORDER, auth=USER, body=PLACE, status=201, tag="orders",
       errors_=["NOT_FOUND", "FORBIDDEN", "SERVICE_NOT_LISTED", "SERVICE_AT_CAPACITY",
                "TOO_MANY_UNPAID_ORDERS", "VALIDATION_FAILED"])
def place_order(req):
    """Order a listed service (awaiting_payment)."""
    b = req.body
    return orders.place_order(req.caller, service_id=b["service_id"],
                              requirement=b["requirement"], due_at=b.get("due_at"),
                              price=b.get("price"), milestones=b.get("milestones"),
                              now=req.now, request_key=req.request_key,
                              package=b.get("package"), extras=b.get("extras"),
                              answers=b.get("answers"))


@route(bp, "/orders", "GET",
       response=answers.page_of(answers.ORDER), auth=USER, query=LIST_QUERY, tag="orders")
def list_orders(req):
    """The caller's orders as buyer (default) or provider, newest first."""
    as_, status = req.query.get("as", "buyer"), req.query.get("status")
    scope = f"orders:{req.caller.user_id}:{as_}:{status or ''}"
    limit, start_key = req.paging(scope)
    items, last_key = orders.list_orders(req.caller, as_=as_, status=status, limit=limit,
                                         start_key=start_key)
    return page(items, encode_cursor(last_key, scope))


@route(bp, "/orders/{order_id}", "GET", response=answers.ORDER, auth=USER, tag="orders")
def get_order(req):
    """One order, for its buyer, its provider and operators."""
    return orders.get_order(req.caller, req.params["order_id"])


@route(bp, "/orders/{order_id}/events", "GET",
       response=answers.page_of(answers.EVENT), auth=USER, query=PAGING, tag="orders")
def order_events(req):
    """Every state change of the order, oldest first."""
    scope = f"events:{req.params['order_id']}"
    limit, start_key = req.paging(scope)
    items, last_key = orders.list_events(req.caller, req.params["order_id"], limit=limit,
                                         start_key=start_key)
    return page(items, encode_cursor(last_key, scope))


@route(bp, "/orders/{order_id}/pay", "POST",
       response=answers.PAID_ORDER, auth=USER, body=PAY, tag="orders",
       errors_=["INVALID_TRANSITION", "PRICE_NOT_AGREED", "PLAN_CHANGED",
                "SERVICE_AT_CAPACITY"])
def pay_order(req):
    """Pay the full amount into escrow (托管) through the gateway; `payment` says how. A
    negotiable price must be agreed first."""
    return orders.pay_order(req.caller, req.params["order_id"], req.now,
                            channel=req.body.get("channel") or "page",
                            request_key=req.request_key,
                            plan_version=req.body.get("plan_version"))


@route(bp, "/orders/{order_id}/price", "POST",
       response=answers.ORDER, auth=USER, body=PRICE, tag="orders",
       errors_=["INVALID_TRANSITION", "PAYMENT_PENDING"])
def set_price(req):
    """改价 while awaiting payment (negotiable orders): the provider's amount is agreed, the
    buyer's waits for the provider to confirm it (price_agreed)."""
    return orders.set_price(req.caller, req.params["order_id"], req.body["amount"],
                            req.body.get("milestones"), req.now, request_key=req.request_key)


@route(bp, "/orders/{order_id}/accept", "POST",
       response=answers.ORDER, auth=USER, body=EMPTY, tag="orders")
def accept_order(req):
    """The provider accepts (接受); deposit steps are released."""
    return orders.accept_order(req.caller, req.params["order_id"], req.now,
                               request_key=req.request_key)


@route(bp, "/orders/{order_id}/reject", "POST",
       response=answers.ORDER, auth=USER, body=REASON, tag="orders")
def reject_order(req):
    """The provider rejects (拒绝); full refund."""
    return orders.reject_order(req.caller, req.params["order_id"], req.body["reason"], req.now,
                               request_key=req.request_key)


@route(bp, "/orders/{order_id}/deliverables", "POST",
       response=answers.UPLOAD, auth=USER, body=UPLOAD, tag="orders")
def request_upload(req):
    """A presigned S3 POST for one delivery file."""
    b = req.body
    return deliverables.request_upload(req.caller, req.params["order_id"],
                                       filename=b["filename"], content_type=b["content_type"],
                                       size=b["size"], now=req.now)


@route(bp, "/orders/{order_id}/deliverables", "GET",
       response=answers.items_of(answers.DELIVERABLE), auth=USER, tag="orders")
def list_deliverables(req):
    """The order's files and the delivery version each belongs to."""
    return {"items": deliverables.list_deliverables(req.caller, req.params["order_id"])}


@route(bp, "/orders/{order_id}/deliverables/{file_id}", "GET",
       response=answers.DOWNLOAD, auth=USER, tag="orders")
def download_deliverable(req):
    """A presigned download link."""
    return deliverables.download_url(req.caller, req.params["order_id"], req.params["file_id"])


@route(bp, "/orders/{order_id}/deliver", "POST",
       response=answers.ORDER, auth=USER, body=DELIVER, tag="orders")
def deliver_order(req):
    """Hand in uploaded files as the next delivery (上传终稿)."""
    return deliverables.deliver_order(req.caller, req.params["order_id"],
                                      file_ids=req.body["file_ids"],
                                      note=req.body.get("note") or "", now=req.now,
                                      request_key=req.request_key)


@route(bp, "/orders/{order_id}/approve", "POST",
       response=answers.ORDER, auth=USER, body=EMPTY, tag="orders")
def approve_order(req):
    """The buyer approves the current step (验收通过); its escrow is released."""
    return orders.approve_order(req.caller, req.params["order_id"], req.now,
                                request_key=req.request_key)


@route(bp, "/orders/{order_id}/request-revision", "POST",
       response=answers.ORDER, auth=USER, body=NOTE, tag="orders")
def request_revision(req):
    """The buyer asks for a revision."""
    return orders.request_revision(req.caller, req.params["order_id"], req.body["note"],
                                   req.now, request_key=req.request_key)


@route(bp, "/orders/{order_id}/cancel", "POST",
       response=answers.ORDER, auth=USER, body=EMPTY, tag="orders")
def cancel_order(req):
    """The buyer cancels (unpaid, or in progress 15 days past due_at); the provider may
    cancel work in progress. What is held is refunded."""
    return orders.cancel_order(req.caller, req.params["order_id"], req.now,
                               request_key=req.request_key)


DISPUTE = Obj({
    "reason": Str(1, 500, multiline=True),
    "proposal_id": Str(1, 128, required=False,
                       description="escalate a declined refund request (小二介入): the "
                                   "dispute keeps it as dispute.proposal_id"),
}, name="Dispute")


@route(bp, "/orders/{order_id}/dispute", "POST",
       response=answers.ORDER, auth=USER, body=DISPUTE, tag="orders")
def dispute_order(req):
    """Buyer or provider opens a dispute; timers stop; it may escalate a declined refund
    request."""
    return orders.dispute_order(req.caller, req.params["order_id"], req.body["reason"], req.now,
                                request_key=req.request_key,
                                proposal_id=req.body.get("proposal_id"))


@route(bp, "/admin/orders/{order_id}/resolve", "POST",
       response=answers.ORDER, auth=OPERATOR, body=RESOLVE,
       tag="admin")
def resolve_order(req):
    """The operator splits the held escrow between refund and release."""
    b = req.body
    return orders.resolve_order(req.caller, req.params["order_id"], b["refund"], b["release"],
                                b.get("note") or "", req.now, request_key=req.request_key,
                                fault=b["fault"])
