"""Services in the catalog: drafting, editing, logos, listing (上架) and delisting (下架).

Listing is one TransactWrite: the service (expected status and version), the provider
(approved, and under the 10-listing limit), the campaign (still active, for a trial)
and the uniqueness guards (same title, trial slot). Whatever raced us, the transaction's
cancellation reasons say which rule it broke.
"""
from datetime import datetime, timedelta

from pynamodb.exceptions import DeleteError, DoesNotExist, TransactWriteError, UpdateError

from chalicelib import clock, ids
from chalicelib.domain import catalog as rules
from chalicelib.domain.actors import Caller
from chalicelib.domain.errors import (CampaignNotActive, Conflict, DuplicateListing, Forbidden,
                                      InvalidState, ListingLimitReached, NotFound,
                                      ProviderNotApproved, ServiceHasOpenOrders,
                                      ServiceIncomplete, ServiceListed, TrialPriceTooHigh,
                                      TrialSlotUsed, ValidationFailed)
from chalicelib.services import campaigns, logos, market, notifications, providers
from chalicelib.storage import base
from chalicelib.storage.base import cancellation_codes, transact_write
from chalicelib.storage.catalog import (CAMPAIGN_KIND, CampaignModel, GuardModel, ProviderModel,
                                       ServiceModel)

FIELDS = ("title", "summary", "content", "pricing", "price", "category", "tags", "capacity")
ATTEMPTS = 3
FAILED = "ConditionalCheckFailed"
# A trial listing that committed just before its campaign ended may reach the
# by_trial_campaign index a moment later; the sweep keeps looking that long.
SWEEP_GRACE = timedelta(minutes=5)


# --- reading -------------------------------------------------------------------
def _get(service_id: str) -> ServiceModel | None:
    try:
        return ServiceModel.get(service_id, consistent_read=True)
    except DoesNotExist:
        return None


def _visible(caller: Caller | None, service: ServiceModel) -> bool:
    return service.status == "listed" or (caller is not None and (
        caller.user_id == service.provider_id or caller.is_operator))


def _load(caller: Caller | None, service_id: str, *, owner_only: bool = False,
          operator_too: bool = False) -> ServiceModel:
    service = _get(service_id)
    if service is None or not _visible(caller, service):
        raise NotFound("no such service")
    if owner_only and caller.user_id != service.provider_id and not (
            operator_too and caller.is_operator):
        raise Forbidden("only the service's provider may do this")
    return service


def get_service(caller: Caller | None, service_id: str) -> dict:
    """A service: anybody's if listed, else only its provider's and operators'."""
    return view(_load(caller, service_id))


def list_my_services(caller: Caller, status: str | None, limit: int,
                     start_key) -> tuple[list[dict], dict | None]:
    """The caller's own services, newest first, optionally in one status."""
    found, last_key, _ = base.bounded_query(
        ServiceModel, ServiceModel.by_provider, caller.user_id, scan_index_forward=False,
        filter_condition=(ServiceModel.status == status) if status else None, limit=limit,
        read_budget=base.READ_BUDGET, last_evaluated_key=start_key, page_size=max(limit, 20),
        later_page_size=100)
    return [view(s) for s in found], last_key


# --- drafting ------------------------------------------------------------------
def _check_fields(fields: dict) -> None:
    bad = rules.invalid_fields(fields)
    if bad:
        raise ValidationFailed("some fields are invalid",
                               errors=[{"field": f, "problem": "invalid"} for f in bad])


def create_service(caller: Caller, fields: dict, now: datetime) -> dict:
    """Draft a new service (approved providers only)."""
    profile = providers.get_provider(caller.user_id)
    if profile is None or profile.status != "approved":
        raise ProviderNotApproved(status=profile.status if profile else "none")
    _check_fields(fields)
    stamp = clock.to_key(now)
    service = ServiceModel(
        ids.new_id("svc"), provider_id=caller.user_id, title=fields["title"],
        category=fields["category"], summary=fields["summary"], content=fields["content"],
        pricing=fields["pricing"], price=fields["price"], tags=list(fields.get("tags") or []),
        capacity=fields.get("capacity"), status="draft", open_orders=0, rating_sum=0,
        rating_count=0, ratings_good=0, ratings_neutral=0, ratings_bad=0, created_at=stamp,
        updated_at=stamp, guard_keys=[], version=0)
    service.save(condition=ServiceModel.id.does_not_exist())
    return view(service)


