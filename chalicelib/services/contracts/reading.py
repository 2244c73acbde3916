"""Reading contracts and statements, for their parties and operators."""
from datetime import datetime

from chalicelib import clock
from chalicelib.domain import contracts as deal
from chalicelib.domain.actors import Caller
from chalicelib.services.contracts.state import (deadlines, facts, load, role_of, terms_of,
                                                 trial_ends_on)
from chalicelib.storage import status_shards
from chalicelib.storage.base import READ_BUDGET, bounded_query
from chalicelib.storage.contracts import ContractModel, StatementModel

OUTSTANDING = ("open", "submitted", "payable", "disputed")


def statements_of(contract_id: str) -> list[StatementModel]:
    """Every statement of a contract, by period (a contract has a few dozen at most)."""
    return list(StatementModel.query(contract_id, consistent_read=True))


def owed(statements: list[StatementModel], now: datetime) -> int:
    """What the buyer owes past its bills' `pay_by`."""
    key = clock.to_key(now)
    return sum(int(s.amount or 0) - int(s.paid) for s in statements
               if s.status == "payable" and s.pay_by and s.pay_by <= key)


def present(contract: ContractModel, caller: Caller, *, now: datetime | None = None,
            statements: list[StatementModel] | None = None) -> dict:
    """The contract's answer for `caller` (a party or an operator)."""
    now = now or clock.now()
    terms = terms_of(contract)
    role = role_of(caller, contract)
    paid, used = int(contract.deposit_paid), int(contract.deposit_used)
    returned = int(contract.deposit_returned)
    if statements is None:
        statements = statements_of(contract.id) if contract.live_on else []
    last_trial = trial_ends_on(contract, terms)
    return {
        "id": contract.id,
        "status": contract.status,
        "status_label": deal.LABELS[contract.status],
        "buyer_id": contract.buyer_id,
        "provider_id": contract.provider_id,
        "service_id": contract.service_id,
        "service": {"title": contract.service.title, "category": contract.service.category},
        "requirement": contract.requirement,
        "terms": terms.as_dict(),
        "signed_by": list(contract.signed_by or []),
        "live_on": contract.live_on,
        "ends_on": contract.ends_on,
        "deposit": {"paid": paid, "held": paid - used - returned, "used": used,
                    "returned": returned},
        "deadlines": deadlines(contract, terms) | {
            "trial_ends_on": last_trial.isoformat() if last_trial else None},
        "owed": owed(statements, now),
        "terminated": dict(contract.terminated.as_dict()) if contract.terminated else None,
        "created_at": clock.key_to_iso(contract.created_at),
        "updated_at": clock.key_to_iso(contract.updated_at),
        "allowed_actions": deal.allowed_actions(contract.status, role,
                                                facts(contract, role, now)),
    }


def get_contract(caller: Caller, contract_id: str, now: datetime) -> dict:
    contract = load(contract_id)
    role_of(caller, contract)  # a stranger gets 404 before anything else is read
    return present(contract, caller, now=now)


def list_contracts(caller: Caller, *, as_: str, status: str | None, limit: int, start_key,
                   now: datetime):
    """The caller's contracts as buyer or provider, newest first (a status filters)."""
    index = ContractModel.by_buyer if as_ == "buyer" else ContractModel.by_provider
    kwargs = {"filter_condition": ContractModel.status == status} if status else {}
    items, last_key, _ = bounded_query(ContractModel, index, caller.user_id, limit=limit,
                                       read_budget=READ_BUDGET, page_size=limit,
                                       later_page_size=100, last_evaluated_key=start_key,
                                       scan_index_forward=False, **kwargs)
    return [present(c, caller, now=now) for c in items], last_key


def list_by_status(status: str, *, limit: int, start_key, caller: Caller, now: datetime):
    """Operators: contracts in `status`, longest in it first."""
    items, next_key = status_shards.merged_page(ContractModel.by_status_shard, status, limit=limit,
                                                start_key=start_key, newest_first=False)
    return [present(c, caller, now=now) for c in items], next_key


def present_statement(s: StatementModel) -> dict:
    return {
        "id": s.id, "contract_id": s.contract_id, "status": s.status, "billing": s.billing,
        "kind": s.kind, "period_start": s.period_start, "period_end": s.period_end,
        "days": int(s.days), "length": int(s.length), "base": int(s.base),
        "sales": int(s.sales) if s.sales is not None else None,
        "commission": int(s.commission), "amount": int(s.amount) if s.amount is not None else None,
        "paid": int(s.paid), "paid_from_deposit": int(s.paid_from_deposit),
        "kpis": s.kpis.as_dict() if s.kpis else {}, "files": list(s.files or []),
        "dispute": s.dispute.as_dict() if s.dispute else None,
        "resolution": s.resolution.as_dict() if s.resolution else None,
        "repriced": s.repriced.as_dict() if s.repriced else None,
        "submit_by": clock.key_to_iso(s.submit_by), "confirm_by": clock.key_to_iso(s.confirm_by),
        "pay_by": clock.key_to_iso(s.pay_by), "paid_at": clock.key_to_iso(s.paid_at),
        "opened_at": clock.key_to_iso(s.opened_at),
    }


def list_statements(caller: Caller, contract_id: str) -> dict:
    contract = load(contract_id)
    role_of(caller, contract)
    return {"items": [present_statement(s) for s in statements_of(contract_id)]}


def disputed_statements(*, limit: int, start_key):
    """Operators: disputed statements, oldest first."""
    page = StatementModel.disputed.query("DISPUTED", limit=limit, last_evaluated_key=start_key)
    items = list(page)
    return [present_statement(s) for s in items], page.last_evaluated_key
