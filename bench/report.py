"""BENCHMARKS.md from one run's figures: a summary of targets, then one table per measure."""
from bench import reasons

SWEEP_TARGET = 1.5  # "about 1": a sweep reading up to half again as much at 50x the table
DUE_SLACK = 1.1  # items read at many vs few due orders: at most a tenth above their ratio
SEARCH_TARGET = 1.5
COLD_TARGET = 1.25
P50_TARGET = 1.3  # issue 15 lowered it from 1.5


def _num(value, digits=2) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _ms(seconds) -> str:
    return "—" if seconds is None else f"{seconds * 1000:.1f} ms"


def _mark(ok) -> str:
    return {True: "✅ met", False: "❌ missed", None: "⏳ pending"}[ok]


def _problem(section) -> str | None:
    if not isinstance(section, dict):
        return "not measured"
    return section.get("pending") or section.get("error")


def summary(report: dict) -> list[str]:
    rows = ["| measure | result | floor / target | verdict |", "|---|---|---|---|"]
    routes = [r for r in report["routes"] if r["worst"] is not None]
    above = [r for r in routes if r["verdict"].startswith("ABOVE")]
    checks = [r for r in above if r.get("access_check")]
    total = len(report["routes"])
    missing = (f"{total - len(routes)} of {total} not exercised yet" if len(routes) < total
               else f"all {total} exercised")
    stated = [r for r in above if not r.get("access_check") and r["route"] in reasons.DOCUMENTED]
    unexplained = [r["route"] for r in above if not r.get("access_check")
                   and r["route"] not in reasons.DOCUMENTED]
    also = (f"; {len(checks)} more above only to read the parent item that decides who may "
            "see them" if checks else "")
    also += (f"; {len(stated)} above with the reason docs/request-floors.md states"
             if stated else "")
    also += f"; **without a reason:** {', '.join(unexplained)}" if unexplained else ""
    rows.append(f"| DynamoDB calls per route | {len(routes) - len(above)} of {len(routes)} exercised "
                f"routes at or below floor{also} ({missing}) "
                "| reads 1, state changes 2, or a stated reason "
                f"| {_mark(not unexplained if routes else None)} |")

    sw = report.get("sweep", {})
    if "ratio" in sw:
        sizes = [k for k in sw if isinstance(k, int)]
        rows.append(f"| Sweep items read, {sizes[-1]:,} vs {sizes[0]:,} orders (100 due) | "
                    f"{sw[sizes[-1]]['items_read']} vs {sw[sizes[0]]['items_read']} = "
                    f"{sw['ratio']:.2f}× | ≈ 1× | {_mark(sw['ratio'] <= SWEEP_TARGET)} |")
    else:
        rows.append(f"| Sweep items read vs table size | {_sweep_problem(sw)} | ≈ 1× | {_mark(None)} |")

    rows += due_summary(sw)

    se = report.get("search", {})
    sizes = [k for k in se if isinstance(k, int) and "queries" in se[k]]
    if len(sizes) == 2:
        queries = se[sizes[0]]["queries"]
        worst = max(_search_ratio(se, sizes, q) for q in queries)
        most = max(se[sizes[1]]["queries"][q]["items_read"] or 0 for q in queries)
        budget = se.get("read_budget")
        ok = all(_search_ok(se, sizes, q) for q in queries)
        rows.append(f"| Search items read, {sizes[1]:,} vs {sizes[0]:,} services | worst query "
                    f"{worst:.2f}×, at most {_num(most, 0)} items a request | follows results "
                    f"(≈ 1×) or at most the read budget ({_num(budget)}) | {_mark(ok)} |")
    else:
        rows.append(f"| Search items read vs catalog size | {_search_problem(se)} | follows results "
                    f"| {_mark(None)} |")

    cs = report.get("cold_start", {})
    if "ratio" in cs:
        rows.append(f"| Cold start (import + first `{cs['request']}`) | {cs['ratio']:.2f}× the floor "
                    f"| ≤ {COLD_TARGET}× | {_mark(cs['ratio'] <= COLD_TARGET)} |")
    else:
        rows.append(f"| Cold start | {_problem(cs)} | ≤ {COLD_TARGET}× | {_mark(None)} |")

    ld = report.get("load", {})
    if "p50_ratio" in ld:
        ok = ld["app"]["errors"] == 0 and ld["p50_ratio"] <= P50_TARGET
        rows.append(f"| HTTP under load, p50 | {ld['p50_ratio']:.2f}× the floor, "
                    f"{ld['app']['errors']} errors in {ld['app']['requests']} requests "
                    f"| ≤ {P50_TARGET}×, no errors | {_mark(ok)} |")
    else:
        rows.append(f"| HTTP under load | {_problem(ld)} | ≤ {P50_TARGET}×, no errors | {_mark(None)} |")

    rows.append(stories_summary(report.get("stories") or {}))

    pk = report.get("package", {})
    app, floor = (pk or {}).get("app") or {}, (pk or {}).get("floor") or {}
    if "zip_bytes" in app and "zip_bytes" in floor:
        rows.append(f"| Deployment package (`chalice package` zip) | {app['zip_bytes'] / 1e6:.1f} MB = "
                    f"{app['zip_bytes'] / floor['zip_bytes']:.2f}× the floor's "
                    f"{floor['zip_bytes'] / 1e6:.1f} MB | (no target) | — |")
    else:
        why = app.get("error") or floor.get("error") or "not measured"
        rows.append(f"| Deployment package | pending: {why.strip().splitlines()[-1][:120]} | — | "
                    f"{_mark(None)} |")
    return rows


