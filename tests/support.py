"""Test helpers: a thin JSON client over chalice.test.Client with tokens for
memorable users."""
import json
import threading

from chalicelib.api.auth import issue_token
from tests import answers

# The memorable users every test speaks of: user ids, as a token's subject carries them.
# (A Caller for the service layer is Caller(BUYER); a role in the life cycle is
# domain.orders.BUYER.)
BUYER, BUYER_2 = "buyer-1", "buyer-2"
PROVIDER, PROVIDER_2 = "provider-1", "provider-2"
OPERATOR = "op-1"


class Reply:
    def __init__(self, raw):
        self.status = raw.status_code
        self.headers = {k.lower(): v for k, v in raw.headers.items()}
        self.raw = raw.body
        try:
            self.json = json.loads(raw.body) if raw.body else None
        except ValueError:
            self.json = None

    @property
    def error_code(self):
        return (self.json or {}).get("error", {}).get("code")

    def __repr__(self):
        return f"<Reply {self.status} {self.raw[:300]!r}>"


class ApiClient:
    # A market read first lets the stream consumer apply what was written before it
    # (catch_up_market); a test of the lag itself turns this off.
    market_catches_up = True

    def __init__(self, client):
        self.client = client

    def token(self, user: str, operator: bool = False) -> str:
        return issue_token(user, ["operator"] if operator else [])

    def call(self, method: str, path: str, body=None, *, user: str | None = None,
             operator: bool = False, headers: dict | None = None, raw: bytes | None = None,
             content_type: str = "application/json") -> Reply:
        hdrs = {"Content-Type": content_type}
        if user is not None:
            hdrs["Authorization"] = f"Bearer {self.token(user, operator)}"
        hdrs.update(headers or {})
        if raw is not None:
            data = raw
        elif body is None:
            data = b""
        else:
            data = json.dumps(body, ensure_ascii=False).encode()
        if method == "GET" and path.split("?", 1)[0] == "/services" and self.market_catches_up:
            catch_up_market(self.client)  # the market index is eventual: let it catch up
        reply = Reply(self.client.http.request(method, path, headers=hdrs, body=data))
        answers.check(method, path, reply.status, reply.json if reply.raw else None)
        return reply

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.call("POST", path, body if body is not None else {}, **kw)

    def patch(self, path, body=None, **kw):
        return self.call("PATCH", path, body, **kw)

    def put(self, path, body=None, **kw):
        return self.call("PUT", path, body, **kw)

    def delete(self, path, **kw):
        return self.call("DELETE", path, **kw)

    def invoke(self, name: str):
        """Run a scheduled function the way the cloud scheduler does."""
        event = self.client.events.generate_cw_event(
            source="aws.events", detail_type="Scheduled Event", detail={}, resources=[])
        return self.client.lambda_.invoke(name, event)


def race(*calls):
    """Run the calls at the same instant; each result is a value or the exception raised."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(i, fn):
        barrier.wait()
        try:
            results[i] = fn()
        except Exception as error:  # noqa: BLE001 - the race's loser is part of the result
            results[i] = error

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def fresh_sandbox():
    """A fresh sandbox gateway serving this process (tests count its calls)."""
    from chalicelib import payments
    from chalicelib.local.sandbox_gateway import SandboxGateway

    return payments.use("sandbox", SandboxGateway())


# --- moto's tables, made once per test process --------------------------------------------
# Creating the market's tables in moto costs three calls per table (exists, create, wait):
# about half a second per test, which over thousands of in-process tests was the suite's
# largest single cost. The tables are created once; every later `mock_aws()` (which starts
# with empty backends) receives deep copies of them, empty and with the same indexes and
# streams. moto is pinned (requirements-dev.txt), so reaching into its backend is safe; if
# its layout ever changes, the tables are simply created the slow way.
_moto_tables = None


def create_moto_tables() -> None:
    """Inside an active `mock_aws()`: the market's tables (empty) and its bucket."""
    import copy

    from chalicelib.storage import schema

    from chalicelib.local import stream_reader

    global _moto_tables
    stream_reader.forget_readers()  # a new world: no stream positions from the last one
    backend = _moto_dynamodb_backend()
    if _moto_tables is not None and backend is not None and not backend.tables:
        backend.tables.update(copy.deepcopy(_moto_tables))
    else:
        schema.create_missing_tables()
        if backend is not None and _moto_tables is None:
            _moto_tables = copy.deepcopy(dict(backend.tables))
    schema.create_bucket_if_missing()


def _moto_dynamodb_backend():
    import os

    try:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends
    except ImportError:
        return None
    account = os.environ.get("MOTO_ACCOUNT_ID", DEFAULT_ACCOUNT_ID)
    backend = dynamodb_backends[account][os.environ.get("AWS_DEFAULT_REGION", "us-east-1")]
    return backend if isinstance(getattr(backend, "tables", None), dict) else None


