"""Every PynamoDB model of the app; importing this module registers all tables."""
from chalicelib.storage import catalog, idempotency  # noqa: F401
from chalicelib.storage import notifications, reviews  # noqa: F401
from chalicelib.storage import ledger, orders  # noqa: F401
from chalicelib.storage import sweeps  # noqa: F401
from chalicelib.storage import market  # noqa: F401
from chalicelib.storage import messages  # noqa: F401
from chalicelib.storage import channels  # noqa: F401