def _due_runs(entry: dict) -> list[tuple[int, dict]]:
    """(due count, run) of one shard layout, fewest due first; JSON keys are strings."""
    return sorted(((int(k), v) for k, v in (entry.get("runs") or {}).items()),
                  key=lambda kv: kv[0])


def _layout_name(name: str, runs) -> str:
    shards = next((v.get("due_shards") for _, v in runs if v.get("due_shards")), None)
    return (f"DUE_SHARDS={shards} (default)" if name == "default" else f"DUE_SHARDS={name}")


def due_summary(sw: dict) -> list[str]:
    """The sweep's items read at many vs few due orders in one table, per shard layout:
    met when they grow no faster than the due orders (at most DUE_SLACK× their ratio)."""
    rows = []
    for name, entry in (sw.get("by_due") or {}).items():
        runs = _due_runs(entry)
        if "ratio" not in entry or len(runs) < 2:
            why = next((v.get("pending") or v.get("error") for _, v in runs
                        if v.get("pending") or v.get("error")), "no figures")
            rows.append(f"| Sweep items read vs due orders, {_layout_name(name, runs)} | "
                        f"pending: {why} | follows the due orders | {_mark(None)} |")
            continue
        (few, small), (many, large) = runs[0], runs[-1]
        due_ratio = many / few
        rows.append(
            f"| Sweep, {many:,} vs {few:,} due orders in {entry['table']:,}, "
            f"{_layout_name(name, runs)} | items read {large['items_read']} vs "
            f"{small['items_read']} = {entry['ratio']:.1f}× ({large['items_read'] / many:.2f} "
            f"vs {small['items_read'] / few:.2f} a due order); time "
            f"{_num(entry.get('time_ratio'), 1)}× | follows the due orders (≤ {due_ratio:,.0f}×) "
            f"| {_mark(entry['ratio'] <= due_ratio * DUE_SLACK and large['handled'] == many)} |")
    return rows


def due_table(sw: dict) -> list[str]:
    layouts = sw.get("by_due") or {}
    if not layouts:
        return []
    rows = ["| shard layout | orders in table | due | handled | items read | items read a due "
            "order | calls | sweep time |", "|---|---|---|---|---|---|---|---|"]
    for name, entry in layouts.items():
        runs = _due_runs(entry)
        for due, v in runs:
            if "items_read" not in v:
                rows.append(f"| {_layout_name(name, runs)} | — | {due:,} | pending: "
                            f"{v.get('pending') or v.get('error')} | | | | |")
                continue
            rows.append(f"| {_layout_name(name, runs)} | {v['size']:,} | {due:,} | "
                        f"{v['handled']:,} | {v['items_read']:,} | {v['items_read'] / due:.2f} | "
                        f"{v['calls']:,} | {_ms(v['seconds'])} |")
    return rows


def stories_summary(st: dict) -> str:
    rounds = st.get("rounds") or []
    if not rounds:
        return (f"| Order stories per second (local stack) | {_problem(st)} | no errors | "
                f"{_mark(None)} |")
    figures = ", ".join(f"{r['processes']} client{'s' if r['processes'] > 1 else ''}: "
                        f"{r['per_second']:.2f}/s" for r in rounds)
    return (f"| Whole order stories per second on the local stack (HTTP) | {figures}; "
            f"{st['errors']} errors in {sum(r['stories'] for r in rounds)} stories | "
            f"(no target) no errors | {_mark(st['errors'] == 0)} |")


