"""Agreeing on a contract: proposing it on a listed service, editing its terms, signing,
going live after training, terminating. Each is one decided, conditional change."""
from datetime import datetime

from pynamodb.exceptions import PutError

from chalicelib import clock, ids
from chalicelib.domain import contracts as deal
from chalicelib.domain.actors import Caller
from chalicelib.domain.errors import Forbidden, NotFound, ServiceNotListed
from chalicelib.services import instructions
from chalicelib.services.contracts import engine, repricing
from chalicelib.services.contracts.reading import present
from chalicelib.services.contracts.state import load, terms_of
from chalicelib.storage.base import condition_failed
from chalicelib.storage.catalog import ServiceModel
from chalicelib.storage.contracts import ContractModel, ServiceRef
from chalicelib.storage import status_shards


def _listed_service(caller: Caller, service_id: str) -> ServiceModel:
    if not isinstance(service_id, str) or not 1 <= len(service_id) <= 128:
        raise NotFound("no such service")
    try:
        service = ServiceModel.get(service_id, consistent_read=True)
    except ServiceModel.DoesNotExist:
        raise NotFound("no such service")
    if service.provider_id == caller.user_id:
        raise Forbidden("you cannot contract your own service")
    if service.status == "draft":
        raise NotFound("no such service")
    if service.status != "listed":
        raise ServiceNotListed()
    return service


def create_contract(caller: Caller, *, service_id: str, requirement: str, terms: dict,
                    now: datetime, request_key: str | None = None) -> dict:
    """A contract in `draft` between the caller (buyer) and the service's provider.

    With a `request_key` the id is derived from it, so a retry finds the contract its
    lost answer made instead of making a second."""
    agreed = deal.check_terms(terms)
    service = _listed_service(caller, service_id)
    at = clock.to_key(now)
    contract_id = ids.keyed_id("ctr", request_key) if request_key else ids.new_id("ctr")
    contract = ContractModel(
        contract_id, buyer_id=caller.user_id, provider_id=service.provider_id,
        service_id=service.id, service=ServiceRef(title=service.title, category=service.category),
        requirement=requirement, terms=agreed.as_dict(), signed_by=[], status=deal.DRAFT,
        status_shard=status_shards.status_key(deal.DRAFT, contract_id),
        version=1, created_key=f"{at}#{contract_id}", created_at=at, updated_at=at,
        request_key=request_key)
    try:
        contract.save(condition=ContractModel.id.does_not_exist())
    except PutError as error:
        if not condition_failed(error):
            raise
        contract = load(contract_id)  # made by this request's first try
    return present(contract, caller)


def edit_terms(caller: Caller, contract_id: str, terms: dict, now: datetime, *,
               request_key: str | None = None) -> dict:
    """New terms in `draft`; they clear every signature."""
    agreed = deal.check_terms(terms)

    def shape(change):
        other = change.contract.provider_id if change.params["role"] == deal.BUYER \
            else change.contract.buyer_id
        change.notify(other, "contract_terms_changed",
                      f"{change.contract.service.title}：合同条款已修改，请重新确认并签署")

    after = engine.transition(caller, contract_id, deal.EDIT_TERMS, now,
                              params={"terms": agreed.as_dict()}, request_key=request_key,
                              shape=shape)
    return present(after, caller)


def sign(caller: Caller, contract_id: str, now: datetime, *,
         request_key: str | None = None) -> dict:
    """The caller's signature; the second makes the deposit due (or starts training)."""

    def shape(change):
        title = change.contract.service.title
        if change.to == deal.DRAFT:
            other = change.contract.provider_id if change.params["role"] == deal.BUYER \
                else change.contract.buyer_id
            change.notify(other, "contract_signed", f"{title}：对方已签署合同，等待你签署")
        elif change.to == deal.AWAITING_DEPOSIT:
            change.notify_parties("contract_signed", f"{title}：双方已签署，等待买家支付定金")
        else:
            change.notify_parties("contract_signed", f"{title}：双方已签署，开始培训考核")

    after = engine.transition(caller, contract_id, deal.SIGN, now, request_key=request_key,
                              shape=shape)
    return present(after, caller)


def go_live(caller: Caller, contract_id: str, now: datetime, *,
            request_key: str | None = None) -> dict:
    """Training and assessment passed: the service starts today (trial, or active)."""

    def shape(change):
        label = "试用期开始" if change.to == deal.TRIAL else "正式服务开始"
        change.notify_parties("contract_live", f"{change.contract.service.title}：{label}")

    after = engine.transition(caller, contract_id, deal.GO_LIVE, now, request_key=request_key,
                              shape=shape)
    return present(after, caller)


def terminate(caller: Caller, contract_id: str, reason: str, now: datetime, *,
              request_key: str | None = None) -> dict:
    """解约: before go-live it is cancelled (deposit back in full); in the trial it ends
    today; later it runs out its notice."""

    def shape(change):
        change.set(ContractModel.terminated, {"by": caller.user_id, "reason": reason,
                                              "at": change.at})
        title = change.contract.service.title
        if change.to == deal.ENDING:
            text = f"{title}：合同解约中，服务至 {change.after.ends_on}"
        else:
            text = f"{title}：合同已{deal.LABELS[change.to][1:]}（{reason[:100]}）"
        change.notify_parties("contract_terminated", text)
        refunds[:] = repricing.cut_short(change) if change.to in (deal.ENDING, deal.ENDED) \
            else []

    refunds: list = []
    after = engine.transition(caller, contract_id, deal.TERMINATE, now, request_key=request_key,
                              shape=shape)
    if refunds:
        instructions.execute_quietly(refunds, now)  # the sweep's driver finishes it after a crash
        after = load(contract_id)
    return present(after, caller)


def terms_dict(contract: ContractModel) -> dict:
    return terms_of(contract).as_dict()
