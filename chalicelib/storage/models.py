"""Every PynamoDB model of the app; importing this module registers all tables."""
from chalicelib.storage import idempotency  # noqa: F401
