"""The provider's custom offer of a contract (定制报价 → 合同): an inquiry answered with a
contract draft for the inquiry's buyer, already signed by the provider. The contract,
the inquiry's memory of it and the buyer's notice are one transaction."""
from datetime import datetime

from pynamodb.exceptions import TransactWriteError

from chalicelib import clock, ids
from chalicelib.domain import contracts as deal
from chalicelib.domain.actors import Caller
from chalicelib.domain.errors import NotFound, ProviderNotApproved, ServiceNotListed
from chalicelib.services import inquiries, notifications
from chalicelib.services.contracts.reading import present
from chalicelib.services.contracts.state import load
from chalicelib.storage.base import transaction
from chalicelib.storage.catalog import ProviderModel, ServiceModel
from chalicelib.storage.contracts import ContractModel, ServiceRef
from chalicelib.storage.inquiries import InquiryModel, last_key
from chalicelib.storage import status_shards


def offer_contract(caller: Caller, inquiry_id: str, *, requirement: str, terms: dict,
                   now: datetime, request_key: str | None = None) -> dict:
    """A `draft` contract on the inquiry's service for its buyer, signed by the provider
    (who must be approved, as signing asks); the buyer signs or edits the terms."""
    agreed = deal.check_terms(terms)
    inquiry = inquiries.load_for_offer(caller, inquiry_id)
    try:
        service = ServiceModel.get(inquiry.service_id, consistent_read=True)
    except ServiceModel.DoesNotExist:
        raise NotFound("no such service")
    if service.status != "listed":
        raise ServiceNotListed()
    at = clock.to_key(now)
    contract_id = ids.keyed_id("ctr", f"{caller.user_id}:{request_key}") if request_key \
        else ids.new_id("ctr")
    contract = ContractModel(
        contract_id, buyer_id=inquiry.buyer_id, provider_id=inquiry.provider_id,
        service_id=service.id, service=ServiceRef(title=service.title, category=service.category),
        requirement=requirement, terms=agreed.as_dict(), signed_by=[deal.PROVIDER],
        status=deal.DRAFT, status_shard=status_shards.status_key(deal.DRAFT, contract_id),
        version=1, created_key=f"{at}#{contract_id}", created_at=at,
        updated_at=at, request_key=request_key)
    notice = notifications.notification_put(
        inquiry.buyer_id, "contract_offered", order_id=contract_id, service_id=service.id,
        text=f"询单「{service.title}」：服务商发来合同，请查看条款并签约", now=now)
    tx = transaction()
    try:
        with tx:
            tx.save("contract", contract, condition=ContractModel.id.does_not_exist())
            tx.update("inquiry", InquiryModel(inquiry.id),
                      actions=[InquiryModel.contract_id.set(contract_id),
                               InquiryModel.updated_at.set(at),
                               InquiryModel.last_key.set(last_key(at, inquiry.id))],
                      condition=InquiryModel.id.exists())
            # Signed by a provider still approved when the offer commits.
            tx.condition_check("provider", ProviderModel, caller.user_id,
                               condition=ProviderModel.user_id.does_not_exist()
                               | (ProviderModel.status == "approved"))
            notifications.write_in(tx, [notice])
    except TransactWriteError as error:
        refusal = tx.refusal(error)
        if refusal.failed("contract"):
            return present(load(contract_id), caller)  # made by this request's first try
        if refusal.failed("provider"):
            raise ProviderNotApproved()
        raise
    return present(contract, caller)
