def load_all() -> None:
    """Import every job module so that it registers itself."""
    from chalicelib.jobs import (deliver_notifications, release_escrow,  # noqa: F401
                                 settle_payments, sweep_timeouts)
    from chalicelib.jobs import sweep_contracts  # noqa: F401
