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
from pynamodb.transactions import TransactWrite

from chalicelib import settings as settings_module

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
    """A bare TransactWrite on the configured connection (use `transaction()` to be able
    to read a refusal)."""
    return TransactWrite(connection=connection())


CONDITION_FAILED = "ConditionalCheckFailed"


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

    def __enter__(self) -> "Transaction":
        self._tx.__enter__()
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        return self._tx.__exit__(exc_type, exc_val, exc_tb)

    def save(self, name: str, model: Model, condition=None) -> None:
        self._names["put"].append(name)
        self._tx.save(model, condition=condition)

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
        """What DynamoDB said about each named action of this refused transaction."""
        names = [name for kind in self._KINDS for name in self._names[kind]]
        return Refusal(names, error)


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
