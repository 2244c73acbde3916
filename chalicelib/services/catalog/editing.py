"""Drafting and editing services: create, change fields, delete, set the logo.

Only a draft or delisted service may change (下架后才能修改); each write is conditional
on that status in the stored item, not on what we read.
"""
from datetime import datetime

from pynamodb.exceptions import DeleteError, UpdateError

from chalicelib import clock, ids
from chalicelib.domain import catalog as catalog_rules
from chalicelib.domain import choices
from chalicelib.domain import providers as qualification
from chalicelib.domain.actors import Caller
from chalicelib.domain.errors import (NotFound, ProviderNotApproved, ServiceHasOpenOrders,
                                      ServiceListed, ValidationFailed)
from chalicelib.services import content, logos
from chalicelib.services.catalog.reading import fields_of, find_service, load_service, view
from chalicelib.storage.base import condition_failed
from chalicelib.storage.catalog import ServiceModel, get_provider


MENU = ("packages", "extras", "questions")


def _check_fields(fields: dict) -> None:
    bad = catalog_rules.invalid_fields(fields)
    problems = [{"field": f, "problem": "invalid"} for f in bad] + choices.menu_problems(
        fields.get("packages") or [], fields.get("extras") or [], fields.get("questions") or [])
    if problems:
        raise ValidationFailed("some fields are invalid", errors=problems)


def _stored_menu(items: list | None) -> list | None:
    # A null inside a stored map is left out (revisions: null is unlimited); empty is none.
    return [{k: v for k, v in item.items() if v is not None} for item in items] if items else None


def create_service(caller: Caller, fields: dict, now: datetime) -> dict:
    """Draft a new service (approved providers only)."""
    profile = get_provider(caller.user_id)
    if profile is None or profile.status != qualification.APPROVED:
        raise ProviderNotApproved(status=profile.status if profile else "none")
    _check_fields(fields)
    stamp = clock.to_key(now)
    service = ServiceModel(
        ids.new_id("svc"), provider_id=caller.user_id, title=fields["title"],
        category=fields["category"], summary=fields["summary"], content=fields["content"],
        pricing=fields["pricing"], price=fields["price"], tags=list(fields.get("tags") or []),
        capacity=fields.get("capacity"), status=catalog_rules.DRAFT, open_orders=0, rating_sum=0,
        rating_count=0, ratings_good=0, ratings_neutral=0, ratings_bad=0, created_at=stamp,
        updated_at=stamp, guard_keys=[], version=0,
        **{name: _stored_menu(fields.get(name)) for name in MENU},
        **content.stored_html(fields["content"], {}))
    service.save(condition=ServiceModel.id.does_not_exist())
    return view(service)


def update_service(caller: Caller, service_id: str, changes: dict, now: datetime) -> dict:
    """Edit some fields of a draft or delisted service (下架后才能修改)."""
    service = load_service(caller, service_id, owner_only=True)
    merged = {**fields_of(service), **changes}
    _check_fields(merged)
    S = ServiceModel
    actions = [S.updated_at.set(clock.to_key(now)), S.version.add(1)]
    for name, value in changes.items():
        attr = getattr(S, name)
        if name in MENU:
            value = _stored_menu(value)
        actions.append(attr.remove() if value is None else attr.set(value))
    if "content" in changes:
        stored = content.stored_html(merged["content"], content.image_keys(service))
        actions += [getattr(S, name).set(value) for name, value in stored.items()]
    try:
        service.update(actions=actions, condition=S.status.is_in(*catalog_rules.EDITABLE))
    except UpdateError as error:
        if not condition_failed(error):
            raise
        fresh = find_service(service_id)
        if fresh is None:
            raise NotFound("no such service")
        raise ServiceListed(status=fresh.status)
    return view(service)


def delete_service(caller: Caller, service_id: str) -> None:
    """Delete a draft or delisted service that has no open orders."""
    service = load_service(caller, service_id, owner_only=True)
    S = ServiceModel
    try:
        # Conditional on the stored item, not on what we read: an order placed a moment
        # ago (open_orders) or a listing (status) since then must stop the delete.
        service.delete(condition=S.status.is_in(*catalog_rules.EDITABLE)
                       & (S.open_orders.does_not_exist() | (S.open_orders == 0)))
    except DeleteError as error:
        if not condition_failed(error):
            raise
        fresh = find_service(service_id)
        if fresh is None:
            raise NotFound("no such service")
        if fresh.status == catalog_rules.LISTED:
            raise ServiceListed(status=fresh.status)
        raise ServiceHasOpenOrders(open_orders=int(fresh.open_orders or 0))
    logos.delete_logo_quietly(service.logo_key)


def set_logo(caller: Caller, service_id: str, data: bytes, content_type: str,
             now: datetime) -> dict:
    """Check an uploaded logo, store it and point the (unlisted) service at it."""
    service = load_service(caller, service_id, owner_only=True)
    if service.status == catalog_rules.LISTED:
        raise ServiceListed(status=service.status)
    ext = logos.check_logo(data, content_type)
    key = logos.logo_key(service_id, data, ext)
    logos.store_logo(key, data, content_type)
    S = ServiceModel
    replaced = service.logo_key
    try:
        service.update(actions=[S.logo_key.set(key), S.updated_at.set(clock.to_key(now)),
                                S.version.add(1)],
                       condition=S.status.is_in(*catalog_rules.EDITABLE))
    except UpdateError as error:
        if not condition_failed(error):
            raise
        if find_service(service_id) is None:
            raise NotFound("no such service")
        raise ServiceListed(status=catalog_rules.LISTED)
    if replaced != key:
        logos.delete_logo_quietly(replaced)  # the service no longer shows it
    return view(service)
