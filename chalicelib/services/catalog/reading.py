"""Reading services: one service or a provider's own list, as the contract shows them,
and the service read (visibility, ownership) that editing, listing and delisting share."""
from pynamodb.exceptions import DoesNotExist

from chalicelib import clock
from chalicelib.domain import catalog as catalog_rules
from chalicelib.domain.actors import Caller
from chalicelib.domain.errors import Forbidden, NotFound
from chalicelib.services import content, logos
from chalicelib.storage import base
from chalicelib.storage.catalog import ServiceModel



def find_service(service_id: str) -> ServiceModel | None:
    try:
        return ServiceModel.get(service_id, consistent_read=True)
    except DoesNotExist:
        return None


def _visible(caller: Caller | None, service: ServiceModel) -> bool:
    return service.status == catalog_rules.LISTED or (caller is not None and (
        caller.user_id == service.provider_id or caller.is_operator))


def load_service(caller: Caller | None, service_id: str, *, owner_only: bool = False,
          operator_too: bool = False) -> ServiceModel:
    service = find_service(service_id)
    if service is None or not _visible(caller, service):
        raise NotFound("no such service")
    if owner_only and caller.user_id != service.provider_id and not (
            operator_too and caller.is_operator):
        raise Forbidden("only the service's provider may do this")
    return service


def get_service(caller: Caller | None, service_id: str) -> dict:
    """A service: anybody's if listed, else only its provider's and operators'."""
    return view(load_service(caller, service_id))


def list_my_services(caller: Caller, status: str | None, limit: int,
                     start_key) -> tuple[list[dict], dict | None]:
    """The caller's own services, newest first, optionally in one status."""
    found, last_key, _ = base.bounded_query(
        ServiceModel, ServiceModel.by_provider, caller.user_id, scan_index_forward=False,
        filter_condition=(ServiceModel.status == status) if status else None, limit=limit,
        read_budget=base.READ_BUDGET, last_evaluated_key=start_key, page_size=max(limit, 20),
        later_page_size=100)
    return [view(s) for s in found], last_key


def fields_of(service: ServiceModel) -> dict:
    return {
        "title": service.title, "summary": service.summary, "content": service.content,
        "pricing": service.pricing,
        "price": int(service.price) if service.price is not None else None,
        "category": service.category, "tags": list(service.tags or []),
        "capacity": int(service.capacity) if service.capacity is not None else None,
        **menu_of(service),
    }


def menu_of(service: ServiceModel) -> dict:
    """The service's packages, extras and questions, as plain dicts (null fields back)."""
    def plain(items, defaults):
        return [{**defaults, **dict(item)} for item in items or []]
    return {"packages": plain(service.packages, {"revisions": None, "description": ""}),
            "extras": plain(service.extras, {}),
            "questions": plain(service.questions, {"required": False, "kind": "text"})}


def view(service: ServiceModel) -> dict:
    return {
        "id": service.id, "provider_id": service.provider_id, **fields_of(service),
        "headline": catalog_rules.headline(service.summary), "currency": service.currency or "CNY",
        "logo_url": logos.logo_url(service.logo_key), "status": service.status,
        "content_html": content.service_html(service),
        "images": content.service_images(service),
        "trial_campaign_id": service.trial_campaign_id,
        "featured": bool(service.featured),
        "rating": catalog_rules.rating(service.rating_sum or 0, service.rating_count or 0),
        "rating_count": int(service.rating_count or 0),
        "open_orders": int(service.open_orders or 0),
        "delisted_reason": service.delisted_reason,
        "created_at": clock.key_to_iso(service.created_at),
        "updated_at": clock.key_to_iso(service.updated_at),
        "listed_at": clock.key_to_iso(service.listed_at),
    }
