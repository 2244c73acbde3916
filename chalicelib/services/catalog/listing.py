"""Listing a service (上架).

Listing is one TransactWrite: the service (expected status and version), the provider
(approved, and under the 10-listing limit), the campaign (still active, for a trial)
and the uniqueness guards (same title, trial slot). Whatever raced us, the transaction's
cancellation reasons say which rule it broke.
"""
from datetime import datetime

from pynamodb.exceptions import DoesNotExist, TransactWriteError

from chalicelib import clock
from chalicelib.domain import catalog as rules
from chalicelib.domain.actors import Caller
from chalicelib.domain.errors import (CampaignNotActive, Conflict, DuplicateListing,
                                      InvalidState, ListingLimitReached, NotFound,
                                      ProviderNotApproved, ServiceIncomplete, TrialPriceTooHigh,
                                      TrialSlotUsed)
from chalicelib.services import campaigns, market
from chalicelib.services.catalog.reading import (ATTEMPTS, fields_of, find_service,
                                                 load_service, view)
from chalicelib.storage.base import cancellation_codes, is_conflict, transact_write
from chalicelib.storage.catalog import (CampaignModel, GuardModel, ProviderModel, ServiceModel,
                                       get_provider)

FAILED = "ConditionalCheckFailed"


def title_guard_key(provider_id: str, title: str) -> str:
    return f"TITLE#{provider_id}#{rules.normalize_title(title)}"


def trial_guard_key(campaign_id: str, provider_id: str) -> str:
    return f"TRIAL#{campaign_id}#{provider_id}"


def _guard(key: str) -> GuardModel | None:
    try:
        return GuardModel.get(key, consistent_read=True)
    except DoesNotExist:
        return None


def _nearly_identical_twin(service: ServiceModel) -> str | None:
    text = rules.service_text(service.title, service.summary, service.content)
    for other in ServiceModel.by_listed_provider.query(service.provider_id):
        if other.id != service.id and other.status == "listed" and rules.nearly_identical(
                text, rules.service_text(other.title, other.summary, other.content)):
            return other.id
    return None


def list_service(caller: Caller, service_id: str, now: datetime,
                 campaign_id: str | None = None) -> dict:
    """上架: list a service, checking the contract's rules in order (trial if campaign_id)."""
    for _ in range(ATTEMPTS):
        service = load_service(caller, service_id, owner_only=True)
        if _try_list(service, now, campaign_id):
            market.refresh_market_entries(service_id)
            return view(find_service(service_id))
    raise Conflict()


def _try_list(service: ServiceModel, now: datetime, campaign_id: str | None) -> bool:
    profile = get_provider(service.provider_id)
    if profile is None or profile.status != "approved":  # rule 1
        raise ProviderNotApproved(status=profile.status if profile else "none")
    if service.status == "listed":
        raise InvalidState("the service is already listed", status=service.status)
    missing = rules.missing_for_listing(fields_of(service), bool(service.logo_key))
    if missing:  # rule 2
        raise ServiceIncomplete(missing=missing)
    if campaign_id:  # a trial listing stands outside the 10 but has its own rules
        campaign = campaigns.get_campaign(campaign_id)
        if campaign is None:
            raise NotFound("no such campaign", field="campaign_id")
        if not campaigns.is_active(campaign, now):
            raise CampaignNotActive(campaign_id=campaign_id)
        if service.price > campaign.max_price:
            raise TrialPriceTooHigh(max_price=int(campaign.max_price), price=int(service.price))
        if _guard(trial_guard_key(campaign_id, service.provider_id)):
            raise TrialSlotUsed(campaign_id=campaign_id)
    elif (profile.listed_count or 0) >= rules.LISTING_LIMIT:  # rule 3
        raise ListingLimitReached(limit=rules.LISTING_LIMIT)
    title_key = title_guard_key(service.provider_id, service.title)
    holder = _guard(title_key)
    if holder and holder.service_id != service.id:  # rule 4
        raise DuplicateListing(duplicate_of=holder.service_id, reason="same title")
    twin = _nearly_identical_twin(service)
    if twin:
        raise DuplicateListing(duplicate_of=twin, reason="nearly identical")
    return _commit_listing(service, now, campaign_id, title_key)


def _commit_listing(service: ServiceModel, now: datetime, campaign_id: str | None,
                    title_key: str) -> bool:
    S, stamp, P = ServiceModel, clock.to_key(now), ProviderModel
    try:
        with transact_write() as tx:
            # The version condition makes the checks above hold for the service we
            # read: an edit or a logo change in between sends us round again.
            tx.update(service, actions=[
                S.status.set("listed"), S.listed_at.set(stamp), S.updated_at.set(stamp),
                S.listed_provider_id.set(service.provider_id), S.guard_keys.set([title_key]),
                S.trial_campaign_id.set(campaign_id) if campaign_id else S.trial_campaign_id.remove(),
                S.delisted_reason.remove(), S.version.add(1),
            ], condition=S.status.is_in(*rules.EDITABLE) & (S.version == service.version))
            # The counter and its limit live on one item, so ten listings racing for the
            # last slot serialise here and exactly one wins.
            if campaign_id:
                tx.update(P(service.provider_id), actions=[P.trial_listed_count.add(1)],
                          condition=P.status == "approved")
            else:
                tx.update(P(service.provider_id), actions=[P.listed_count.add(1)],
                          condition=(P.status == "approved")
                          & (P.listed_count < rules.LISTING_LIMIT))
            tx.save(GuardModel(title_key, service_id=service.id,
                               provider_id=service.provider_id, created_at=stamp),
                    condition=GuardModel.key.does_not_exist())
            if campaign_id:
                tx.condition_check(CampaignModel, campaign_id,
                                   condition=(CampaignModel.starts_at <= stamp)
                                   & (CampaignModel.ends_at > stamp))
                # Kept after delisting: the slot is used once per campaign, for good.
                tx.save(GuardModel(trial_guard_key(campaign_id, service.provider_id),
                                   service_id=service.id, provider_id=service.provider_id,
                                   created_at=stamp),
                        condition=GuardModel.key.does_not_exist())
    except TransactWriteError as error:
        _explain_listing_refusal(error, service, campaign_id, title_key)
        return False
    return True


def _explain_listing_refusal(error, service, campaign_id, title_key) -> None:
    """Raise the rule a refused listing broke; return to retry (a race on the service
    itself, or a transaction conflict)."""
    codes = cancellation_codes(error) + [None] * 5
    if codes[0] == FAILED:
        # The service itself changed (a double click listed it, an edit): decide again
        # from a fresh read. DynamoDB Local then blames the provider's counter too even
        # with room left, which answered a double click with LISTING_LIMIT_REACHED.
        return
    if codes[1] == FAILED:
        profile = get_provider(service.provider_id)
        if profile is None or profile.status != "approved":
            raise ProviderNotApproved(status=profile.status if profile else "none")
        raise ListingLimitReached(limit=rules.LISTING_LIMIT)
    if campaign_id and codes[3] == FAILED:
        raise CampaignNotActive(campaign_id=campaign_id)
    if campaign_id and codes[4] == FAILED:
        raise TrialSlotUsed(campaign_id=campaign_id)
    if codes[2] == FAILED:
        holder = _guard(title_key)
        if holder and holder.service_id != service.id:
            raise DuplicateListing(duplicate_of=holder.service_id, reason="same title")
    if not any(codes) and not is_conflict(error):
        raise error
