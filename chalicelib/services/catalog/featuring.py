"""小二推荐: operators feature a listed service (the reward for a good service page) and
take the recommendation back. A featured service is found under the market's FEATURED
term while it is listed; the flag survives a delisting, so relisting brings it back.
Each is one conditional update: the entries follow from the services' stream."""
from datetime import datetime

from pynamodb.exceptions import UpdateError

from chalicelib import clock
from chalicelib.domain.actors import Caller
from chalicelib.domain.errors import NotFound, ServiceNotListed
from chalicelib.services.catalog.reading import find_service, load_service, view
from chalicelib.storage.base import condition_failed
from chalicelib.storage.catalog import ServiceModel


def feature_service(operator: Caller, service_id: str, now: datetime) -> dict:
    """Recommend a listed service; featuring it again changes nothing."""
    S = ServiceModel
    load_service(operator, service_id)
    featured = S(service_id)  # filled in by the update (ALL_NEW): no read after it
    try:
        # Only while listed: a recommendation is for what buyers can order now. The
        # version moves: it orders the stream's records of the service for the market
        # index, so this FEATURED entry can never be overwritten by an older image.
        featured.update(actions=[S.featured.set(True), S.featured_at.set(clock.to_key(now)),
                                      S.featured_by.set(operator.user_id), S.version.add(1)],
                             condition=(S.status == "listed")
                             & (S.featured.does_not_exist() | (S.featured == False)))  # noqa: E712
    except UpdateError as error:
        if not condition_failed(error):
            raise
        service = _existing(service_id)
        if service.status != "listed":
            raise ServiceNotListed(status=service.status)
        return view(service)  # already featured
    return view(featured)


def unfeature_service(operator: Caller, service_id: str, now: datetime) -> dict:
    """Take the recommendation back, whatever the service's status."""
    S = ServiceModel
    service = load_service(operator, service_id)
    if not service.featured:
        return view(service)  # not featured: nothing to take back
    unfeatured = S(service_id)  # filled in by the update (ALL_NEW): no read after it
    try:
        unfeatured.update(actions=[S.featured.set(False), S.featured_at.remove(),
                                   S.featured_by.remove(), S.version.add(1)],
                          condition=S.featured == True)  # noqa: E712
    except UpdateError as error:
        if not condition_failed(error):
            raise
        return view(_existing(service_id))  # taken back meanwhile (or gone: _existing says so)
    return view(unfeatured)


def _existing(service_id: str) -> ServiceModel:
    service = find_service(service_id)
    if service is None:
        raise NotFound("no such service")
    return service
