"""Proposal routes (协商): propose an extension or a cancel, answer it, list them."""
from chalice import Blueprint

from chalicelib import lazy
from chalicelib.api.orders import EMPTY
from chalicelib.api.pagination import encode_cursor, page
from chalicelib.api.routing import PAGING, USER, route
from chalicelib.api.schema import DateTime, Enum, Int, ListOf, Obj, Str
from chalicelib.domain import proposals as deals

proposals = lazy.module("chalicelib.services.orders.proposals")

bp = Blueprint(__name__)

PROPOSE = Obj({
    "kind": Enum(deals.KINDS, description="extension (延期), cancel (协商取消) or "
                                          "partial_refund (部分退款: the buyer, in_progress or "
                                          "in_review; the order stays open)"),
    "due_at": DateTime(required=False, example="2026-12-20T00:00:00+08:00",
                       description="extension only: the new due date, later than now"),
    "refund": Int(minimum=0, required=False,
                  description="cancel: fen back to the buyer, 0..held; the rest of what "
                              "is held is released to the provider. partial_refund: "
                              "1..held-1, off the last unreleased steps first"),
    "note": Str(0, deals.NOTE_MAX, multiline=True, required=False, example="素材晚到了三天"),
    "reason": Str(1, deals.REASON_MAX, multiline=True, required=False, example="少做了一页",
                  description="partial_refund only (required): why the buyer asks"),
}, name="ProposalRequest")
PROPOSAL = Obj({
    "id": Str(1, 128), "order_id": Str(1, 128), "kind": Enum(deals.KINDS),
    "by": Str(1, 128, description="the author's user id"),
    "by_role": Enum(["buyer", "provider"]),
    "status": Enum(deals.STATUSES, description="lapsed: the order changed state while it "
                                               "was open"),
    "due_at": DateTime(nullable=True), "refund": Int(nullable=True),
    "release": Int(nullable=True, description="held - refund when proposed"),
    "note": Str(0, deals.NOTE_MAX, nullable=True), "created_at": DateTime(),
    "reason": Str(1, deals.REASON_MAX, nullable=True, description="partial_refund: why"),
    "expires_at": DateTime(nullable=True, description=(
        "when an unanswered proposal ends: a buyer's refund request (cancel or "
        "partial_refund while in_progress/in_review) is then granted by the sweep "
        "(REFUND_ANSWER_SECONDS), any other proposal lapses as expired "
        "(PROPOSAL_TTL_SECONDS)")),
    "on_expiry": Enum(["accept", "lapse"], nullable=True,
                      description="while open: at expires_at the sweep accepts it (a buyer's "
                                  "refund request, 退款超时) or it lapses as expired"),
    "decided_at": DateTime(nullable=True),
    "decided_by": Str(1, 128, nullable=True,
                      description="who answered; system if it lapsed, expired or was granted "
                                  "by the sweep"),
}, name="Proposal")
PROPOSAL_PAGE = Obj({"items": ListOf(PROPOSAL), "next_cursor": Str(1, 2048, nullable=True)},
                    name="ProposalPage")
_ANSWER_ERRORS = ["FORBIDDEN", "NOT_FOUND", "INVALID_TRANSITION", "PROPOSAL_NOT_OPEN"]


@route(bp, "/orders/{order_id}/proposals", "POST", auth=USER, body=PROPOSE, status=201,
       response=PROPOSAL, tag="proposals",
       errors_=["FORBIDDEN", "NOT_FOUND", "INVALID_TRANSITION", "PROPOSAL_PENDING",
                "VALIDATION_FAILED"])
def propose(req):
    """Propose an extension or a cancel with a refund split (either party, open work)."""
    b = req.body
    return proposals.propose(req.caller, req.params["order_id"], kind=b["kind"],
                             due_at=b.get("due_at"), refund=b.get("refund"), note=b.get("note"),
                             now=req.now, request_key=req.request_key, reason=b.get("reason"))


@route(bp, "/orders/{order_id}/proposals", "GET", auth=USER, query=PAGING,
       response=PROPOSAL_PAGE, tag="proposals")
def list_proposals(req):
    """The order's proposals, oldest first (its parties and operators)."""
    scope = f"proposals:{req.params['order_id']}"
    limit, start_key = req.paging(scope)
    items, last_key = proposals.list_proposals(req.caller, req.params["order_id"],
                                               limit=limit, start_key=start_key)
    return page(items, encode_cursor(last_key, scope))


@route(bp, "/orders/{order_id}/proposals/{proposal_id}", "GET", auth=USER, response=PROPOSAL,
       tag="proposals")
def get_proposal(req):
    """One proposal of the order."""
    return proposals.get_proposal(req.caller, req.params["order_id"], req.params["proposal_id"])


@route(bp, "/orders/{order_id}/proposals/{proposal_id}/accept", "POST", auth=USER, body=EMPTY,
       response=PROPOSAL, tag="proposals", errors_=_ANSWER_ERRORS)
def accept_proposal(req):
    """The other party agrees: an extension moves due_at, a cancel closes the order."""
    return proposals.accept_proposal(req.caller, req.params["order_id"],
                                     req.params["proposal_id"], req.now,
                                     request_key=req.request_key)


@route(bp, "/orders/{order_id}/proposals/{proposal_id}/decline", "POST", auth=USER,
       body=EMPTY, response=PROPOSAL, tag="proposals", errors_=_ANSWER_ERRORS)
def decline_proposal(req):
    """The other party declines; the deal stays as it was."""
    return proposals.decline_proposal(req.caller, req.params["order_id"],
                                      req.params["proposal_id"], req.now,
                                      request_key=req.request_key)


@route(bp, "/orders/{order_id}/proposals/{proposal_id}/withdraw", "POST", auth=USER,
       body=EMPTY, response=PROPOSAL, tag="proposals", errors_=_ANSWER_ERRORS)
def withdraw_proposal(req):
    """Its author takes the proposal back."""
    return proposals.withdraw_proposal(req.caller, req.params["order_id"],
                                       req.params["proposal_id"], req.now,
                                       request_key=req.request_key)
