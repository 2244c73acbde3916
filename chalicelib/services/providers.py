"""Provider qualification (发服务资质): applying, the operators' decisions, profiles."""
from datetime import datetime

from pynamodb.exceptions import UpdateError

from chalicelib import clock
from chalicelib.domain import credit
from chalicelib.domain import providers as qualification
from chalicelib.domain.actors import Caller
from chalicelib.domain.errors import InvalidState, NotFound

# Suspension delists: providers → catalog, one way. The catalog reads providers through
# storage (`get_provider`), never through this module.
from chalicelib.services import catalog, provider_documents, provider_stats
from chalicelib.storage.base import condition_failed
from chalicelib.storage.catalog import ProviderModel, get_provider


def apply(caller: Caller, *, display_name: str, company_name: str, contact: str, intro: str,
          now: datetime) -> dict:
    """File (or, after a rejection, re-file) the caller's provider application."""
    P = ProviderModel
    profile = P(caller.user_id)
    try:
        # An update, not a put: a re-application after a rejection keeps the credit
        # earned before. Counters are initialised here because the listing condition
        # `listed_count < 10` is false on a missing attribute.
        profile.update(actions=[
            P.status.set(qualification.PENDING), P.display_name.set(display_name),
            P.company_name.set(company_name), P.contact.set(contact), P.intro.set(intro),
            P.applied_at.set(clock.to_key(now)), P.reason.remove(), P.decided_at.remove(),
            P.decided_by.remove(),
            P.listed_count.set(P.listed_count | 0),
            P.trial_listed_count.set(P.trial_listed_count | 0),
            P.credit.set(P.credit | 0), P.ratings_good.set(P.ratings_good | 0),
            P.ratings_neutral.set(P.ratings_neutral | 0), P.ratings_bad.set(P.ratings_bad | 0),
            P.version.add(1),
        ], condition=P.user_id.does_not_exist() | (P.status == qualification.REJECTED))
    except UpdateError as error:
        if not condition_failed(error):
            raise
        current = get_provider(caller.user_id)
        raise InvalidState("an application exists; apply again only after a rejection",
                           status=current.status if current else None)
    return own_view(get_provider(caller.user_id))


def my_profile(caller: Caller) -> dict:
    """The caller's own provider profile; status `none` before any application."""
    profile = get_provider(caller.user_id)
    if profile is None:
        return {"id": caller.user_id, "status": "none", "listed_count": 0,
                "trial_listed_count": 0, "credit": 0, "credit_level": None,
                "ratings": {"good": 0, "neutral": 0, "bad": 0}}
    return own_view(profile)


def public_profile(provider_id: str) -> dict:
    """An approved or suspended provider's public profile, with its order record
    (`stats`); others are not found."""
    profile = get_provider(provider_id)
    if profile is None or profile.status not in qualification.PUBLIC_STATUSES:
        raise NotFound("no such provider")
    return {**public_view(profile), "stats": provider_stats.stats_of(profile)}


def list_applications(status: str, limit: int, start_key) -> tuple[list[dict], dict | None]:
    """Profiles in one status, oldest application first (operators)."""
    results = ProviderModel.by_status.query(status, limit=limit, last_evaluated_key=start_key,
                                            page_size=limit)
    items = [own_view(p) for p in results]
    return items, results.last_evaluated_key


def approve(operator: Caller, provider_id: str, now: datetime) -> dict:
    """Approve a pending application."""
    return _decide(operator, provider_id, qualification.PENDING, qualification.APPROVED, None,
                   now)


def reject(operator: Caller, provider_id: str, reason: str, now: datetime) -> dict:
    """Reject a pending application, saying why."""
    return _decide(operator, provider_id, qualification.PENDING, qualification.REJECTED, reason,
                   now)


def suspend(operator: Caller, provider_id: str, reason: str, now: datetime) -> dict:
    """Suspend an approved provider and delist every service it has listed."""
    try:
        _decide(operator, provider_id, qualification.APPROVED, qualification.SUSPENDED,
                reason, now)
    except InvalidState as refused:
        # A suspension whose delisting was cut short is finished by the operator's retry.
        if refused.details.get("status") == qualification.SUSPENDED:
            catalog.delist_all_of_provider(operator, provider_id, now)
        raise
    catalog.delist_all_of_provider(operator, provider_id, now)
    return own_view(get_provider(provider_id))


def reinstate(operator: Caller, provider_id: str, now: datetime) -> dict:
    """Lift a suspension. Its services stay delisted: the provider lists each again,
    through the listing rules, when it is ready."""
    return _decide(operator, provider_id, "suspended", "approved", None, now)


def _decide(operator: Caller, provider_id: str, expected: str, new: str, reason: str | None,
            now: datetime) -> dict:
    P = ProviderModel
    actions = [P.status.set(new), P.decided_at.set(clock.to_key(now)),
               P.decided_by.set(operator.user_id), P.version.add(1)]
    actions.append(P.reason.set(reason) if reason else P.reason.remove())
    try:
        # Conditional on the status the operator saw: two operators deciding at once
        # cannot both win, and a suspended provider cannot be "approved" back by a
        # stale screen.
        P(provider_id).update(actions=actions, condition=P.status == expected)
    except UpdateError as error:
        if not condition_failed(error):
            raise
        current = get_provider(provider_id)
        if current is None:
            raise NotFound("no such provider")
        raise InvalidState(f"the provider is {current.status}, not {expected}",
                           status=current.status)
    return own_view(get_provider(provider_id))


def public_view(p: ProviderModel) -> dict:
    return {
        "id": p.user_id, "display_name": p.display_name, "company_name": p.company_name,
        "intro": p.intro, "status": p.status, "credit": int(p.credit or 0),
        "credit_level": credit.credit_level(int(p.credit or 0)),
        "ratings": {"good": int(p.ratings_good or 0), "neutral": int(p.ratings_neutral or 0),
                    "bad": int(p.ratings_bad or 0)},
        "listed_count": int(p.listed_count or 0),
    }


def own_view(p: ProviderModel) -> dict:
    return {**public_view(p), "contact": p.contact,
            "trial_listed_count": int(p.trial_listed_count or 0), "reason": p.reason,
            "applied_at": clock.key_to_iso(p.applied_at),
            "decided_at": clock.key_to_iso(p.decided_at), "decided_by": p.decided_by,
            "documents": provider_documents.documents_of(p)}
