"""Provider routes: applying (发服务资质), profiles, and the operators' decisions."""
from chalice import Blueprint

from chalicelib import lazy
from chalicelib.api import answers
from chalicelib.api.pagination import encode_cursor, page
from chalicelib.api.routing import OPERATOR, PAGING, PUBLIC, USER, route
from chalicelib.api.schema import Enum, Obj, Str
from chalicelib.domain import catalog as catalog_rules
from chalicelib.domain import providers as qualification

catalog = lazy.module("chalicelib.services.catalog")
providers = lazy.module("chalicelib.services.providers")

bp = Blueprint(__name__)

APPLICATION = Obj({
    "display_name": Str(1, 50, example="杭州小美设计工作室"),
    "company_name": Str(1, 100, example="杭州小美设计有限公司"),
    "contact": Str(1, 100, example="0571-88886666"),
    "intro": Str(1, 1000, multiline=True, example="十年电商设计经验，专注中小卖家。"),
}, name="ProviderApplication")
REASON = Obj({"reason": Str(1, 500, multiline=True, example="营业执照不清晰")}, name="Reason")
EMPTY = Obj({}, name="Empty")
ADMIN_QUERY = {**PAGING, "status": Enum(list(qualification.STATUSES), required=False,
                                        description="default pending")}
MY_SERVICES_QUERY = {**PAGING, "status": Enum(list(catalog_rules.STATUSES), required=False)}


@route(bp, "/providers/me/application", "POST",
       response=answers.PROVIDER_PROFILE, auth=USER, body=APPLICATION, status=201,
       tag="providers")
def apply(req):
    """Apply to become a provider (again only after a rejection)."""
    return providers.apply(req.caller, now=req.now, **req.body)


@route(bp, "/providers/me", "GET", response=answers.PROVIDER_PROFILE, auth=USER, tag="providers")
def my_profile(req):
    """The caller's provider profile (status `none` before applying)."""
    return providers.my_profile(req.caller)


@route(bp, "/providers/me/services", "GET",
       response=answers.page_of(answers.SERVICE), auth=USER, query=MY_SERVICES_QUERY,
       tag="providers")
def my_services(req):
    """The caller's own services, newest first."""
    status = req.query.get("status")
    scope = f"my-services:{req.caller.user_id}:{status or ''}"
    limit, start_key = req.paging(scope)
    items, last_key = catalog.list_my_services(req.caller, status, limit, start_key)
    return page(items, encode_cursor(last_key, scope))


@route(bp, "/providers/{provider_id}", "GET",
       response=answers.PROVIDER, auth=PUBLIC, tag="providers")
def public_profile(req):
    """A provider's public profile: credit and rating counts."""
    return providers.public_profile(req.params["provider_id"])


@route(bp, "/admin/providers", "GET",
       response=answers.page_of(answers.PROVIDER_PROFILE), auth=OPERATOR, query=ADMIN_QUERY,
       tag="admin")
def list_applications(req):
    """Provider profiles in one status, oldest application first."""
    status = req.query.get("status", qualification.PENDING)
    scope = f"admin-providers:{status}"
    limit, start_key = req.paging(scope)
    items, last_key = providers.list_applications(status, limit, start_key)
    return page(items, encode_cursor(last_key, scope))


@route(bp, "/admin/providers/{provider_id}/approve", "POST",
       response=answers.PROVIDER_PROFILE, auth=OPERATOR, body=EMPTY,
       tag="admin")
def approve(req):
    """Approve a pending application."""
    return providers.approve(req.caller, req.params["provider_id"], req.now)


@route(bp, "/admin/providers/{provider_id}/reject", "POST",
       response=answers.PROVIDER_PROFILE, auth=OPERATOR, body=REASON,
       tag="admin")
def reject(req):
    """Reject a pending application with a reason."""
    return providers.reject(req.caller, req.params["provider_id"], req.body["reason"], req.now)


@route(bp, "/admin/providers/{provider_id}/suspend", "POST",
       response=answers.PROVIDER_PROFILE, auth=OPERATOR, body=REASON,
       tag="admin")
def suspend(req):
    """Suspend an approved provider; every listed service is delisted."""
    return providers.suspend(req.caller, req.params["provider_id"], req.body["reason"], req.now)


@route(bp, "/admin/providers/{provider_id}/reinstate", "POST",
       response=answers.PROVIDER_PROFILE, auth=OPERATOR, body=EMPTY, tag="admin")
def reinstate(req):
    """Lift a suspension (approved again); the services stay delisted until listed."""
    return providers.reinstate(req.caller, req.params["provider_id"], req.now)
