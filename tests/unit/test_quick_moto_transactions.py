"""The suite's quicker moto transactions (tests/support.quick_moto_transactions) roll back
as moto's own do: a refused transaction leaves every item it named, and the stream of
each table it wrote to, as they were; a committed one writes every action."""
import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from tests.support import quick_moto_transactions


@pytest.fixture
def dynamodb():
    quick_moto_transactions()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        for name, keys in (("one", ["pk"]), ("two", ["pk", "sk"])):
            client.create_table(
                TableName=name, BillingMode="PAY_PER_REQUEST",
                KeySchema=[{"AttributeName": k, "KeyType": t}
                           for k, t in zip(keys, ["HASH", "RANGE"])],
                AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k in keys],
                StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
        client.put_item(TableName="one", Item={"pk": {"S": "a"}, "n": {"N": "1"}})
        client.put_item(TableName="two", Item={"pk": {"S": "b"}, "sk": {"S": "1"}, "n": {"N": "1"}})
        yield client


def _stream_records(name: str) -> int:
    from moto.dynamodb.models import dynamodb_backends

    return len(dynamodb_backends["123456789012"]["us-east-1"].tables[name].stream_shard.items)


def _everything(client) -> dict:
    return {name: sorted(str(i) for i in client.scan(TableName=name)["Items"])
            for name in ("one", "two")}


def _actions(last_condition: str) -> list:
    return [
        {"Update": {"TableName": "one", "Key": {"pk": {"S": "a"}},
                    "UpdateExpression": "SET n = :two", "ExpressionAttributeValues": {":two": {"N": "2"}}}},
        {"Put": {"TableName": "one", "Item": {"pk": {"S": "new"}, "n": {"N": "9"}}}},
        {"Delete": {"TableName": "two", "Key": {"pk": {"S": "b"}, "sk": {"S": "1"}}}},
        {"Put": {"TableName": "two", "Item": {"pk": {"S": "b"}, "sk": {"S": "2"}}}},
        {"ConditionCheck": {"TableName": "one", "Key": {"pk": {"S": "x"}},
                            "ConditionExpression": last_condition}},
    ]


def test_a_refused_transaction_leaves_the_items_and_their_streams_as_they_were(dynamodb):
    before, streams = _everything(dynamodb), (_stream_records("one"), _stream_records("two"))
    with pytest.raises(ClientError) as refused:
        dynamodb.transact_write_items(TransactItems=_actions("attribute_exists(pk)"))
    reasons = [r["Code"] for r in refused.value.response["CancellationReasons"]]
    assert reasons == ["None", "None", "None", "None", "ConditionalCheckFailed"]
    assert _everything(dynamodb) == before
    assert (_stream_records("one"), _stream_records("two")) == streams


def test_a_committed_transaction_writes_every_action(dynamodb):
    streams = (_stream_records("one"), _stream_records("two"))
    dynamodb.transact_write_items(TransactItems=_actions("attribute_not_exists(pk)"))
    one = {i["pk"]["S"]: i["n"]["N"] for i in dynamodb.scan(TableName="one")["Items"]}
    two = {(i["pk"]["S"], i["sk"]["S"]) for i in dynamodb.scan(TableName="two")["Items"]}
    assert (one, two) == ({"a": "2", "new": "9"}, {("b", "2")})
    assert (_stream_records("one"), _stream_records("two")) == (streams[0] + 2, streams[1] + 2)
