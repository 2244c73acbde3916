"""Wiring every PynamoDB model to the configured DynamoDB (AWS, DynamoDB Local or moto).

Models declare their table with `@table("orders")`; `configure()` points all of them at
the endpoint and table prefix from settings. Tests call it to switch between moto and
DynamoDB Local in one process.
"""
import random
import time

import botocore.loaders
import botocore.session
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError
from pynamodb.connection import Connection
from pynamodb.connection import base as pynamodb_connection
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib import settings as settings_module
from chalicelib.domain.errors import InvalidRequest

REGISTRY: list[type[Model]] = []
_connection: Connection | None = None

# PynamoDB opens one botocore session per model (so per table), and each new session
# parses botocore's JSON service model and endpoint rules again: about 80 ms of CPU per
# table touched, on every cold start, and most of the time of a moto test. One loader,
# which caches what it parsed, serves every session instead.
_LOADER = botocore.loaders.create_loader()


def botocore_session() -> botocore.session.Session:
    """A new botocore session that reuses what earlier sessions parsed."""
    session = botocore.session.get_session()
    session.register_component("data_loader", _LOADER)
    return session


pynamodb_connection.get_session = botocore_session


def _start_key_fits(meta, index_name: str | None, start_key) -> bool:
    names = meta.get_key_names(index_name)
    if not isinstance(start_key, dict) or set(start_key) != set(names):
        return False
    return all(isinstance(start_key[n], dict) and list(start_key[n]) == [meta.get_attribute_type(n)]
               for n in names)


def _checking_start_key(operation):
    """A Query or Scan that refuses a start key not made for its table or index.

    Start keys come back from clients inside cursors (signed, so only whoever holds the
    stage's secret can make one up). DynamoDB answers a misfit with a ValidationException,
    DynamoDB Local sometimes with an InternalFailure; either would be a 500, when it is the
    client's cursor that is wrong."""
    def checked(self, table_name, *args, exclusive_start_key=None, index_name=None, **kwargs):
        if exclusive_start_key is not None and not _start_key_fits(
                self.get_meta_table(table_name), index_name, exclusive_start_key):
            raise InvalidRequest("the cursor is invalid", field="cursor")
        return operation(self, table_name, *args, exclusive_start_key=exclusive_start_key,
                         index_name=index_name, **kwargs)

    checked.__wrapped__ = operation
    return checked


Connection.query = _checking_start_key(Connection.query)
Connection.scan = _checking_start_key(Connection.scan)


def table(suffix: str, *, money: bool = False, ttl_attribute: str | None = None):
    """Register a model as the owner of table `<prefix><suffix>`.

    `money` marks tables whose loss would lose money: the deployed template gives them
    point-in-time recovery and deletion protection.
    """

    def wrap(model: type[Model]) -> type[Model]:
        model.TABLE_SUFFIX = suffix
        model.MONEY_TABLE = money
        model.TTL_ATTRIBUTE = ttl_attribute
        _point(model, settings_module.get())
        REGISTRY.append(model)
        return model

    return wrap


def _point(model: type[Model], cfg) -> None:
    model.Meta.table_name = cfg.table_prefix + model.TABLE_SUFFIX
    model.Meta.host = cfg.dynamodb_endpoint
    model.Meta.region = cfg.region
    model.Meta.billing_mode = "PAY_PER_REQUEST"
    # Lambda and API Gateway time out long before botocore's defaults would.
    model.Meta.connect_timeout_seconds = 5
    model.Meta.read_timeout_seconds = 10
    model.Meta.max_retry_attempts = 3
    model._connection = None


def configure(cfg=None) -> None:
    """Point every registered model (and transactions) at the configured endpoint."""
    global _connection
    cfg = cfg or settings_module.get()
    for model in REGISTRY:
        _point(model, cfg)
    _connection = None


def connection() -> Connection:
    global _connection
    if _connection is None:
        cfg = settings_module.get()
        _connection = Connection(region=cfg.region, host=cfg.dynamodb_endpoint,
                                 connect_timeout_seconds=5, read_timeout_seconds=10,
                                 max_retry_attempts=3)
    return _connection


CONDITION_FAILED = "ConditionalCheckFailed"


