"""Contract routes (包月合同): terms, signing, the deposit, going live, terminating, and
each period's statement."""
from chalice import Blueprint

from chalicelib import lazy
from chalicelib.api import answers
from chalicelib.api.pagination import encode_cursor, page
from chalicelib.api.routing import OPERATOR, PAGING, USER, route
from chalicelib.api.schema import Enum, Free, Int, ListOf, Obj, Str
from chalicelib.domain import contracts as deal
from chalicelib.domain import statements as bill

agreeing = lazy.module("chalicelib.services.contracts.agreeing")
billing = lazy.module("chalicelib.services.contracts.billing")
payments = lazy.module("chalicelib.services.contracts.payments")
reading = lazy.module("chalicelib.services.contracts.reading")

bp = Blueprint(__name__)

class _Terms(Free):
    """Any object here; `domain.contracts.check_terms` checks it whole, naming each wrong
    field (`terms.<name>`). Documented with the shape the answers show (ContractTerms)."""

    def schema(self) -> dict:
        return {**answers.TERMS.schema(),
                "description": "every field is checked; a wrong one is named in "
                               "details.errors[].field as terms.<name>"}


TERMS = _Terms()
CREATE = Obj({
    "service_id": Str(1, 128),
    "requirement": Str(1, 5000, multiline=True, example="淘宝店铺售前售后客服，3 人两班"),
    "terms": TERMS,
}, name="CreateContract")
NEW_TERMS = Obj({"terms": TERMS}, name="ContractTermsChange")
EMPTY = Obj({}, name="Empty")
REASON = Obj({"reason": Str(1, 500, multiline=True)}, name="Reason")
PAY = Obj({"channel": Enum(["page", "wap"], required=False)}, name="PayRequest")
SUBMIT = Obj({
    "sales": Int(minimum=0, required=False,
                 description="fen of sales in the period; required when commission_bps > 0"),
    "kpis": Free(required=False, description="响应时间, 询单转化率 …"),
    "file_ids": ListOf(Str(1, 128), 0, 20, unique=True, required=False,
                       description="质检报告 uploaded to the contract"),
}, name="StatementSubmission")
RESOLVE = Obj({"amount": Int(minimum=0), "note": Str(1, 2000, multiline=True)},
              name="StatementResolution")
LIST_QUERY = {**PAGING, "as": Enum(["buyer", "provider"], required=False),
              "status": Enum(list(deal.STATES), required=False)}
ADMIN_QUERY = {**PAGING, "status": Enum(list(deal.STATES), required=False),
               "statement_status": Enum([bill.DISPUTED], required=False)}


@route(bp, "/contracts", "POST", response=answers.CONTRACT, body=CREATE, status=201,
       auth=USER, tag="contracts")
def create_contract(req):
    """Propose a contract on a listed service (draft)."""
    b = req.body
    return agreeing.create_contract(req.caller, service_id=b["service_id"],
                                    requirement=b["requirement"], terms=b["terms"],
                                    now=req.now, request_key=req.request_key)


@route(bp, "/contracts", "GET", response=answers.page_of(answers.CONTRACT), auth=USER,
       query=LIST_QUERY, tag="contracts")
def list_contracts(req):
    """The caller's contracts as buyer (default) or provider, newest first."""
    as_, status = req.query.get("as", "buyer"), req.query.get("status")
    scope = f"contracts:{req.caller.user_id}:{as_}:{status or ''}"
    limit, start_key = req.paging(scope)
    items, last_key = reading.list_contracts(req.caller, as_=as_, status=status, limit=limit,
                                             start_key=start_key, now=req.now)
    return page(items, encode_cursor(last_key, scope))


@route(bp, "/contracts/{contract_id}", "GET", response=answers.CONTRACT, auth=USER,
       tag="contracts")
def get_contract(req):
    """One contract, for its parties and operators."""
    return reading.get_contract(req.caller, req.params["contract_id"], req.now)


@route(bp, "/contracts/{contract_id}/terms", "PUT", response=answers.CONTRACT, body=NEW_TERMS,
       auth=USER, tag="contracts")
def edit_terms(req):
    """Replace the terms in draft; clears both signatures."""
    return agreeing.edit_terms(req.caller, req.params["contract_id"], req.body["terms"],
                               req.now, request_key=req.request_key)


@route(bp, "/contracts/{contract_id}/sign", "POST", response=answers.CONTRACT, body=EMPTY,
       auth=USER, tag="contracts")
def sign(req):
    """Sign the terms; both signed → awaiting_deposit (or onboarding with no deposit)."""
    return agreeing.sign(req.caller, req.params["contract_id"], req.now,
                         request_key=req.request_key)


