"""Moved to chalicelib.payments (the port and the registry) and
chalicelib.local.sandbox_gateway; this name is kept only while other branches merge."""
from chalicelib.payments import *  # noqa: F403
from chalicelib.payments import __all__  # noqa: F401
