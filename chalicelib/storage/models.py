"""Every PynamoDB model of the app; importing this module registers all tables."""
from chalicelib.storage import (  # noqa: F401  # noqa: F401  # noqa: F401
    catalog,
    idempotency,
    ledger,
    market,
    notifications,
    orders,
    reviews,
    sweeps,
)
