"""Fault injection for DynamoDB and S3 through botocore's event system, without sleeps.

Every botocore client the app creates (PynamoDB makes one per model connection and one
for transactions; `storage.files` makes the S3 one) gets three handlers registered on
its event emitter:
- `before-parameter-build` keeps the call's parameters (table names, transaction items);
- `before-call` records the call and, when a fault is planned at its index, raises the
  fault instead of sending it (throttled, unreachable, a transaction conflict);
- `after-call` raises a read timeout AFTER the call went through: the write happened
  but the caller never hears of it (kind `lost`).

    with faults.recording():            # the clean run: which calls, in which order
        do_it()
    with faults.failing(3, "lost"):      # the same run, with call #3's answer lost
        do_it()

Calls are counted only inside `recording()`/`failing()`, so the test's own setup and
checks neither shift the indexes nor meet a fault.
"""
import threading
from contextlib import contextmanager
from dataclasses import dataclass

import botocore.session
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from chalicelib.storage import base, files

# Raised before the call (nothing happened) or after it (it happened, the answer is lost).
BEFORE_KINDS = ("throttled", "unreachable", "conflict")
AFTER_KINDS = ("lost",)
KINDS = BEFORE_KINDS + AFTER_KINDS


@dataclass(frozen=True)
class Call:
    service: str
    operation: str
    target: str  # the table(s) or bucket it touched

    def __str__(self):
        return f"{self.service}.{self.operation}({self.target})"


class Faults:
    def __init__(self):
        self._lock = threading.Lock()
        self._active = False
        self.calls: list[Call] = []
        self.plan: dict[int, str] = {}
        self.fired: list[tuple[int, str, Call]] = []

    # --- wiring ----------------------------------------------------------------
    def install(self, monkeypatch) -> "Faults":
        """Hook every botocore client created from now on, and make the app create new ones."""
        original = botocore.session.Session.create_client
        faults = self

        def create_client(session, *args, **kwargs):
            client = original(session, *args, **kwargs)
            events = client.meta.events
            events.register("before-parameter-build", faults._keep_params)
            events.register("before-call", faults._before_call)
            events.register("after-call", faults._after_call)
            return client

        monkeypatch.setattr(botocore.session.Session, "create_client", create_client)
        base.configure()  # drop the cached PynamoDB connections: new ones get the hooks
        files.reset_client()
        return self

    # --- use -------------------------------------------------------------------
    @contextmanager
    def recording(self):
        """Count the calls made inside, failing none."""
        with self.failing():
            yield self

    @contextmanager
    def failing(self, index: int | None = None, kind: str | None = None):
        """Count the calls made inside; the one at `index` fails with `kind`."""
        assert kind is None or kind in KINDS, kind
        with self._lock:
            self.calls, self.fired = [], []
            self.plan = {index: kind} if index is not None else {}
            self._active = True
        try:
            yield self
        finally:
            with self._lock:
                self._active = False

    # --- the handlers ----------------------------------------------------------
    def _keep_params(self, params, context, **_):
        context["fault_params"] = params

    def _before_call(self, model, context, **_):
        with self._lock:
            if not self._active:
                return None
            call = _describe(model, context.get("fault_params") or {})
            index = len(self.calls)
            self.calls.append(call)
            kind = self.plan.get(index)
            if kind is None:
                return None
            context["fault_index"] = index
            self.fired.append((index, kind, call))
        if kind in BEFORE_KINDS:
            raise _fault(kind, call, context.get("fault_params") or {})
        context["fault_after"] = kind
        return None

    def _after_call(self, model, context, **_):
        if context.get("fault_after") == "lost":
            raise ReadTimeoutError(endpoint_url=f"https://{model.service_model.service_name}"
                                                ".fault.invalid/")


def _describe(model, params: dict) -> Call:
    service = model.service_model.service_name
    if "TransactItems" in params:
        target = ",".join(next(iter(item.values()))["TableName"].split("-")[-1]
                          for item in params["TransactItems"])
    elif "RequestItems" in params:
        target = ",".join(name.split("-")[-1] for name in params["RequestItems"])
    else:
        target = str(params.get("TableName") or params.get("Bucket") or "").split("-")[-1]
    return Call(service, model.name, target)


def _fault(kind: str, call: Call, params: dict) -> Exception:
    if kind == "unreachable":
        return EndpointConnectionError(endpoint_url=f"https://{call.service}.fault.invalid/")
    if kind == "throttled":
        # DynamoDB says ThrottlingException for transactions and control calls,
        # ProvisionedThroughputExceededException for item calls; S3 says SlowDown.
        code = ("SlowDown" if call.service == "s3" else "ThrottlingException"
                if "TransactItems" in params else "ProvisionedThroughputExceededException")
        return ClientError({"Error": {"Code": code, "Message": "Rate exceeded (injected)"},
                            "ResponseMetadata": {"HTTPStatusCode": 503 if code == "SlowDown"
                                                 else 400}}, call.operation)
    # conflict: what DynamoDB answers when another transaction holds one of the items.
    items = params.get("TransactItems")
    if items:
        reasons = [{"Code": "None"} for _ in items]
        reasons[0] = {"Code": "TransactionConflict",
                      "Message": "Transaction is ongoing for the item"}
        return ClientError({"Error": {"Code": "TransactionCanceledException",
                                      "Message": "Transaction cancelled (injected): "
                                                 "[TransactionConflict]"},
                            "CancellationReasons": reasons}, call.operation)
    return ClientError({"Error": {"Code": "TransactionConflictException",
                                  "Message": "Transaction is ongoing for the item (injected)"}},
                       call.operation)
