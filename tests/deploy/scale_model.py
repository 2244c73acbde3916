"""The scale model of docs/scale.md: writes a second on the hottest partition key of every
table and index, at a given number of orders and contract periods a second.

Its inputs are counted, not guessed: `write_counter` books every write one order story and
one contract period (`scale_stories`) make, per site (a table or index of the models) and
partition key value. What is declared here is only what a key value *is* — one order's
own key, a provider's, a buyer's, a shard of due work, or a key every story shares — and
how much of the market the busiest provider, service, buyer, category or search word
takes. From both, each key's rate:

- a key of one order, contract, payment … (`item`): that story's writes on it, however
  large the market (a bound: as if they all came in one second);
- a key of one provider / service / buyer (`provider` …): the story's writes on it times
  the stories a second times the busiest one's share;
- a shard of due work or of a status (`sharded`, storage.shards): the kind's writes over all its shards,
  times the stories a second, over the kind's shard count (storage.shards);
- a key every story shares (`global`: an order status, the market's "ALL" list) or a
  big part of them (`category`, `word`): the writes times the stories a second (times
  the share).

Run `python -m tests.deploy.scale_model` to print the table docs/scale.md shows.
"""
import re
from collections import defaultdict
from dataclasses import dataclass

from chalicelib import settings
from chalicelib.storage import analytics as daily_counts
from chalicelib.storage.shards import shard_count

LIMIT = 1000  # writes a second one partition takes (DynamoDB's per-partition limit)
DEFAULT_SHARDS = settings.Settings.due_shards  # the model is of the default settings
RATES = (10, 100, 1000)

# The busiest one's share of the market's stories. A market of a thousand orders a second
# has thousands of active providers; none takes more than 1 % of the orders, no buyer more
# than 0.1 %, no category more than 30 %, and no search word is in more than half the
# services ordered.
SHARE = {"item": None, "global": 1.0, "provider": 0.01, "service": 0.01, "buyer": 0.001,
         "category": 0.3, "word": 0.5,
         # The day's analytics counters: a story's all land on the shard of its id.
         "market_day": 1.0 / daily_counts.SHARDS, "provider_day": 0.01 / daily_counts.SHARDS}

# What each partition key value the stories write is, first match wins. The stories' users
# are `buyer-1` and `provider-1`; every kind of id has its prefix (chalicelib.ids).
KINDS = [
    (r"^(DUE|PENDING|PROBLEM|OUTBOX|STUCK)#\d+$", "sharded"),
    (r"^(DUE|PENDING|PROBLEM|OUTBOX|STUCK)$", "global"),  # unsharded: would be a finding
    (r"^[a-z_]+#\d+$", "sharded"),  # an order's or contract's `<status>#<shard>`
    (r"^M#\d+$", "market_day"),  # the market's counters of a day, one shard
    (r"^P#provider-.*#\d+$", "provider_day"),  # a provider's counters of a day, one shard
    (r"^B#provider-.*#buyer-", "buyer"),  # one buyer's mark with one provider on a day
    (r"^CAP#.*#buyer-", "buyer"),  # a buyer's reviews of one provider in a month
    (r"^provider-1#BUYER#buyer-", "buyer"),  # one buyer's orders with one provider
    (r"^(buyer-|user-)", "buyer"),
    (r"^(provider-|payable:provider-|withdrawing:provider-|PROV#provider-)", "provider"),
    (r"^svc_", "service"),
    (r"^(ord|ctr|stm|ntf|wd|msg|rev|file|ins|pay)_", "item"),
    (r"^CAT#", "category"),
    (r"^Q#", "word"),
    (r"^ALL$", "global"),
    (r"^[a-z_]+$", "global"),  # an order, contract or provider status
]


def kind_of(value: str) -> str:
    for pattern, kind in KINDS:
        if re.search(pattern, str(value)):
            return kind
    raise ValueError(f"no kind declared for partition key value {value!r}")


@dataclass
class Hottest:
    site: str
    key: str  # the hottest key value (its kind for shards)
    kind: str
    rate: float  # writes a second on it