def stories_table(report: dict) -> list[str]:
    st = report.get("stories") or {}
    if not st.get("rounds"):
        return [f"Pending: {_problem(st)}"]
    rows = ["| client processes | stories completed | wall time | stories/s | errors |",
            "|---|---|---|---|---|"]
    for r in st["rounds"]:
        rows.append(f"| {r['processes']} | {r['stories']} | {r['seconds']:.1f} s | "
                    f"{r['per_second']:.2f} | {r['errors']} |")
    kinds = {k: n for r in st["rounds"] for k, n in r["error_kinds"].items()}
    if kinds:
        rows += ["", f"Errors: {kinds}."]
    return rows


def _sweep_problem(sw) -> str:
    for value in (sw or {}).values():
        if isinstance(value, dict) and (value.get("pending") or value.get("error")):
            return "pending: " + (value.get("pending") or value.get("error"))
    return "pending: " + (_problem(sw) or "no figures")


def _search_problem(se) -> str:
    return _sweep_problem(se)


def _search_ok(se, sizes, query) -> bool:
    """A query's cost follows its results, or is capped by the read budget."""
    budget = se.get("read_budget")
    large = se[sizes[1]]["queries"][query]["items_read"] or 0
    return (_search_ratio(se, sizes, query) <= SEARCH_TARGET
            or (budget is not None and large <= budget))


def _search_ratio(se, sizes, query) -> float:
    small = se[sizes[0]]["queries"][query]["items_read"] or 0
    large = se[sizes[1]]["queries"][query]["items_read"] or 0
    return large / small if small else (1.0 if not large else float(large))


def routes_table(report: dict) -> list[str]:
    rows = ["| route | calls | floor | calls made (most common) | capacity units | verdict | "
            "above the floor because |", "|---|---|---|---|---|---|---|"]
    for r in report["routes"]:
        floor = "—" if r["floor"] is None else r["floor"]
        rows.append(f"| `{r['route']}` | {r['calls']} | {floor} | {r['shape'] or '—'} | "
                    f"{_num(r['capacity'], 1)} | {r['verdict']} | {r.get('why', '')} |")
    return rows


def jobs_table(report: dict) -> list[str]:
    rows = ["| job | calls | items read | calls made |", "|---|---|---|---|"]
    for name, t in (report.get("jobs") or {}).items():
        if t is None:
            rows.append(f"| `{name}` | pending: not scheduled in app.py yet | | |")
        else:
            rows.append(f"| `{name}` | {t['calls']} | {t['items_read']} | {t['shape'] or '—'} |")
    return rows


def sweep_table(report: dict) -> list[str]:
    sw = report.get("sweep") or {}
    sizes = [k for k in sw if isinstance(k, int) and "items_read" in sw[k]]
    if not sizes:
        return [_sweep_problem(sw)]
    rows = ["| orders in table | due | handled | items read | calls | sweep time | calls made |",
            "|---|---|---|---|---|---|---|"]
    for s in sizes:
        v = sw[s]
        rows.append(f"| {s:,} | {v['due']} | {v['handled']} | {v['items_read']} | {v['calls']} | "
                    f"{_ms(v['seconds'])} | {v['shape']} |")
    if "ratio" in sw:
        rows.append("")
        rows.append(f"Items read, large / small table: **{sw['ratio']:.2f}×** (target ≈ 1); "
                    f"sweep time ratio {_num(sw.get('time_ratio'))}×.")
    return rows


def search_table(report: dict) -> list[str]:
    se = report.get("search") or {}
    sizes = [k for k in se if isinstance(k, int) and "queries" in se[k]]
    if not sizes:
        return [_search_problem(se)]
    head = "| query | " + " | ".join(f"{s:,} services: results / items read / calls" for s in sizes)
    rows = [head + " | ratio |", "|---|" + "---|" * len(sizes) + "---|"]
    for q in se[sizes[0]]["queries"]:
        cells = []
        for s in sizes:
            v = se[s]["queries"][q]
            status = "" if v["status"] == 200 else f" (HTTP {v['status']})"
            cells.append(f"{v['results']} / {_num(v['items_read'], 0)} / {_num(v['calls'], 0)}{status}")
        ratio = _search_ratio(se, sizes, q) if len(sizes) == 2 else None
        rows.append(f"| {q} | " + " | ".join(cells) + f" | {_num(ratio)} |")
    if se.get("read_budget"):
        rows += ["", f"A market request reads at most {se['read_budget']} index entries "
                 "(`market.READ_BUDGET`); a sparse filter answers what those held with a "
                 "`next_cursor`. A `q` with no searchable word is refused (HTTP 422)."]
    return rows


