"""Counting the writes a story makes on every partition key of every table and index.

A botocore hook on the app's own DynamoDB calls reads each written item before and after
the call (with a client of its own, outside the hook) and books, for the table and for
each global secondary index of its model, a write on the partition key value it touched:
an index entry that moves from one key to another is a delete on the old key and a put
on the new one (even within one partition); an item entering or leaving a sparse index is one write there; an update
that leaves a KEYS_ONLY entry's keys alone writes nothing to it. Transaction condition
checks count on the table (they take write capacity on the item's partition).

Beside the writes, their write units: DynamoDB's partition limit is 1,000 units a second,
one unit per started KB of the item (of what the index projects, for an index entry), and
twice that for each item of a transaction.
"""
import math
from collections import Counter

import boto3
from botocore import handlers

from chalicelib import settings
from chalicelib.storage import base, schema

def _value_size(value: dict) -> int:
    (kind, raw), = value.items()
    if kind in ("S", "B"):
        return len(raw.encode("utf-8")) if isinstance(raw, str) else len(raw)
    if kind == "N":
        return len(str(raw)) // 2 + 2
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode("utf-8")) + _value_size(v) for k, v in raw.items())
    if kind == "L":
        return 3 + sum(1 + _value_size(v) for v in raw)
    return 3 + sum(len(str(v)) for v in raw)  # SS, NS, BS


def item_size(item: dict | None) -> int:
    """An item's size as DynamoDB counts it (names plus values, close enough)."""
    return sum(len(k.encode("utf-8")) + _value_size(v) for k, v in (item or {}).items())


def units(size: int) -> int:
    return max(1, math.ceil(size / 1024))


_WRITES = ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem")


class Site:
    """A table or one of its indexes: its partition key and what its entries hold."""

    def __init__(self, table: str, index: str | None, hash_key: str, range_key: str | None,
                 keys_only: bool):
        self.table, self.index = table, index
        self.hash_key, self.range_key, self.keys_only = hash_key, range_key, keys_only

    @property
    def name(self) -> str:
        return f"{self.table}.{self.index}" if self.index else self.table

    def projected(self, item: dict | None, table: "Site") -> dict | None:
        """What the index holds of `item`: all of it, or its keys (KEYS_ONLY)."""
        if not self.keys_only or not item:
            return item
        names = {table.hash_key, table.range_key, self.hash_key, self.range_key}
        return {k: v for k, v in item.items() if k in names}

    def entry(self, item: dict | None):
        """The item's (hash, range) in this index, or None when it is not in it (sparse)."""
        if not item or self.hash_key not in item or (self.range_key and self.range_key not in item):
            return None
        return _plain(item[self.hash_key]), _plain(item.get(self.range_key)) if self.range_key else None


def _plain(value: dict):
    return next(iter(value.values())) if value else None


def sites() -> dict[str, list[Site]]:
    """Every table's sites (the table first, then its indexes), read from the models."""
    out = {}
    for model in schema.all_models():
        s = model._get_schema()
        keys = {k["KeyType"]: k["AttributeName"] for k in s["key_schema"]}
        table = [Site(model.TABLE_SUFFIX, None, keys["HASH"], keys.get("RANGE"), False)]
        for index in s.get("global_secondary_indexes", []):
            ik = {k["KeyType"]: k["AttributeName"] for k in index["key_schema"]}
            table.append(Site(model.TABLE_SUFFIX, index["index_name"], ik["HASH"], ik.get("RANGE"),
                              index["projection"]["ProjectionType"] == "KEYS_ONLY"))
        out[model.Meta.table_name] = table
    return out


class WriteCounter:
    """Counts writes per (site name, partition key value) while installed."""

    def __init__(self):
        cfg = settings.get()
        # Made before the hooks are installed, so its own reads are not counted.
        self._client = boto3.client("dynamodb", endpoint_url=cfg.dynamodb_endpoint,
                                    region_name=cfg.region)
        self._sites = sites()
        self.writes: Counter = Counter()
        self.units: Counter = Counter()  # write units, on the same keys
        self._hooks = []
        for op in _WRITES:
            self._hooks += [(f"before-parameter-build.dynamodb.{op}", self._before),
                            (f"after-call.dynamodb.{op}", self._after)]

    def __enter__(self) -> "WriteCounter":
        handlers.BUILTIN_HANDLERS.extend(self._hooks)
        base.configure()  # PynamoDB's sessions copy the handlers when they are made
        return self

    def __exit__(self, *exc) -> None:
        for hook in self._hooks:
            handlers.BUILTIN_HANDLERS.remove(hook)
        base.configure()

    def _targets(self, op: str, params: dict) -> list[tuple[str, dict, bool]]:
        """(table, key, is a condition check) of every item the call writes."""
        def key_of(table: str, item: dict) -> dict:
            names = [self._sites[table][0].hash_key, self._sites[table][0].range_key]
            return {n: item[n] for n in names if n}

        if op == "PutItem":
            return [(params["TableName"], key_of(params["TableName"], params["Item"]), False)]
        if op in ("UpdateItem", "DeleteItem"):
            return [(params["TableName"], params["Key"], False)]
        if op == "BatchWriteItem":
            return [(table, r["DeleteRequest"]["Key"] if "DeleteRequest" in r
                     else key_of(table, r["PutRequest"]["Item"]), False)
                    for table, requests in params["RequestItems"].items() for r in requests]
        out = []
        for action in params["TransactItems"]:
            (kind, body), = action.items()
            key = body["Key"] if "Key" in body else key_of(body["TableName"], body["Item"])
            out.append((body["TableName"], key, kind == "ConditionCheck"))
        return out

    def _read(self, table: str, key: dict) -> dict | None:
        return self._client.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")

    def _before(self, params, context, event_name, **_):
        op = event_name.rsplit(".", 1)[1]
        targets = [t for t in self._targets(op, params) if t[0] in self._sites]
        context["counted_writes"] = [(t, k, check, self._read(t, k)) for t, k, check in targets]

    def _book(self, site: str, value, size: int) -> None:
        self.writes[(site, value)] += 1
        self.units[(site, value)] += units(size)

    def _after(self, parsed, context, event_name, **_):
        if "Error" in parsed:  # refused: nothing was written
            return
        in_transaction = event_name.endswith("TransactWriteItems")
        for table, key, check, before in context.pop("counted_writes", []):
            table_site, *indexes = self._sites[table]
            after = None if check else self._read(table, key)
            size = max(item_size(before), item_size(after))
            self.writes[(table_site.name, _plain(key[table_site.hash_key]))] += 1
            self.units[(table_site.name, _plain(key[table_site.hash_key]))] += \
                units(size) * (2 if in_transaction else 1)
            if check:
                continue
            for site in indexes:
                old, new = site.entry(before), site.entry(after)
                was, now = site.projected(before, table_site), site.projected(after, table_site)
                if old and new and old != new:  # the entry's keys changed: delete and put
                    self._book(site.name, old[0], item_size(was))
                    self._book(site.name, new[0], item_size(now))
                elif old and new:
                    if was != now:
                        self._book(site.name, new[0], item_size(now))
                elif old or new:
                    self._book(site.name, (old or new)[0], item_size(was if old else now))
