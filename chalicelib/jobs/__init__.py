def load_all() -> None:
    """Import every job module so that it registers itself."""
