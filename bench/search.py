"""Search cost against catalog size: items read by market queries in catalogs of 100 and
10,000 listed services, with the same 30 services matching 装修 in both. The target:
items read follow the results returned, not the catalog size.

Three services are listed through the API (so the catalog writes its own index
entries); their services-table items and market entries are then cloned under fresh ids:
29 more 装修 shops, the rest LOGO design and customer-service fillers.
"""
from urllib.parse import quote

from bench import bulk, counters, env, scenario
from chalicelib import clock, ids

MATCHING = 30


def queries(ctx: dict) -> list[tuple[str, str]]:
    cat, tag = ctx["categories"][0], ctx["tags"][0]
    return [
        ("q=装修 (30 match)", f"/services?q={quote('装修')}&limit=20"),
        ("q=装修 + category", f"/services?q={quote('装修')}&category={cat}&limit=20"),
        ("category, price_asc (30 match)", f"/services?category={cat}&sort=price_asc&limit=20"),
        ("everything, best (the default)", "/services?limit=20"),
        ("everything, newest", "/services?sort=newest&limit=20"),
        ("q=不存在的词 (0 match)", f"/services?q={quote('不存在的词')}&limit=20"),
        # The worst cases: a query with no index token, and filters that match nothing in
        # the biggest partitions (every filler carries the first tag; half of them are
        # PROVIDER_3's, none in the first category). Bounded by market.READ_BUDGET.
        ("worst: q=x (no index token)", "/services?q=x&limit=20"),
        ("worst: q=! (no index token)", f"/services?q={quote('!')}&limit=20"),
        ("worst: q=装修 zzqq (0 match)", f"/services?q={quote('装修 zzqq')}&limit=20"),
        ("worst: provider + other category (0 match)",
         f"/services?provider_id={scenario.PROVIDER_3}&category={cat}&limit=20"),
        ("worst: tag + unknown provider (0 match)",
         f"/services?tag={tag}&provider_id=nobody&sort=rating&limit=20"),
    ]


def _market_model():
    from chalicelib.storage import base, schema

    schema.all_models()
    for model in base.REGISTRY:
        if "market" in model.TABLE_SUFFIX:
            return model
    return None


def _hash_key_name(model) -> str:
    return next(name for name, attr in model.get_attributes().items() if attr.is_hash_key)


def _fill(ctx: dict, size: int, model) -> None:
    market_table = model.Meta.table_name
    term_key = model.get_attributes()[_hash_key_name(model)].attr_name
    services_table = bulk.table_name("services")

    def copies(service_id: str, count: int, keep_tokens: bool):
        service = [i for i in bulk.items_mentioning(services_table, service_id)
                   if i.get("id", {}).get("S") == service_id]
        entries = bulk.items_mentioning(market_table, service_id)
        if not keep_tokens:
            # A filler's own search tokens sit in partitions no measured query touches;
            # leaving them out keeps a 10,000-service fill within a minute.
            entries = [e for e in entries if not e.get(term_key, {}).get("S", "").startswith("Q#")]
        prefix = service_id.split("_", 1)[0]
        for _ in range(count):
            new = ids.new_id(prefix)
            yield [bulk.clone(i, service_id, new) for i in service], \
                  [bulk.clone(e, service_id, new) for e in entries]

    fillers = size - MATCHING - 2
    plan = [(ctx["service"], MATCHING - 1, True), (ctx["negotiable"], fillers // 2, False),
            (ctx["capped"], fillers - fillers // 2, False)]
    for service_id, count, keep in plan:
        services, entries = [], []
        for svc, ent in copies(service_id, count, keep):
            services += svc
            entries += ent
        bulk.put_all(services_table, services)
        bulk.put_all(market_table, entries)


def one_size(engines: dict, size: int) -> dict:
    from chalice.test import Client

    from app import app
    from tests.support import ApiClient

    clock.reset()
    env.point_at(engines["dynamodb"], engines["s3"], f"benchse{size}-")
    env.fresh_tables()
    model = _market_model()
    if model is None:
        return {"pending": "no market index table yet"}
    with Client(app, stage_name="local") as client:
        api = ApiClient(client)
        ctx = scenario.seed_catalog(api)
        if ctx.get("stored_catalog") or not all(k in ctx for k in ("service", "negotiable",
                                                                     "capped")):
            return {"pending": f"could not list the seed services: {ctx['skipped']}"}
        _fill(ctx, size, model)
        rows = {}
        for name, path in queries(ctx):
            tallies = []
            for _ in range(3):
                with counters.measure() as tally:
                    reply = api.get(path)
                tallies.append((tally, reply))
            tally, reply = tallies[-1]
            rows[name] = {"status": reply.status,
                          "results": len((reply.json or {}).get("items") or []),
                          "items_read": env.median(t.items_read for t, _ in tallies),
                          "calls": env.median(t.total for t, _ in tallies), "shape": tally.shape()}
    return {"size": size, "queries": rows}


def measure_search(engines: dict, sizes=(100, 10_000)) -> dict:
    from chalicelib.services import market

    out = env.each_size(one_size, engines, sizes)
    out["read_budget"] = market.READ_BUDGET
    return out
