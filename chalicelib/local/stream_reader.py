"""Reading a table's DynamoDB stream as Lambda's event source mapping does, for the local
stack and the tests: every shard, parents before children, from where the last read
stopped, in batches shaped as Lambda's DynamoDB event ({"Records": [...]}) so that the
deployed consumer's own handler (app.py's `index_market`) takes them unchanged.

DynamoDB Local serves the streams API (`dynamodbstreams`) on its own port; moto serves it
in-process. A reader remembers its place per stream: a table created again (a new moto
mock) has a new stream and is read from its start.
"""
import threading
import time

import boto3
from botocore.exceptions import ClientError

from chalicelib import settings as settings_module

BATCH_SIZE = 100  # app.py's on_dynamodb_record batch_size
_RESTART = {"ExpiredIteratorException", "TrimmedDataAccessException"}


class StreamReader:
    """The records of one table's stream not yet read, as Lambda events."""

    def __init__(self, model, batch_size: int = BATCH_SIZE, describe_every: float = 0.0):
        """`describe_every`: seconds the stream's ARN and shards are trusted between
        reads (0: described on every read, as the tests need, whose tables come and go;
        the dev server's poller reads only the open shards in between)."""
        self._model = model
        self._batch_size = batch_size
        self._describe_every = describe_every
        self._described_at = float("-inf")
        self._shards: list[dict] = []
        self._lock = threading.Lock()
        self._stream_arn: str | None = None
        self._last_sequence: dict[str, str] = {}  # shard -> last record read
        self._iterators: dict[str, str] = {}
        self._finished: set[str] = set()  # closed shards read to their end
        self._pending: list[dict] = []  # events handed back unapplied (rewind)

    def _clients(self):
        cfg = settings_module.get()
        key = (cfg.region, cfg.dynamodb_endpoint)
        if getattr(self, "_client_key", None) == key:
            return self._cached_clients
        kwargs = {"region_name": cfg.region, "endpoint_url": cfg.dynamodb_endpoint}
        clients = boto3.client("dynamodb", **kwargs), boto3.client("dynamodbstreams", **kwargs)
        self._client_key, self._cached_clients = key, clients
        return clients

    def read(self) -> list[dict]:
        """Every record written since the last read, in Lambda events of up to
        `batch_size` records each, in stream order per shard."""
        with self._lock:
            streams = self._describe()
            if self._stream_arn is None:
                return []
            arn = self._stream_arn
            events, self._pending = self._pending, []
            for shard in _parents_first(self._shards):
                if shard["ShardId"] in self._finished:
                    continue
                records = self._read_shard(streams, arn, shard)
                for start in range(0, len(records), self._batch_size):
                    events.append(lambda_event(records[start:start + self._batch_size], arn,
                                               streams.meta.region_name))
            return events

    def _describe(self):
        """The streams client; the stream's ARN and shards, described again when they are
        older than `describe_every` (a new stream starts over)."""
        tables, streams = self._clients()
        if time.monotonic() - self._described_at < self._describe_every:
            return streams
        described = tables.describe_table(TableName=self._model.Meta.table_name)["Table"]
        arn = described.get("LatestStreamArn")
        if arn != self._stream_arn:
            self._stream_arn, self._iterators, self._finished = arn, {}, set()
            self._last_sequence, self._pending = {}, []
        self._shards = _shards(streams, arn) if arn else []
        self._described_at = time.monotonic()
        return streams

    def rewind(self, events: list[dict]) -> None:
        """Hand back events read but not applied (their consumer failed): the next read
        returns them first, as Lambda retries a failed batch before going on."""
        with self._lock:
            self._pending = list(events) + self._pending

    def _read_shard(self, streams, arn: str, shard: dict) -> list[dict]:
        shard_id, records, restarted = shard["ShardId"], [], False
        iterator = self._iterators.get(shard_id) or self._iterator(streams, arn, shard_id)
        while iterator:
            try:
                page = streams.get_records(ShardIterator=iterator, Limit=1000)
            except ClientError as error:
                code = error.response.get("Error", {}).get("Code")
                if code == "ResourceNotFoundException" and not restarted:
                    # A table made again within the same microsecond has the old ARN but
                    # a new stream (moto): read the new one from its start.
                    self._last_sequence.pop(shard_id, None)
                    restarted = True
                elif code not in _RESTART:
                    raise
                iterator = self._iterator(streams, arn, shard_id)
                continue
            found = page.get("Records") or []
            records += found
            if found:
                self._last_sequence[shard_id] = found[-1]["dynamodb"]["SequenceNumber"]
            iterator = page.get("NextShardIterator")
            if not found:
                break
        if iterator:
            self._iterators[shard_id] = iterator
        else:  # a closed shard read to its end: its children carry on
            self._iterators.pop(shard_id, None)
            self._finished.add(shard_id)
            self._described_at = float("-inf")  # find the children on the next read
        return records

    def _iterator(self, streams, arn: str, shard_id: str) -> str | None:
        after = self._last_sequence.get(shard_id)
        where = ({"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": after}
                 if after else {"ShardIteratorType": "TRIM_HORIZON"})
        return streams.get_shard_iterator(StreamArn=arn, ShardId=shard_id,
                                          **where).get("ShardIterator")


