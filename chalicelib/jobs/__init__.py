def load_all() -> None:
    """Import every job module so that it registers itself."""
    from chalicelib.jobs import deliver_notifications, release_escrow, sweep_timeouts  # noqa: F401