def cold_table(report: dict) -> list[str]:
    cs = report.get("cold_start") or {}
    if "ratio" not in cs:
        return [f"Pending: {_problem(cs)}"]
    return [
        f"First request: app `{cs['request']}` (status {cs['statuses']}), floor `GET /item/{{id}}`; "
        f"median of {cs['repeats']} fresh interpreters each, alternating.",
        "",
        "| | import | first request | total | ratio to floor |", "|---|---|---|---|---|",
        f"| app | {_ms(cs['app_import'])} | {_ms(cs['app_first'])} | {_ms(cs['app_total'])} | "
        f"**{cs['ratio']:.2f}×** |",
        f"| floor | {_ms(cs['floor_import'])} | {_ms(cs['floor_first'])} | {_ms(cs['floor_total'])} "
        f"| 1.00× |",
    ]


def load_table(report: dict) -> list[str]:
    ld = report.get("load") or {}
    if "p50_ratio" not in ld:
        return [f"Pending: {_problem(ld)}"]
    a, f = ld["app"], ld["floor"]
    rows = [
        f"Served by: {ld['served_by']} (app) and `bench/serve.py` with the same gateway (floor), "
        f"both on one DynamoDB Local; {ld['clients']} concurrent clients on 127.0.0.1, "
        f"{ld['rounds']} alternating rounds. Mix per client cycle: "
        + ", ".join(f"`{p}`" for p in ld["plan"])
        + ". Between pay and the read the buyer pays at the Alipay stand-in's cashier "
        "(not timed; the stand-in's notification reaches the app meanwhile), and the read "
        "is repeated until the order is funded. The floor's twin of each request makes the "
        "route's floor in DynamoDB calls (a read: one GetItem; a state change: one GetItem "
        f"and one conditional transaction): {ld['floor_calls']}.",
        "",
        "| | requests | errors | p50 | p95 | p99 | req/s |", "|---|---|---|---|---|---|---|",
        f"| app | {a['requests']} | {a['errors']} | {_ms(a['p50'])} | {_ms(a['p95'])} | "
        f"{_ms(a['p99'])} | {a['throughput']:.1f} |",
        f"| floor | {f['requests']} | {f['errors']} | {_ms(f['p50'])} | {_ms(f['p95'])} | "
        f"{_ms(f['p99'])} | {f['throughput']:.1f} |",
        "",
        f"p50 ratio (median of the rounds' ratios): **{ld['p50_ratio']:.2f}×** "
        f"(rounds: {', '.join(f'{r:.2f}' for r in ld['round_ratios'])}).",
    ]
    if a.get("cashier_p50") is not None:
        rows += ["", f"The buyer's time at the cashier (opening it, paying, until the app "
                 f"acknowledged the stand-in's notification): p50 {_ms(a['cashier_p50'])}. "
                 "The floor's buyers pause as long after their pay twin, so that both servers "
                 "see as many clients at work at once; req/s counts the clients' time "
                 "without these pauses."]
    kinds = a.get("p50_by_kind") or {}
    if kinds:
        rows += ["", "| request kind | app's DynamoDB calls | floor's | app p50 | floor p50 | "
                 "ratio |", "|---|---|---|---|---|---|"]
        for kind, app_p50 in kinds.items():
            floor_p50 = (f.get("p50_by_kind") or {}).get(kind)
            ratio = app_p50 / floor_p50 if floor_p50 else None
            app_calls = (ld.get("app_calls") or {}).get(kind)
            rows.append(f"| {kind} | {_num(app_calls, 0) if app_calls is not None else '—'} | "
                        f"{ld['floor_calls'].get(kind, '—')} | {_ms(app_p50)} | "
                        f"{_ms(floor_p50)} | {_num(ratio)} |")
        if ld.get("notify_calls") is not None:
            rows += ["", "Each paid order also brings the app the stand-in's notification "
                     "(`POST /payments/alipay/notify`: "
                     f"{_num(ld['notify_calls'], 0)} DynamoDB calls, floor 2), served while "
                     "the clients run but timed by none of them; the floor has no twin of it."]
    if a["error_kinds"]:
        rows += ["", f"App errors: {a['error_kinds']}."]
    return rows


