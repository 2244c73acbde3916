"""Services in the catalog: reading, drafting and editing, listing (上架) and delisting
(下架). Callers import from here."""
from chalicelib.services.catalog.delisting import (delist_all_of_provider, delist_service,
                                                   delist_trial_services_of_ended_campaigns)
from chalicelib.services.catalog.editing import (create_service, delete_service, set_logo,
                                                 update_service)
from chalicelib.services.catalog.listing import list_service, title_guard_key, trial_guard_key
from chalicelib.services.catalog.reading import get_service, list_my_services, view

__all__ = [
    "create_service", "delete_service", "delist_all_of_provider", "delist_service",
    "delist_trial_services_of_ended_campaigns", "get_service", "list_my_services",
    "list_service", "set_logo", "title_guard_key", "trial_guard_key", "update_service", "view",
]