def update_service(caller: Caller, service_id: str, changes: dict, now: datetime) -> dict:
    """Edit some fields of a draft or delisted service (下架后才能修改)."""
    service = _load(caller, service_id, owner_only=True)
    merged = {**_fields(service), **changes}
    _check_fields(merged)
    S = ServiceModel
    actions = [S.updated_at.set(clock.to_key(now)), S.version.add(1)]
    for name, value in changes.items():
        attr = getattr(S, name)
        actions.append(attr.remove() if value is None else attr.set(value))
    try:
        service.update(actions=actions, condition=S.status.is_in(*rules.EDITABLE))
    except UpdateError as error:
        _raise_unless_condition(error)
        fresh = _get(service_id)
        if fresh is None:
            raise NotFound("no such service")
        raise ServiceListed(status=fresh.status)
    return view(service)


def delete_service(caller: Caller, service_id: str) -> None:
    """Delete a draft or delisted service that has no open orders."""
    service = _load(caller, service_id, owner_only=True)
    S = ServiceModel
    try:
        # Conditional on the stored item, not on what we read: an order placed a moment
        # ago (open_orders) or a listing (status) since then must stop the delete.
        service.delete(condition=S.status.is_in(*rules.EDITABLE)
                       & (S.open_orders.does_not_exist() | (S.open_orders == 0)))
    except DeleteError as error:
        _raise_unless_condition(error)
        fresh = _get(service_id)
        if fresh is None:
            raise NotFound("no such service")
        if fresh.status == "listed":
            raise ServiceListed(status=fresh.status)
        raise ServiceHasOpenOrders(open_orders=int(fresh.open_orders or 0))
    logos.delete_logo_quietly(service.logo_key)


def set_logo(caller: Caller, service_id: str, data: bytes, content_type: str,
             now: datetime) -> dict:
    """Check an uploaded logo, store it and point the (unlisted) service at it."""
    service = _load(caller, service_id, owner_only=True)
    if service.status == "listed":
        raise ServiceListed(status=service.status)
    ext = logos.check_logo(data, content_type)
    key = logos.logo_key(service_id, data, ext)
    logos.store_logo(key, data, content_type)
    S = ServiceModel
    replaced = service.logo_key
    try:
        service.update(actions=[S.logo_key.set(key), S.updated_at.set(clock.to_key(now)),
                                S.version.add(1)],
                       condition=S.status.is_in(*rules.EDITABLE))
    except UpdateError as error:
        _raise_unless_condition(error)
        if _get(service_id) is None:
            raise NotFound("no such service")
        raise ServiceListed(status="listed")
    if replaced != key:
        logos.delete_logo_quietly(replaced)  # the service no longer shows it
    return view(service)


# --- listing -------------------------------------------------------------------
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
        service = _load(caller, service_id, owner_only=True)
        if _try_list(service, now, campaign_id):
            market.refresh_market_entries(service_id)
            return view(_get(service_id))
    raise Conflict()


def _try_list(service: ServiceModel, now: datetime, campaign_id: str | None) -> bool:
    profile = providers.get_provider(service.provider_id)
    if profile is None or profile.status != "approved":  # rule 1
        raise ProviderNotApproved(status=profile.status if profile else "none")
    if service.status == "listed":
        raise InvalidState("the service is already listed", status=service.status)
    missing = rules.missing_for_listing(_fields(service), bool(service.logo_key))
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
        profile = providers.get_provider(service.provider_id)
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
    if not any(codes) and not _is_conflict(error):
        raise error


def _is_conflict(error) -> bool:
    return "TransactionConflict" in str(error) or any(
        c == "TransactionConflict" for c in cancellation_codes(error))


# --- delisting -----------------------------------------------------------------
def delist_service(caller: Caller, service_id: str, now: datetime) -> dict:
    """下架: the owner or an operator takes a listed service off the market."""
    service = _load(caller, service_id, owner_only=True, operator_too=True)
    reason = "delisted by an operator" if caller.user_id != service.provider_id else None
    if service.status != "listed":
        raise InvalidState("the service is not listed", status=service.status)
    if not _delist(service_id, now, reason):
        raise InvalidState("the service is not listed", status="delisted")
    if reason:
        _notify_delisted(service, reason, now)
    return view(_get(service_id))