@route(bp, "/contracts/{contract_id}/pay", "POST", response=answers.PAID_CONTRACT, body=PAY,
       auth=USER, tag="contracts")
def pay_deposit(req):
    """Pay the deposit (定金) into escrow through the gateway; `payment` says how."""
    return payments.pay_deposit(req.caller, req.params["contract_id"], req.now,
                                channel=req.body.get("channel") or "page",
                                request_key=req.request_key)


@route(bp, "/contracts/{contract_id}/go-live", "POST", response=answers.CONTRACT, body=EMPTY,
       auth=USER, tag="contracts")
def go_live(req):
    """Training and assessment passed: live today (trial, or active)."""
    return agreeing.go_live(req.caller, req.params["contract_id"], req.now,
                            request_key=req.request_key)


@route(bp, "/contracts/{contract_id}/terminate", "POST", response=answers.CONTRACT,
       body=REASON, auth=USER, tag="contracts")
def terminate(req):
    """解约: cancelled before go-live, ended in the trial, else ending after the notice."""
    return agreeing.terminate(req.caller, req.params["contract_id"], req.body["reason"],
                              req.now, request_key=req.request_key)


@route(bp, "/contracts/{contract_id}/statements", "GET",
       response=answers.items_of(answers.STATEMENT), auth=USER, tag="contracts")
def list_statements(req):
    """Every statement of the contract, by period."""
    return reading.list_statements(req.caller, req.params["contract_id"])


@route(bp, "/contracts/{contract_id}/statements/{statement_id}/submit", "POST",
       response=answers.STATEMENT, body=SUBMIT, auth=USER, tag="contracts")
def submit_statement(req):
    """The provider's statement for an open period: sales, KPIs, QA files."""
    b = req.body
    return billing.submit(req.caller, req.params["contract_id"], req.params["statement_id"],
                          sales=b.get("sales"), kpis=b.get("kpis") or {},
                          file_ids=b.get("file_ids") or [], now=req.now,
                          request_key=req.request_key)


@route(bp, "/contracts/{contract_id}/statements/{statement_id}/confirm", "POST",
       response=answers.STATEMENT, body=EMPTY, auth=USER, tag="contracts")
def confirm_statement(req):
    """The buyer agrees: postpaid → payable; prepaid (after its period) → released."""
    return billing.confirm(req.caller, req.params["contract_id"], req.params["statement_id"],
                           req.now, request_key=req.request_key)


@route(bp, "/contracts/{contract_id}/statements/{statement_id}/dispute", "POST",
       response=answers.STATEMENT, body=REASON, auth=USER, tag="contracts")
def dispute_statement(req):
    """The buyer disagrees: an operator resolves it."""
    return billing.dispute(req.caller, req.params["contract_id"], req.params["statement_id"],
                           req.body["reason"], req.now, request_key=req.request_key)


@route(bp, "/contracts/{contract_id}/statements/{statement_id}/pay", "POST",
       response=answers.PAID_STATEMENT, body=PAY, auth=USER, tag="contracts")
def pay_statement(req):
    """Pay a payable bill through the gateway; `payment` says how."""
    return billing.pay(req.caller, req.params["contract_id"], req.params["statement_id"],
                       req.now, channel=req.body.get("channel") or "page",
                       request_key=req.request_key)


@route(bp, "/admin/contracts/{contract_id}/statements/{statement_id}/resolve", "POST",
       response=answers.STATEMENT, body=RESOLVE, auth=OPERATOR, tag="admin")
def resolve_statement(req):
    """The operator's amount for a disputed statement: as if confirmed with it."""
    return billing.resolve(req.caller, req.params["contract_id"], req.params["statement_id"],
                           req.body["amount"], req.body["note"], req.now,
                           request_key=req.request_key)


@route(bp, "/admin/contracts", "GET", auth=OPERATOR, query=ADMIN_QUERY, tag="admin",
       response=Obj({"items": ListOf(Free(), 0, 1000), "next_cursor": answers.maybe(
           answers.text())}, name="ContractQueue"))
def contract_queue(req):
    """Contracts in a status (longest in it first), or the disputed statements (oldest
    first)."""
    if req.query.get("statement_status"):
        scope = "admin-statements"
        limit, start_key = req.paging(scope)
        items, last_key = reading.disputed_statements(limit=limit, start_key=start_key)
    else:
        status = req.query.get("status", deal.SUSPENDED)
        scope = f"admin-contracts:{status}"
        limit, start_key = req.paging(scope)
        items, last_key = reading.list_by_status(status, limit=limit, start_key=start_key,
                                                 caller=req.caller, now=req.now)
    return page(items, encode_cursor(last_key, scope))
