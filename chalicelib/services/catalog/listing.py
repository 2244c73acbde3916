"""Listing a service (上架).

Listing is one TransactWrite: the service (expected status and version), the provider
(approved, and under the 10-listing limit), the campaign (still active, for a trial)
and the uniqueness guards (same title, trial slot). Whatever raced us, the transaction's
cancellation reasons say which rule it broke. The market's search entries follow from
the services' stream (services.market_index), not from this request.
"""
from datetime import datetime

from pynamodb.exceptions import DoesNotExist, TransactWriteError

from chalicelib import clock
from chalicelib.domain import catalog as catalog_rules
from chalicelib.domain import providers as qualification
from chalicelib.domain.actors import Caller
from chalicelib.domain.errors import (CampaignNotActive, Conflict, DuplicateListing, InvalidState,
                                      ListingLimitReached, NotFound, ProviderNotApproved,
                                      ServiceIncomplete, TrialPriceTooHigh, TrialSlotUsed)
from chalicelib.services import campaigns
from chalicelib.services.catalog.reading import fields_of, load_service, view
from chalicelib.services.optimistic import ATTEMPTS
from chalicelib.storage.base import transaction
from chalicelib.storage.catalog import (CampaignModel, GuardModel, ProviderModel, ServiceModel,
                                        get_provider, trial_guard_key)
from chalicelib.storage.catalog import title_guard_key as guard_for_title


def title_guard_key(provider_id: str, title: str) -> str:
    return guard_for_title(provider_id, catalog_rules.normalize_title(title))


def _guard(key: str) -> GuardModel | None:
    try:
        return GuardModel.get(key, consistent_read=True)
    except DoesNotExist:
        return None


def _nearly_identical_twin(service: ServiceModel) -> str | None:
    text = catalog_rules.service_text(service.title, service.summary, service.content)
    for other in ServiceModel.by_listed_provider.query(service.provider_id):
        if other.id != service.id and other.status == catalog_rules.LISTED and catalog_rules.nearly_identical(
                text, catalog_rules.service_text(other.title, other.summary, other.content)):
            return other.id
    return None


def list_service(caller: Caller, service_id: str, now: datetime,
                 campaign_id: str | None = None) -> dict:
    """上架: list a service, checking the contract's rules in order (trial if campaign_id)."""
    for _ in range(ATTEMPTS):
        service = load_service(caller, service_id, owner_only=True)
        listed = _try_list(service, now, campaign_id)
        if listed is not None:
            return view(listed)
    raise Conflict()


def _try_list(service: ServiceModel, now: datetime,
              campaign_id: str | None) -> ServiceModel | None:
    """Check the rules the service itself can answer, then commit; the rules that need
    other items (the provider's standing and count, the title's guard) are conditions of
    the listing transaction, read only to explain a refusal, in the contract's order."""
    if service.status == catalog_rules.LISTED:
        _refuse(service, InvalidState("the service is already listed", status=service.status),
                campaign_id, rule=2)
    missing = catalog_rules.missing_for_listing(fields_of(service), bool(service.logo_key))
    if missing:  # rule 2 (after rule 1)
        _refuse(service, ServiceIncomplete(missing=missing), campaign_id, rule=2)
    title_key = title_guard_key(service.provider_id, service.title)
    twin = _nearly_identical_twin(service)
    if twin:  # rule 4 (after rules 1 to 3, and after the same title)
        if campaign_id:
            _check_trial(service, now, campaign_id)  # a trial's own rules come first
        holder = _guard(title_key)
        _refuse(service, DuplicateListing(duplicate_of=holder.service_id, reason="same title")
                if holder and holder.service_id != service.id else
                DuplicateListing(duplicate_of=twin, reason="nearly identical"),
                campaign_id, rule=4)
    return _commit_listing(service, now, campaign_id, title_key)


def _check_trial(service: ServiceModel, now: datetime, campaign_id: str) -> None:
    """Raise the trial rule (rule 2) the listing breaks, if any. Read only to explain a
    refusal: the listing transaction itself checks the campaign (running, price cap) and
    claims the trial slot, so a trial listing that passes reads neither beforehand."""
    campaign = campaigns.get_campaign(campaign_id)
    if campaign is None:
        _refuse(service, NotFound("no such campaign", field="campaign_id"), campaign_id, 2)
    if not campaigns.is_active(campaign, now):
        _refuse(service, CampaignNotActive(campaign_id=campaign_id), campaign_id, 2)
    if service.price > campaign.max_price:
        _refuse(service, TrialPriceTooHigh(max_price=int(campaign.max_price),
                                           price=int(service.price)), campaign_id, 2)
    if _guard(trial_guard_key(campaign_id, service.provider_id)):
        _refuse(service, TrialSlotUsed(campaign_id=campaign_id), campaign_id, 2)