# Items one filtered list request may read: the filter runs after DynamoDB reads, so
# without a budget a filter that matches little reads its whole partition.
READ_BUDGET = 200


def bounded_query(model: type[Model], target, hash_key, *, limit: int, read_budget: int,
                  page_size: int, later_page_size: int | None = None, last_evaluated_key=None,
                  **kwargs):
    """Up to `limit` items of a (filtered) query, reading at most `read_budget` items.

    Returns (items, next key, items read). The next key is where the following request
    starts: after the last item returned, or after the last item read when the budget ran
    out first — then fewer than `limit` items (maybe none) come with a next key, and
    the client asks again. `target` is the model or one of its indexes. The first call
    reads `page_size` items, later ones `later_page_size` (a filter that matched little
    on the first page is read on in bigger pages, so the budget takes few calls)."""
    pages = target.query(hash_key, last_evaluated_key=last_evaluated_key, page_size=page_size,
                         **kwargs).page_iter
    raw_items, read, next_key, size = [], 0, last_evaluated_key, page_size
    while len(raw_items) < limit and read < read_budget:
        pages.page_size = min(size, read_budget - read)  # DynamoDB's Limit: items read
        size = later_page_size or page_size
        try:
            page = next(pages)
        except StopIteration:
            break
        read += page.get("ScannedCount", 0)
        found = page.get("Items") or []
        wanted = limit - len(raw_items)
        if len(found) > wanted:
            # Stopped inside the page: resume after the last item returned.
            raw_items += found[:wanted]
            next_key = {name: raw_items[-1][name] for name in pages.key_names}
            break
        raw_items += found
        next_key = pages.last_evaluated_key
        if next_key is None:
            break
    return [model.from_raw_data(i) for i in raw_items], next_key, read


def cancellation_codes(error) -> list[str | None]:
    """The per-action reason codes of a refused transaction (None where it passed)."""
    reasons = getattr(error, "cancellation_reasons", None) or []
    return [getattr(r, "code", None) if r is not None else None for r in reasons]


class Transaction:
    """A TransactWrite whose actions carry names, so that a refusal is read by name.

    DynamoDB reports why a transaction was refused action by action, by position, and
    PynamoDB sends the actions grouped by kind (condition checks, deletes, puts, updates)
    whatever order they were added in. Reading `codes[2]` therefore breaks silently when
    a write is added or its kind changes; a name does not. Several actions may share a
    name (every file of a delivery): the name failed if any of them did.

        tx = transaction()
        try:
            with tx:
                tx.update("order", OrderModel(order_id), actions=[...], condition=...)
        except TransactWriteError as error:
            if tx.refusal(error).failed("order"): ...
    """

    # PynamoDB's order of the actions in the request (Connection.transact_write_items).
    _KINDS = ("condition_check", "delete", "put", "update")

    def __init__(self):
        self._tx = TransactWrite(connection=connection())
        self._names: dict[str, list[str]] = {kind: [] for kind in self._KINDS}
        self._before_commit: list = []

    def __enter__(self) -> "Transaction":
        self._tx.__enter__()
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        if exc_type is None:
            for write in self._before_commit:
                write()
        return self._tx.__exit__(exc_type, exc_val, exc_tb)

    def before_commit(self, write) -> None:
        """Run `write()` (which adds actions) as the block ends, before the commit: for
        writes summed over the whole transaction (day counters), one action per item."""
        self._before_commit.append(write)

    def save(self, name: str, model: Model, condition=None) -> None:
        self._names["put"].append(name)
        self._tx.save(model, condition=condition)
        # A model may add writes that go with every save of it (a posting: its day's
        # money counters), so that no caller can save one and forget the other.
        with_save = getattr(model, "writes_with_save", None)
        if with_save is not None:
            with_save(self)

    def update(self, name: str, model: Model, actions: list, condition=None) -> None:
        self._names["update"].append(name)
        self._tx.update(model, actions=actions, condition=condition)

    def delete(self, name: str, model: Model, condition=None) -> None:
        self._names["delete"].append(name)
        self._tx.delete(model, condition=condition)

    def condition_check(self, name: str, model_cls: type[Model], hash_key, range_key=None,
                        condition=None) -> None:
        self._names["condition_check"].append(name)
        self._tx.condition_check(model_cls, hash_key, range_key=range_key, condition=condition)

    def refusal(self, error) -> "Refusal":
        """What DynamoDB said about each named action of this refused transaction.

        A conflict means another transaction is writing one of our items right now:
        every caller then reads and decides again, so it first waits a short, jittered
        moment (AWS's advice for TransactionConflict) — deciding again at once would
        mostly meet the same transaction still in flight, and spend the few attempts
        a race gets before answering 409."""
        names = [name for kind in self._KINDS for name in self._names[kind]]
        refusal = Refusal(names, error)
        if refusal.conflict:
            time.sleep(random.uniform(*CONFLICT_PAUSE_SECONDS))
        return refusal