def _shards(streams, arn: str) -> list[dict]:
    shards, start = [], None
    while True:
        kwargs = {"StreamArn": arn, **({"ExclusiveStartShardId": start} if start else {})}
        description = streams.describe_stream(**kwargs)["StreamDescription"]
        shards += description.get("Shards") or []
        start = description.get("LastEvaluatedShardId")
        if not start:
            return shards


def _parents_first(shards: list[dict]) -> list[dict]:
    """Shards ordered so that a parent comes before its children (an item's older records
    are in the parent)."""
    by_id = {s["ShardId"]: s for s in shards}
    ordered, seen = [], set()

    def visit(shard):
        if shard["ShardId"] in seen:
            return
        seen.add(shard["ShardId"])
        parent = by_id.get(shard.get("ParentShardId"))
        if parent is not None:
            visit(parent)
        ordered.append(shard)

    for shard in shards:
        visit(shard)
    return ordered


def lambda_event(records: list[dict], stream_arn: str, region: str) -> dict:
    """Stream records (as `get_records` answers them) in the event Lambda gives a
    DynamoDB stream consumer."""
    out = []
    for record in records:
        dynamodb = dict(record["dynamodb"])
        created = dynamodb.get("ApproximateCreationDateTime")
        dynamodb["ApproximateCreationDateTime"] = (
            created.timestamp() if hasattr(created, "timestamp") else created or time.time())
        dynamodb.setdefault("SizeBytes", 0)
        dynamodb.setdefault("StreamViewType", "NEW_AND_OLD_IMAGES")
        out.append({"eventID": record.get("eventID", ""), "eventName": record["eventName"],
                    "eventVersion": record.get("eventVersion", "1.1"),
                    "eventSource": "aws:dynamodb", "awsRegion": record.get("awsRegion", region),
                    "dynamodb": dynamodb, "eventSourceARN": stream_arn})
    return {"Records": out}


_READERS: dict[tuple, StreamReader] = {}


def services_reader() -> StreamReader:
    """The one reader of the services table's stream for this endpoint and table (the
    market index's source), kept across calls so that each read starts where the last
    stopped."""
    from chalicelib.storage.catalog import ServiceModel

    key = (settings_module.get().dynamodb_endpoint, ServiceModel.Meta.table_name)
    if key not in _READERS:
        _READERS[key] = StreamReader(ServiceModel)
    return _READERS[key]


def forget_readers() -> None:
    """Drop every reader's position: the tables behind them were made again (a test's
    fresh moto world, whose copied tables keep their stream ARNs but not their records)."""
    _READERS.clear()