def _refuse(service: ServiceModel, error: Exception, campaign_id: str | None, rule: int):
    """Raise the first rule the listing breaks: the provider's standing (rule 1) and
    listing count (rule 3) come before `error` (rule 2 or 4), so they are read now."""
    profile = get_provider(service.provider_id)
    if profile is None or profile.status != qualification.APPROVED:
        raise ProviderNotApproved(status=profile.status if profile else "none")
    if rule > 3 and not campaign_id and (profile.listed_count or 0) >= catalog_rules.LISTING_LIMIT:
        raise ListingLimitReached(limit=catalog_rules.LISTING_LIMIT)
    raise error


def _commit_listing(service: ServiceModel, now: datetime, campaign_id: str | None,
                    title_key: str) -> ServiceModel | None:
    """The listing transaction: the service as listed, or None to decide again."""
    S, stamp, P = ServiceModel, clock.to_key(now), ProviderModel
    tx = transaction()
    try:
        with tx:
            # The version condition makes the checks above hold for the service we
            # read: an edit or a logo change in between sends us round again.
            tx.update("service", service, actions=[
                S.status.set(catalog_rules.LISTED), S.listed_at.set(stamp), S.updated_at.set(stamp),
                S.listed_provider_id.set(service.provider_id), S.guard_keys.set([title_key]),
                S.trial_campaign_id.set(campaign_id) if campaign_id else S.trial_campaign_id.remove(),
                S.delisted_reason.remove(), S.version.add(1),
            ], condition=S.status.is_in(*catalog_rules.EDITABLE) & (S.version == service.version))
            # The counter and its limit live on one item, so ten listings racing for the
            # last slot serialise here and exactly one wins.
            if campaign_id:
                tx.update("provider", P(service.provider_id),
                          actions=[P.trial_listed_count.add(1)],
                          condition=P.status == qualification.APPROVED)
            else:
                tx.update("provider", P(service.provider_id), actions=[P.listed_count.add(1)],
                          condition=(P.status == qualification.APPROVED)
                          & (P.listed_count < catalog_rules.LISTING_LIMIT))
            tx.save("title_guard", GuardModel(title_key, service_id=service.id,
                                              provider_id=service.provider_id,
                                              created_at=stamp),
                    condition=GuardModel.key.does_not_exist())
            if campaign_id:
                # Running now, and the price within its cap (a missing campaign fails too).
                tx.condition_check("campaign", CampaignModel, campaign_id,
                                   condition=(CampaignModel.starts_at <= stamp)
                                   & (CampaignModel.ends_at > stamp)
                                   & (CampaignModel.max_price >= service.price))
                # Kept after delisting: the slot is used once per campaign, for good.
                tx.save("trial_guard",
                        GuardModel(trial_guard_key(campaign_id, service.provider_id),
                                   service_id=service.id, provider_id=service.provider_id,
                                   created_at=stamp),
                        condition=GuardModel.key.does_not_exist())
    except TransactWriteError as error:
        _explain_listing_refusal(error, tx.refusal(error), service, campaign_id, title_key,
                                 now)
        return None
    listed = ServiceModel.from_raw_data(service.serialize())
    listed.status, listed.listed_at, listed.updated_at = catalog_rules.LISTED, stamp, stamp
    listed.listed_provider_id, listed.guard_keys = service.provider_id, [title_key]
    listed.trial_campaign_id, listed.delisted_reason = campaign_id, None
    listed.version = int(service.version) + 1
    return listed


def _explain_listing_refusal(error, refusal, service, campaign_id, title_key, now) -> None:
    """Raise the rule a refused listing broke; return to retry (a race on the service
    itself, or a transaction conflict)."""
    if refusal.failed("service"):
        # The service itself changed (a double click listed it, an edit): decide again
        # from a fresh read. The title guard it now holds fails too: that is no duplicate.
        return
    if refusal.failed("provider"):
        profile = get_provider(service.provider_id)
        if profile is None or profile.status != qualification.APPROVED:
            raise ProviderNotApproved(status=profile.status if profile else "none")
        raise ListingLimitReached(limit=catalog_rules.LISTING_LIMIT)
    if refusal.failed("campaign") or refusal.failed("trial_guard"):
        _check_trial(service, now, campaign_id)  # which trial rule, in the contract's order
        if refusal.failed("trial_guard"):
            raise TrialSlotUsed(campaign_id=campaign_id)
        raise CampaignNotActive(campaign_id=campaign_id)  # ended between commit and read
    if refusal.failed("title_guard"):
        holder = _guard(title_key)
        if holder and holder.service_id != service.id:
            raise DuplicateListing(duplicate_of=holder.service_id, reason="same title")
    if not refusal.explained and not refusal.conflict:
        raise error
