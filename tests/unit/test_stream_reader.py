"""The local stand-in for Lambda's DynamoDB event source: shard order and the event
shape the deployed consumer is called with (the reading itself runs against moto and
DynamoDB Local in tests/api/test_market_stream.py)."""
from datetime import datetime, timezone

from chalice.app import DynamoDBEvent

from chalicelib.local.stream_reader import _parents_first, lambda_event


def test_a_parent_shard_is_read_before_its_children_whatever_the_listing_order():
    shards = [{"ShardId": "c2", "ParentShardId": "b"}, {"ShardId": "a"},
              {"ShardId": "b", "ParentShardId": "a"}, {"ShardId": "c1", "ParentShardId": "b"}]
    assert [s["ShardId"] for s in _parents_first(shards)] == ["a", "b", "c2", "c1"]


def test_records_become_the_event_chalice_gives_an_on_dynamodb_record_handler():
    image = {"id": {"S": "svc_1"}, "version": {"N": "3"}}
    record = {"eventID": "e1", "eventName": "MODIFY", "eventVersion": "1.1",
              "eventSource": "aws:dynamodb", "awsRegion": "us-east-1",
              "dynamodb": {"ApproximateCreationDateTime": datetime(2026, 12, 7, tzinfo=timezone.utc),
                           "Keys": {"id": {"S": "svc_1"}}, "NewImage": image,
                           "OldImage": image, "SequenceNumber": "100", "SizeBytes": 42,
                           "StreamViewType": "NEW_AND_OLD_IMAGES"}}
    arn = "arn:aws:dynamodb:us-east-1:000000000000:table/t-services/stream/2026"
    event = lambda_event([record], arn, "us-east-1")
    [parsed] = list(DynamoDBEvent(event, None))
    assert parsed.event_name == "MODIFY" and parsed.new_image == image
    assert parsed.sequence_number == "100" and parsed.table_name == "t-services"
    assert parsed.timestamp == datetime(2026, 12, 7)
