"""`make bench`: measure the app against its floors and write BENCHMARKS.md.

    .venv/bin/python -m bench.run            # everything (about 5-10 minutes on 2 cores)
    BENCH_QUICK=1 .venv/bin/python -m bench.run   # small sizes, for working on the bench

Each section is measured independently: one that cannot run yet (a route or job not
built) is reported as pending instead of stopping the others.
"""
import contextlib
import json
import os
import sys
import time
import traceback
from datetime import datetime, timezone

from bench import (
    calls,
    coldstart,
    env,  # sets the environment before the app is imported
    load,
    search,
    stories,
    sweep,
)

QUICK = os.environ.get("BENCH_QUICK") == "1"
OUT = env.ROOT / "BENCHMARKS.md"
RAW = env.ROOT / ".local" / "bench-last-run.json"  # raw figures, not committed


def guarded(name: str, fn, *args, **kwargs):
    started = time.perf_counter()
    print(f"bench: {name} …", file=sys.stderr, flush=True)
    try:
        # The app logs one JSON line per request to stdout; thousands of them would bury
        # the progress lines (they are still written, so their cost is still measured).
        with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
            result = fn(*args, **kwargs)
    except Exception as error:  # noqa: BLE001 - one broken section must not hide the others
        traceback.print_exc()
        result = {"error": f"{type(error).__name__}: {str(error)[:400]}"}
    print(f"bench: {name} done in {time.perf_counter() - started:.0f}s", file=sys.stderr,
          flush=True)
    return result


def main() -> None:
    started = time.perf_counter()
    report = {"machine": env.machine(), "quick": QUICK,
              "at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    counted = guarded("calls per route (moto)", calls.measure_calls, 1 if QUICK else 2)
    with env.local_engines() as engines:
        capacity = guarded("capacity per route (DynamoDB Local)", calls.measure_capacity, engines)
        seeded = capacity.ctx if hasattr(capacity, "ctx") else {}
        report["cold_start"] = guarded(
            "cold start", coldstart.measure_cold_start, engines["dynamodb"], "benchcap-", seeded,
            repeats=3 if QUICK else 7)
        report["search"] = guarded("search cost", search.measure_search, engines,
                                   sizes=(100, 1_000) if QUICK else (100, 10_000))
        report["sweep"] = guarded("sweep cost", sweep.measure_sweep, engines,
                                  sizes=(1_000, 3_000) if QUICK else (1_000, 50_000),
                                  due_counts=(100, 1_000) if QUICK else (100, 10_000))
    results = {}
    if "runs" in counted:
        results = calls.collect(counted["runs"],
                                capacity_run=capacity if hasattr(capacity, "observations") else None)
    report["routes"] = calls.summarise(results) if results else []
    report["skipped_steps"] = counted["runs"][0].skipped if "runs" in counted else counted
    report["jobs"] = {name: (None if t is None else {"calls": t.total, "shape": t.shape(),
                                                       "items_read": t.items_read})
                      for name, t in counted.get("jobs", {}).items()}
    calls_by_route = calls.calls_as_served(counted["runs"], results) if results else {}
    report["load"] = guarded("HTTP under load", load.measure_load, calls_by_route,
                             cycles=4 if QUICK else 8, rounds=2 if QUICK else 3)
    report["stories"] = guarded("order stories per second", stories.measure_stories,
                                seconds=8.0 if QUICK else 30.0)
    report["package"] = guarded("package size", coldstart.measure_package)
    report["seconds"] = time.perf_counter() - started
    RAW.write_text(json.dumps(report, ensure_ascii=False, indent=1, default=str))
    from bench import report as render

    OUT.write_text(render.markdown(report))
    print(f"bench: wrote {OUT.name} in {report['seconds']:.0f}s", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
