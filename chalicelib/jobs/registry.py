"""The scheduled jobs by name, so that app.py's schedules, the local timer and
POST /_local/sweeps all run the same functions."""
from typing import Callable

JOBS: dict[str, Callable[[], dict]] = {}


def job(name: str):
    def wrap(fn):
        JOBS[name] = fn
        return fn

    return wrap


def run_all() -> dict:
    """Run every job once now; return what each did."""
    from chalicelib.jobs import load_all

    load_all()
    return {name: fn() for name, fn in JOBS.items()}
