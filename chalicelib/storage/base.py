"""Wiring every PynamoDB model to the configured DynamoDB (AWS, DynamoDB Local or moto).

Models declare their table with `@table("orders")`; `configure()` points all of them at
the endpoint and table prefix from settings. Tests call it to switch between moto and
DynamoDB Local in one process.
"""
import botocore.loaders
import botocore.session
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError
from pynamodb.connection import Connection
from pynamodb.connection import base as pynamodb_connection
from pynamodb.models import Model
from pynamodb.transactions import TransactGet, TransactWrite

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


def transact_write() -> TransactWrite:
    """A TransactWrite on the configured connection (use as a context manager)."""
    return TransactWrite(connection=connection())


def transact_get() -> TransactGet:
    return TransactGet(connection=connection())


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


def is_conflict(error) -> bool:
    """Whether a refused transaction clashed with another one in flight (retry it)."""
    return "TransactionConflict" in str(error) or any(
        c == "TransactionConflict" for c in cancellation_codes(error))


def raise_unless_condition_failed(error) -> None:
    """Re-raise a refused single-item write unless its condition was what failed."""
    if getattr(error, "cause_response_code", None) != "ConditionalCheckFailedException":
        raise error


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