def _delist(service_id: str, now: datetime, reason: str | None,
            campaign_id: str | None = None) -> bool:
    """Delist one service if it is listed (and, given campaign_id, a trial of it);
    False when there was nothing to do. Safe to run twice or at once."""
    S, P, stamp = ServiceModel, ProviderModel, clock.to_key(now)
    for _ in range(ATTEMPTS):
        service = _get(service_id)
        if service is None or service.status != "listed":
            return False
        if campaign_id and service.trial_campaign_id != campaign_id:
            return False
        counter = P.trial_listed_count if service.trial_campaign_id else P.listed_count
        try:
            with transact_write() as tx:
                tx.update(service, actions=[
                    S.status.set("delisted"), S.updated_at.set(stamp),
                    S.listed_provider_id.remove(), S.guard_keys.set([]),
                    S.delisted_reason.set(reason) if reason else S.delisted_reason.remove(),
                    S.version.add(1),
                ], condition=(S.status == "listed") & (S.version == service.version))
                tx.update(P(service.provider_id), actions=[counter.add(-1)])
                for key in service.guard_keys or []:
                    tx.delete(GuardModel(key), condition=GuardModel.key.does_not_exist()
                              | (GuardModel.service_id == service.id))
        except TransactWriteError as error:
            if not cancellation_codes(error) and not _is_conflict(error):
                raise
            continue  # the service changed (a review, a racing delist): look again
        market.remove_entries(service)
        return True
    raise Conflict()


def delist_all_of_provider(operator: Caller, provider_id: str, now: datetime) -> int:
    """Delist every listed service of a (suspended) provider; returns how many."""
    done = 0
    for _ in range(ATTEMPTS):
        for service in ServiceModel.by_listed_provider.query(provider_id):
            if _delist(service.id, now, "provider suspended"):
                done += 1
                _notify_delisted(service, "provider suspended", now)
        # The index lags the table: trust the provider's own counters to know when
        # every listing is really gone.
        profile = providers.get_provider(provider_id)
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
                campaign.id, filter_condition=ServiceModel.status == "listed"):
            if report["delisted"] >= max_services:
                report["more"] = True
                return report
            if _delist(service.id, now, "campaign ended", campaign_id=campaign.id):
                report["delisted"] += 1
                _notify_delisted(service, "campaign ended", now)
        if campaign.ends_at <= settled:
            try:
                campaign.update(actions=[CampaignModel.pending_end.remove()],
                                condition=CampaignModel.pending_end.exists())
            except UpdateError as error:
                _raise_unless_condition(error)
    return report


def _notify_delisted(service: ServiceModel, reason: str, now: datetime) -> None:
    labels = {"provider suspended": "服务商资质已暂停", "campaign ended": "体验活动已结束"}
    notifications.notify(service.provider_id, "service_delisted", service_id=service.id,
                         text=f"服务「{service.title}」已下架（{labels.get(reason, '平台下架')}）",
                         now=now)


# --- shapes --------------------------------------------------------------------
def _fields(service: ServiceModel) -> dict:
    return {
        "title": service.title, "summary": service.summary, "content": service.content,
        "pricing": service.pricing,
        "price": int(service.price) if service.price is not None else None,
        "category": service.category, "tags": list(service.tags or []),
        "capacity": int(service.capacity) if service.capacity is not None else None,
    }


def _raise_unless_condition(error) -> None:
    if getattr(error, "cause_response_code", None) != "ConditionalCheckFailedException":
        raise error


def view(service: ServiceModel) -> dict:
    return {
        "id": service.id, "provider_id": service.provider_id, **_fields(service),
        "headline": rules.headline(service.summary), "currency": service.currency or "CNY",
        "logo_url": logos.logo_url(service.logo_key), "status": service.status,
        "trial_campaign_id": service.trial_campaign_id,
        "rating": rules.rating(service.rating_sum or 0, service.rating_count or 0),
        "rating_count": int(service.rating_count or 0),
        "open_orders": int(service.open_orders or 0),
        "delisted_reason": service.delisted_reason,
        "created_at": clock.key_to_iso(service.created_at),
        "updated_at": clock.key_to_iso(service.updated_at),
        "listed_at": clock.key_to_iso(service.listed_at),
    }
