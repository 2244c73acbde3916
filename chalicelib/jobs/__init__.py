def load_all() -> None:
    """Import every job module so that it registers itself."""
    from chalicelib.jobs import release_escrow, settle_payments, sweep_timeouts  # noqa: F401