def hottest(site: str, orders: dict, periods: dict, order_rate: float, period_rate: float,
            shards: int) -> Hottest:
    """The hottest key of `site`, given the writes per order story and per contract
    period on each of its key values (value -> count), at these rates, with the DUE_SHARDS
    setting `shards`."""
    best = Hottest(site, "-", "-", 0.0)
    sharded = defaultdict(float)
    for value in set(orders) | set(periods):
        kind = kind_of(value)
        o, p = orders.get(value, 0), periods.get(value, 0)
        if kind == "item":
            rate = float(max(o, p))
        elif kind == "sharded":
            sharded[value.split("#")[0]] += o * order_rate + p * period_rate
            continue
        else:
            rate = SHARE[kind] * (o * order_rate + p * period_rate)
        if rate > best.rate:
            best = Hottest(site, str(value), kind, rate)
    for base, total in sharded.items():
        rate = total / shard_count(base, shards)
        if rate > best.rate:
            best = Hottest(site, f"{base}#<shard>", "sharded", rate)
    return best


def by_site(writes) -> dict[str, dict]:
    """A WriteCounter's counts as site -> {key value: writes}."""
    out: dict[str, dict] = defaultdict(dict)
    for (site, value), n in writes.items():
        out[site][value] = n
    return out


def model(site_names: list[str], orders: dict, periods: dict) -> dict[int, list[Hottest]]:
    """rate -> the hottest key of every site at `rate` orders and `rate` contract periods
    a second, with the default shard count."""
    shards = DEFAULT_SHARDS
    return {r: [hottest(s, orders.get(s, {}), periods.get(s, {}), r, r, shards)
                for s in site_names] for r in RATES}


def _number(x: float) -> str:
    return f"{x:,.0f}" if x >= 10 else f"{x:.1f}"


def table(result: dict[int, list[Hottest]], units: dict[int, list[Hottest]]) -> str:
    """The markdown table of docs/scale.md: writes a second on each site's hottest key at
    each rate, and write units a second on its hottest key at the top rate."""
    top = max(RATES)
    lines = ["| table.index | hottest key | kind | "
             + " | ".join(f"writes/s at {r}/s" for r in RATES) + f" | units/s at {top}/s |",
             "|---|---|---|" + "---:|" * (len(RATES) + 1)]
    for n, row in enumerate(result[top]):
        rates = [result[r][n].rate for r in RATES]
        unit_rate = units[top][n].rate
        key = re.sub(r"_[0-9a-f]{20,}", "_…", row.key)
        cells = [_number(x) for x in rates] + [_number(unit_rate)]
        cells = [c + (" **over**" if x > LIMIT else "")
                 for c, x in zip(cells, rates + [unit_rate])]
        lines.append(f"| {row.site} | `{key}` | {row.kind} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:  # pragma: no cover - prints the table for docs/scale.md
    import os
    import tempfile

    # As tests/conftest.py: the local stage on moto, set before the app is imported.
    os.environ.update(STAGE="local", TABLE_PREFIX="test-", BUCKET_NAME="market-test-files",
                      LOCAL_DATA_DIR=tempfile.mkdtemp(prefix="market-scale-"))
    for name in ("DYNAMODB_ENDPOINT", "S3_ENDPOINT", "JWT_SECRET"):
        os.environ.pop(name, None)
    settings.reload()
    from chalicelib.local import engines

    engines.dummy_aws_credentials()
    from chalice.test import Client
    from moto import mock_aws

    from app import app
    from chalicelib.storage import schema
    from tests.deploy import scale_stories, write_counter
    from tests.support import ApiClient

    with mock_aws():
        engines.point_at(None, None, "test-")
        schema.create_missing_tables()
        schema.create_bucket_if_missing()
        with Client(app, stage_name="local") as client:
            api = ApiClient(client)
            service_id = scale_stories.market()
            with write_counter.WriteCounter() as orders:
                scale_stories.order_story(api, service_id)
            with write_counter.WriteCounter() as periods:
                scale_stories.contract_story(api)
        names = [s.name for sites in write_counter.sites().values() for s in sites]
    print(table(model(names, by_site(orders.writes), by_site(periods.writes)),
                model(names, by_site(orders.units), by_site(periods.units))))


if __name__ == "__main__":  # pragma: no cover
    main()
