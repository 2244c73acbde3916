"""Every PynamoDB model of the app; importing this module registers all tables."""
from chalicelib.storage import (  # noqa: F401 - importing a module registers its models
    catalog,
    channels,
    idempotency,
    inquiries,
    ledger,
    market,
    messages,
    notifications,
    orders,
    payments,
    payouts,
    proposals,
    reviews,
    sweeps,
    contracts,
    analytics,
)