def markdown(report: dict) -> str:
    m = report["machine"]
    lines = [
        "# Benchmarks",
        "",
        f"Generated by `make bench` (`bench/run.py`) at {report['at']} in "
        f"{report['seconds'] / 60:.1f} minutes{' (QUICK sizes)' if report['quick'] else ''}. "
        f"Machine: {m['nproc']} CPUs, {m['cpu']}, Python {m['python']}, {m['platform']}.",
        "",
        "Every figure stands next to its floor, measured in the same run; times are medians "
        "of repeated runs and are compared as ratios, since absolute times say more about "
        "this shared 2-core machine than about the code. Do not edit by hand: re-run "
        "`make bench`.",
        "",
        "## Summary", "", *summary(report), "",
        "## DynamoDB calls per route", "",
        "Counted with botocore event hooks (`before-call.dynamodb`) while the scripted "
        "scenario in `bench/scenario.py` drives every route through `chalice.test.Client` on "
        "moto (2 runs; counts do not depend on the engine). Floor: a read needs 1 call, a "
        "state change 1 read + 1 transaction. Capacity units: the same scenario on DynamoDB "
        "Local with `ReturnConsumedCapacity=TOTAL` injected by a `before-parameter-build` "
        "hook, summed from `after-call` (median over the route's calls). Calls made without "
        "`Idempotency-Key`; a key adds a conditional put and an update per write.", "",
        *routes_table(report), "",
    ]
    broken = [f"`{r['route']}` ({', '.join(map(str, r['server_errors']))})"
              for r in report["routes"] if r.get("server_errors")]
    if broken:
        lines += ["App bugs: the scenario's calls answered 5xx on " + ", ".join(broken) + ".", ""]
    skipped = report.get("skipped_steps") or {}
    if skipped:
        lines += ["Scenario steps not run yet (their routes are missing or answered an error):", ""]
        lines += [f"- `{step}`: {why}" for step, why in skipped.items()]
        lines.append("")
    lines += ["## Scheduled jobs after the scenario", "", *jobs_table(report), "",
              "## Sweep cost against table size", "",
              "`sweep_timeouts` on DynamoDB Local with 100 orders past their payment window; "
              "the rest of the table holds orders whose timers are days away. Items read: "
              "`ScannedCount` of every Query/Scan plus items returned by gets.", "",
              *sweep_table(report), "",
              "### Sweep cost against due orders, per shard layout", "",
              "Due work is sharded (`chalicelib/storage/shards.py`, docs/scale.md): a sweep "
              "reads every shard of the current and the retiring layout, a query per shard. "
              "Here one table of the same size holds few or many orders past their payment "
              "window, with the default layout and with `DUE_SHARDS=1` (one key, as before "
              "sharding); the sweep runs without its time budget so that it handles all of "
              "them. Its cost should follow the due orders, not the table.", "",
              *due_table(report.get("sweep") or {}), "",
              "## Search cost against catalog size", "",
              "Market queries (`GET /services`) on DynamoDB Local; the same 30 services match "
              "装修 in both catalogs. Median of 3 runs per query.", "",
              *search_table(report), "",
              "## Cold start", "", *cold_table(report), "",
              "## HTTP under load", "", *load_table(report), "",
              "## Whole order stories per second", "",
              "The local stack (the dev server with its Alipay stand-in, on DynamoDB Local) "
              "driven over HTTP by 1, 2 and 4 client processes at once, each doing whole "
              "stories one after another: place → pay (at the stand-in's cashier, then read "
              "until funded) → accept → upload and deliver → approve (`bench/stories.py`). "
              f"Served by: {(report.get('stories') or {}).get('served_by', '—')}.", "",
              *stories_table(report), ""]
    pk = report.get("package") or {}
    if pk.get("app") and "zip_bytes" in pk["app"]:
        lines += ["## Deployment package", "",
                  f"App zip {pk['app']['zip_bytes']:,} bytes (our own code "
                  f"{pk['app']['own_code_bytes']:,}); floor zip {pk['floor']['zip_bytes']:,} bytes. "
                  f"Both bundle botocore through PynamoDB (app packaged with stage "
                  f"`{pk['app'].get('stage')}`).", ""]
    return "\n".join(lines)