def empty_moto_tables() -> None:
    """Inside an active `mock_aws()` whose tables were made by create_moto_tables: every
    table replaced by an empty copy (a fresh market per model-test example, without a scan
    and a delete per item)."""
    import copy

    backend = _moto_dynamodb_backend()
    if _moto_tables is None or backend is None:
        from tests.conftest import _empty_tables

        _empty_tables(None)
        return
    backend.tables.clear()
    backend.tables.update(copy.deepcopy(_moto_tables))


def catch_up_market(client=None) -> int:
    """Run the market index's stream consumer (app.py's `index_market`, through
    chalice.test.Client as Lambda would call it; without a client, its job directly) on
    every services record not yet read, on either engine; returns how many batches it
    took. What a test does instead of waiting for search to show a change."""
    from chalice.app import DynamoDBEvent

    from chalicelib.jobs import index_market
    from chalicelib.local.stream_reader import services_reader

    events = services_reader().read()
    for event in events:
        if client is not None:
            client.lambda_.invoke(index_market.NAME, event)
        else:
            index_market.run(DynamoDBEvent(event, None))
    return len(events)


def quick_moto_transactions() -> None:
    """moto's TransactWriteItems deep-copies the whole database before each transaction,
    to roll back if one of its actions is refused: its cost grows with everything a test
    wrote before, so long tests (fault injection, the model test) slowed to a third of a
    second per transaction. Here it keeps a copy of just the items the transaction names
    (at most 100, each touched once) and the length of each stream, and on a refusal puts
    those items back and drops the stream records the refused actions added — the same
    rollback, since a transaction changes nothing else, and the same answers."""
    import copy
    from collections import OrderedDict

    try:
        from moto.dynamodb.models import DynamoDBBackend
        from moto.dynamodb.models.dynamo_type import DynamoType, LimitedSizeDict
    except ImportError:
        return
    moto_transact = DynamoDBBackend.transact_write_items
    if getattr(moto_transact, "keeps_only_touched_items", False):
        return

    class NotCopied(OrderedDict):
        """The tables, as moto's own backup copy of them: the rollback is done here."""

        def __deepcopy__(self, memo):
            return self

    def touched(self, transact_items):
        """(table, hash, range, copy of the item or None) for each action, or None when
        an action is malformed (moto's own path then answers, copying as it does)."""
        kept = []
        try:
            for item in transact_items:
                for kind, action in item.items():
                    table = self.tables[action["TableName"]]
                    key = action["Item"] if kind == "Put" else action["Key"]
                    hash_value = DynamoType(key[table.hash_key_attr])
                    range_value = (DynamoType(key[table.range_key_attr])
                                   if table.range_key_attr else None)
                    current = table.get_item(hash_value, range_value)
                    kept.append((table, hash_value, range_value, copy.deepcopy(current)))
        except Exception:  # noqa: BLE001 - moto's own code refuses it properly
            return None
        return kept

    def put_back(kept, stream_lengths):
        for table, hash_value, range_value, item in reversed(kept):
            if range_value is None:
                if item is None:
                    table.items.pop(hash_value, None)
                else:
                    table.items[hash_value] = item
            elif item is None:
                table.items.get(hash_value, {}).pop(range_value, None)
            else:
                table.items[hash_value][range_value] = item
        for table, length in stream_lengths.items():
            del table.stream_shard.items[length:]

    def transact_write_items(self, transact_items):
        kept = touched(self, transact_items)
        if kept is None:
            return moto_transact(self, transact_items)
        stream_lengths = {table: len(table.stream_shard.items) for table, *_ in kept
                          if table.stream_shard is not None}
        everything = self.tables
        self.tables = NotCopied(everything)
        try:
            return moto_transact(self, transact_items)
        except Exception:
            put_back(kept, stream_lengths)
            raise
        finally:
            self.tables = everything

    transact_write_items.keeps_only_touched_items = True
    DynamoDBBackend.transact_write_items = transact_write_items

    # A copied item's attributes are copied as they are: moto's item dict re-adds the
    # whole item's size on every attribute set (to refuse items over 400 KB), which made
    # copying an item quadratic in its attributes. A copy cannot grow.
    def copied_as_it_is(self, memo):
        copied = LimitedSizeDict.__new__(type(self))
        memo[id(self)] = copied
        for key, value in self.items():
            dict.__setitem__(copied, copy.deepcopy(key, memo), copy.deepcopy(value, memo))
        return copied

    LimitedSizeDict.__deepcopy__ = copied_as_it_is
