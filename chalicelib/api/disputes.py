"""Dispute routes the parties use (issue 24): evidence (举证) and the opener's withdrawal.
Opening a dispute is POST /orders/{id}/dispute (api.orders); settling one is a cancel
proposal (api.proposals); the operator's resolution is api.orders too."""
from chalice import Blueprint

from chalicelib import lazy
from chalicelib.api import answers
from chalicelib.api.messages import MESSAGE_FILE
from chalicelib.api.orders import EMPTY
from chalicelib.api.pagination import encode_cursor, page
from chalicelib.api.routing import PAGING, USER, route
from chalicelib.api.schema import DateTime, Enum, ListOf, Obj, Str
from chalicelib.domain import evidence as rules

disputes = lazy.module("chalicelib.services.orders.disputes")

bp = Blueprint(__name__)

SUBMIT = Obj({
    "statement": Str(1, rules.STATEMENT_MAX, multiline=True,
                     example="交付的首页没有按需求使用品牌红，沟通记录截图见附件"),
    "file_ids": ListOf(Str(1, 128), 0, rules.FILES_MAX, unique=True, required=False,
                       description="files from POST /orders/{order_id}/attachments, uploaded "
                                   "by the caller and not sent before; they download from "
                                   "GET /orders/{order_id}/attachments/{file_id}"),
}, name="EvidenceRequest")
EVIDENCE = Obj({
    "id": Str(1, 128), "order_id": Str(1, 128),
    "author": Str(1, 128, description="the author's user id"),
    "role": Enum(["buyer", "provider"]),
    "statement": Str(1, rules.STATEMENT_MAX, multiline=True),
    "files": ListOf(MESSAGE_FILE, 0, rules.FILES_MAX),
    "at": DateTime(),
    "dispute_at": DateTime(description="the dispute it was given in (the order's dispute.at "
                                       "then): an order disputed again keeps each one's"),
}, name="Evidence")


@route(bp, "/orders/{order_id}/evidence", "POST", auth=USER, body=SUBMIT, status=201,
       response=EVIDENCE, tag="orders",
       errors_=["FORBIDDEN", "NOT_FOUND", "INVALID_TRANSITION", "EVIDENCE_CLOSED",
                "VALIDATION_FAILED"])
def submit_evidence(req):
    """举证: the buyer or the provider of a disputed order, until deadlines.evidence_until
    (EVIDENCE_SECONDS after the dispute opened; later → 409 EVIDENCE_CLOSED); at most
    10 submissions per party per dispute (422 VALIDATION_FAILED)."""
    return disputes.submit_evidence(req.caller, req.params["order_id"],
                                    statement=req.body["statement"],
                                    file_ids=req.body.get("file_ids") or [], now=req.now,
                                    request_key=req.request_key)


@route(bp, "/orders/{order_id}/evidence", "GET", auth=USER, query=PAGING,
       response=answers.page_of(EVIDENCE), tag="orders")
def list_evidence(req):
    """Both parties' evidence, oldest first (the parties and operators)."""
    scope = f"evidence:{req.params['order_id']}"
    limit, start_key = req.paging(scope)
    items, last_key = disputes.list_evidence(req.caller, req.params["order_id"], limit=limit,
                                             start_key=start_key)
    return page(items, encode_cursor(last_key, scope))


@route(bp, "/orders/{order_id}/dispute/withdraw", "POST", auth=USER, body=EMPTY,
       response=answers.ORDER, tag="orders",
       errors_=["FORBIDDEN", "NOT_FOUND", "INVALID_TRANSITION"])
def withdraw_dispute(req):
    """The party that opened the dispute withdraws it before it is resolved: the order
    returns to the state it left, its relative timers restarted from now."""
    return disputes.withdraw_dispute(req.caller, req.params["order_id"], req.now,
                                     request_key=req.request_key)
