"""The floor: the least a Chalice + PynamoDB Lambda can be. A read: one GetItem per
requested call; a state change: one GetItem and one conditional transaction (what
bench/calls.py counts as a state change's floor, 1 read + 1 transaction). No auth, no
validation, no middleware. The app is measured against this (cold start, latency under
load, package size)."""
import os

from chalice import Chalice
from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.connection import Connection
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite


class FloorItem(Model):
    class Meta:
        table_name = os.environ.get("FLOOR_TABLE", "bench-floor")
        host = os.environ.get("DYNAMODB_ENDPOINT") or None
        region = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")

    id = UnicodeAttribute(hash_key=True)
    title = UnicodeAttribute()
    version = NumberAttribute(null=True)


app = Chalice(app_name="bench-floor")
_connections: list[Connection] = []


def _connection() -> Connection:
    """One connection (one botocore client) for the process, as the model keeps its own."""
    if not _connections:
        _connections.append(Connection(region=FloorItem.Meta.region, host=FloorItem.Meta.host))
    return _connections[0]


@app.route("/item/{item_id}")
def get_item(item_id):
    # ?calls=n repeats the read, so the floor can do as many calls as the route it stands for.
    calls = int((app.current_request.query_params or {}).get("calls", 1))
    item = None
    for _ in range(max(1, min(calls, 20))):
        item = FloorItem.get(item_id)
    return {"id": item.id, "title": item.title}


@app.route("/item/{item_id}", methods=["POST"])
def change_item(item_id):
    # A state change at its floor: read the item, then commit one transaction conditional
    # on what was read (DynamoDB Local writes it to disk, as the app's changes are).
    try:
        item = FloorItem.get(item_id)
    except FloorItem.DoesNotExist:  # each client changes its own item, made on first use
        item = FloorItem(item_id, title="")
    seen = item.version
    with TransactWrite(connection=_connection()) as tx:
        tx.update(item, actions=[FloorItem.version.set((seen or 0) + 1)],
                  condition=(FloorItem.version == seen) if seen is not None
                  else FloorItem.version.does_not_exist())
    return {"id": item.id, "version": (seen or 0) + 1}
