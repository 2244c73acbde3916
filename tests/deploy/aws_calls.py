"""Recording, as IAM actions, every AWS call the app's own code makes.

`with recording() as calls:` patches botocore's one call path (and S3's presigners: whoever
holds a presigned URL acts with the role's permissions). A call counts when a frame of
app.py or chalicelib/ is on the stack, except code that only the tests and the local stack
run (creating tables and buckets, starting engines): that never runs in a deployed
function. Calls the test itself makes (playing the browser) do not count either.
"""
import os
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

from botocore.client import BaseClient

ROOT = Path(__file__).resolve().parents[2]
_APP_CODE = (str(ROOT / "chalicelib") + os.sep, str(ROOT / "app.py"))
_NOT_DEPLOYED = tuple(str(ROOT / "chalicelib" / p) for p in (
    "storage/schema.py", "local/engines.py", "local/devserver.py", "local/s3_snapshot.py",
    "local/http_gateway.py", "local/stream_reader.py"))

_TRANSACT_ITEM_ACTIONS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                          "ConditionCheck": "ConditionCheckItem"}
_S3_ACTIONS = {"HeadObject": ["GetObject"], "GetObject": ["GetObject"],
               "PutObject": ["PutObject"], "DeleteObject": ["DeleteObject"],
               "ListObjectsV2": ["ListBucket"], "ListObjects": ["ListBucket"],
               "CopyObject": ["GetObject", "PutObject"], "DeleteObjects": ["DeleteObject"]}

_sink: list[dict] | None = None


API_FUNCTION = "api_handler"
_APP_PY = str(ROOT / "app.py")
_function: str = API_FUNCTION


def _caller() -> str | None:
    """The deployed function whose code makes this call, or None for a call no deployed
    function makes (the test playing a browser, the local stack's own set-up)."""
    frame, seen, function = sys._getframe(2), False, API_FUNCTION
    while frame is not None:
        name = frame.f_code.co_filename
        if name.startswith(_NOT_DEPLOYED):
            return None
        if name.startswith(_APP_CODE):
            seen = True
            if name == _APP_PY and frame.f_code.co_name in _scheduled:
                # app.py's @app.schedule function, or its stream consumer
                function = frame.f_code.co_name
        frame = frame.f_back
    if seen and function == API_FUNCTION and threading.current_thread() is not threading.main_thread():
        # A worker thread (storage.shards.fan_out) has none of the frames of the function
        # that started it; that function made the latest call from the main thread, which
        # waits for its workers.
        return _function
    return function if seen else None


_scheduled: set[str] = set()


def _write(service: str, actions: list[str], tables=(), index: str | None = None,
           keys=()) -> None:
    _sink.append({"service": service, "actions": sorted(set(actions)),
                  "tables": sorted(set(tables)), "index": index, "keys": sorted(set(keys)),
                  "function": _function})


def _dynamodb(operation: str, params: dict) -> None:
    if operation == "TransactWriteItems":
        for item in params.get("TransactItems", []):
            for kind, body in item.items():
                _write("dynamodb", ["dynamodb:" + _TRANSACT_ITEM_ACTIONS[kind]],
                       [body["TableName"]])
    elif operation == "TransactGetItems":
        for item in params.get("TransactItems", []):
            _write("dynamodb", ["dynamodb:GetItem"], [item["Get"]["TableName"]])
    elif operation in ("BatchGetItem", "BatchWriteItem"):
        _write("dynamodb", ["dynamodb:" + operation], list(params.get("RequestItems", {})))
    else:
        _write("dynamodb", ["dynamodb:" + operation],
               [params["TableName"]] if "TableName" in params else [], params.get("IndexName"))


def _on_call(client, operation: str, params: dict) -> None:
    service = client.meta.service_model.endpoint_prefix
    if service == "dynamodb":
        _dynamodb(operation, params)
    elif service == "s3":
        _write("s3", ["s3:" + a for a in _S3_ACTIONS.get(operation, [operation])],
               keys=[params["Key"]] if "Key" in params else [])
    else:
        _write(service, [f"{client.meta.service_model.signing_name}:{operation}"])


def _presigned_url_actions(ClientMethod=None, *args, **kwargs):
    operation = "".join(p.capitalize() for p in str(ClientMethod).split("_"))
    return ["s3:" + a for a in _S3_ACTIONS.get(operation, [operation])]


@contextmanager
def recording(s3_client_class, scheduled=()):
    """Collect the app's AWS calls (as dicts: service, actions, tables, index, S3 keys and
    the deployed function making them: `api_handler`, or one of the `scheduled` function
    names of app.py) meanwhile."""
    global _sink
    _scheduled.clear()
    _scheduled.update(scheduled)
    calls: list[dict] = []
    original_call = BaseClient._make_api_call
    original_url = s3_client_class.generate_presigned_url
    original_post = s3_client_class.generate_presigned_post

    def attributed(record):
        global _function
        if _sink is not None:
            function = _caller()
            if function is not None:
                _function = function
                record()

    def make_api_call(self, operation, params):
        attributed(lambda: _on_call(self, operation, params))
        return original_call(self, operation, params)

    def presigned_url(self, *args, **kwargs):
        attributed(lambda: _write("s3", _presigned_url_actions(*args, **kwargs),
                                  keys=[kwargs.get("Params", {}).get("Key", "")]))
        return original_url(self, *args, **kwargs)

    def presigned_post(self, *args, **kwargs):
        key = args[1] if len(args) > 1 else kwargs.get("Key", "")
        # A POST that sets tags needs the tagging action too.
        tagged = "tagging" in (kwargs.get("Fields") or {})
        attributed(lambda: _write("s3", ["s3:PutObject"] + ["s3:PutObjectTagging"] * tagged,
                                  keys=[key]))
        return original_post(self, *args, **kwargs)

    BaseClient._make_api_call = make_api_call
    s3_client_class.generate_presigned_url = presigned_url
    s3_client_class.generate_presigned_post = presigned_post
    _sink = calls
    try:
        yield calls
    finally:
        _sink = None
        BaseClient._make_api_call = original_call
        s3_client_class.generate_presigned_url = original_url
        s3_client_class.generate_presigned_post = original_post
