"""Delisting services (下架): by their owner or an operator, every service of a suspended
provider, and the trial services of ended campaigns (a sweep). Each delisting is safe to
run twice or at the same time."""
from datetime import datetime, timedelta

from pynamodb.exceptions import TransactWriteError, UpdateError

from chalicelib import clock
from chalicelib.domain import catalog as catalog_rules
from chalicelib.domain.actors import Caller
from chalicelib.domain.errors import Conflict, InvalidState
from chalicelib.services import notifications
from chalicelib.services.catalog.reading import find_service, load_service, view
from chalicelib.services.optimistic import ATTEMPTS
from chalicelib.storage.base import condition_failed, transaction
from chalicelib.storage.catalog import (CAMPAIGN_KIND, CampaignModel, GuardModel, ProviderModel,
                                        ServiceModel, get_provider)

# A trial listing that committed just before its campaign ended may reach the
# by_trial_campaign index a moment later; the sweep keeps looking that long.
SWEEP_GRACE = timedelta(minutes=5)


def delist_service(caller: Caller, service_id: str, now: datetime) -> dict:
    """下架: the owner or an operator takes a listed service off the market."""
    service = load_service(caller, service_id, owner_only=True, operator_too=True)
    reason = "delisted by an operator" if caller.user_id != service.provider_id else None
    if service.status != catalog_rules.LISTED:
        raise InvalidState("the service is not listed", status=service.status)
    delisted = _delist(service_id, now, reason, read=service)
    if delisted is None:
        raise InvalidState("the service is not listed", status=catalog_rules.DELISTED)
    return view(delisted)


def _delist(service_id: str, now: datetime, reason: str | None,
            campaign_id: str | None = None,
            read: ServiceModel | None = None) -> ServiceModel | None:
    """Delist one service if it is listed (and, given campaign_id, a trial of it): the
    service as delisted, None when there was nothing to do. Safe to run twice or at
    once. A delisting the provider did not make tells them, in the same transaction.
    `read`: the service as the caller has just read it (spares the first read)."""
    S, P, stamp = ServiceModel, ProviderModel, clock.to_key(now)
    for attempt in range(ATTEMPTS):
        service = read if attempt == 0 and read is not None else find_service(service_id)
        if service is None or service.status != catalog_rules.LISTED:
            return None
        if campaign_id and service.trial_campaign_id != campaign_id:
            return None
        counter = P.trial_listed_count if service.trial_campaign_id else P.listed_count
        tx = transaction()
        try:
            with tx:
                tx.update("service", ServiceModel(service.id), actions=[
                    S.status.set(catalog_rules.DELISTED), S.updated_at.set(stamp),
                    S.listed_provider_id.remove(), S.guard_keys.set([]),
                    S.delisted_reason.set(reason) if reason else S.delisted_reason.remove(),
                    S.version.add(1),
                ], condition=(S.status == catalog_rules.LISTED) & (S.version == service.version))
                tx.update("provider", P(service.provider_id), actions=[counter.add(-1)])
                for key in service.guard_keys or []:
                    tx.delete("guard", GuardModel(key),
                              condition=GuardModel.key.does_not_exist()
                              | (GuardModel.service_id == service.id))
                if reason:
                    notifications.write_in(tx, [_delisted_notice(service, reason, now)])
        except TransactWriteError as error:
            refusal = tx.refusal(error)
            if not refusal.explained and not refusal.conflict:
                raise
            continue  # the service changed (a review, a racing delist): look again
        # Its search entries go when the consumer of the services' stream sees this.
        return _as_delisted(service, reason, stamp)
    raise Conflict()


def _as_delisted(service: ServiceModel, reason: str | None, stamp: str) -> ServiceModel:
    """The service as the delisting committed it."""
    delisted = ServiceModel.from_raw_data(service.serialize())
    delisted.status, delisted.updated_at = catalog_rules.DELISTED, stamp
    delisted.listed_provider_id, delisted.guard_keys = None, []
    delisted.delisted_reason, delisted.version = reason, int(service.version) + 1
    return delisted


def delist_all_of_provider(operator: Caller, provider_id: str, now: datetime) -> int:
    """Delist every listed service of a (suspended) provider; returns how many."""
    done = 0
    for _ in range(ATTEMPTS):
        for service in ServiceModel.by_listed_provider.query(provider_id):
            # The index's copy is the first read: the delisting is conditioned on its
            # version, so a copy that lags the table only costs a fresh read and a retry.
            if _delist(service.id, now, "provider suspended", read=service) is not None:
                done += 1
        # The index lags the table: trust the provider's own counters to know when
        # every listing is really gone.
        profile = get_provider(provider_id)
        if profile is None or not (profile.listed_count or 0) + (profile.trial_listed_count or 0):
            break
    return done


def delist_trial_services_of_ended_campaigns(now: datetime, max_services: int = 200) -> dict:
    """Sweep: delist the trial services of campaigns that have ended (bounded,
    idempotent; reads only campaigns not yet swept and their trial services)."""
    key, settled = clock.to_key(now), clock.to_key(now - SWEEP_GRACE)
    report = {"campaigns": 0, "delisted": 0, "more": False}
    for campaign in CampaignModel.by_pending_end.query(
            CAMPAIGN_KIND, CampaignModel.pending_end <= key, limit=50):
        report["campaigns"] += 1
        for service in ServiceModel.by_trial_campaign.query(
                campaign.id, filter_condition=ServiceModel.status == catalog_rules.LISTED):
            if report["delisted"] >= max_services:
                report["more"] = True
                return report
            if _delist(service.id, now, "campaign ended", campaign_id=campaign.id,
                       read=service) is not None:
                report["delisted"] += 1
        if campaign.ends_at <= settled:
            try:
                campaign.update(actions=[CampaignModel.pending_end.remove()],
                                condition=CampaignModel.pending_end.exists())
            except UpdateError as error:
                if not condition_failed(error):
                    raise
    return report


def _delisted_notice(service: ServiceModel, reason: str, now: datetime):
    labels = {"provider suspended": "服务商资质已暂停", "campaign ended": "体验活动已结束"}
    return notifications.notification_put(
        service.provider_id, "service_delisted", service_id=service.id,
        text=f"服务「{service.title}」已下架（{labels.get(reason, '平台下架')}）", now=now)