def transaction() -> Transaction:
    """A TransactWrite with named actions on the configured connection."""
    return Transaction()


class Refusal:
    """A refused transaction, read by the names its actions were given."""

    def __init__(self, names: list[str], error):
        self.codes = cancellation_codes(error)
        self._codes_by_name: dict[str, list[str | None]] = {}
        for name, code in zip(names, self.codes):
            self._codes_by_name.setdefault(name, []).append(code)
        # Another transaction touched the same items: nothing was decided, try again.
        self.conflict = "TransactionConflict" in self.codes or "TransactionConflict" in str(error)

    def failed(self, name: str) -> bool:
        """Whether the condition of the action (of any action) called `name` failed."""
        return CONDITION_FAILED in self._codes_by_name.get(name, ())

    def failed_each(self, name: str) -> list[bool]:
        """For each action called `name`, in the order they were added: whether its
        condition failed (e.g. which of a message's files was already sent)."""
        return [code == CONDITION_FAILED for code in self._codes_by_name.get(name, ())]

    @property
    def explained(self) -> bool:
        """Whether DynamoDB gave any reason at all (else the error is something else)."""
        return any(self.codes)


def condition_failed(error) -> bool:
    """Whether a refused single-item write (PutError, UpdateError, DeleteError) was refused
    by its condition, rather than by anything else."""
    return getattr(error, "cause_response_code", None) == "ConditionalCheckFailedException"


# Refusals that say "not now" rather than "no": retrying the same request later is right.
_TRANSIENT_CODES = {"ProvisionedThroughputExceededException", "ThrottlingException",
                    "RequestLimitExceeded", "TransactionConflictException",
                    "TransactionInProgressException", "InternalServerError",
                    "ServiceUnavailable", "SlowDown", "RequestTimeout"}
_TRANSIENT_REASONS = {"TransactionConflict", "ThrottlingError",
                      "ProvisionedThroughputExceeded"}


def is_rejected_query(error: BaseException | None) -> bool:
    """Whether DynamoDB refused a Query or Scan as invalid (ValidationException), e.g. for
    an ExclusiveStartKey that does not fit the table's or index's key schema."""
    from pynamodb.exceptions import QueryError, ScanError

    if not isinstance(error, (QueryError, ScanError)):
        return False
    cause = getattr(error, "cause", None) or error.__cause__
    return (isinstance(cause, ClientError)
            and cause.response.get("Error", {}).get("Code") == "ValidationException")


def is_transient(error: BaseException | None) -> bool:
    """Whether a failure (or what caused it) is DynamoDB/S3 throttling, a timeout or an
    unreachable endpoint, after botocore's own retries gave up."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, (BotoConnectionError, HTTPClientError)):
            return True
        if isinstance(error, ClientError):
            code = error.response.get("Error", {}).get("Code")
            if code in _TRANSIENT_CODES:
                return True
            if code == "TransactionCanceledException":
                reasons = {r.get("Code") for r in error.response.get("CancellationReasons", [])}
                reasons.discard("None")
                return bool(reasons) and reasons <= _TRANSIENT_REASONS
            return False
        error = getattr(error, "cause", None) or error.__cause__
    return False


# How often a conditional write that lost a race is decided again before answering 409:
# the one number for every such loop (services.optimistic and the payment records).
ATTEMPTS = 3
# How long a transaction that met another one in flight waits before deciding again.
CONFLICT_PAUSE_SECONDS = (0.005, 0.05)
