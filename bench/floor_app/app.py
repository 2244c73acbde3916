"""The floor: the least a Chalice + PynamoDB Lambda can be. One route, one GetItem
per requested call, no auth, no validation, no middleware. The app is measured
against this (cold start, latency under load, package size)."""
import os

from chalice import Chalice
from pynamodb.attributes import UnicodeAttribute
from pynamodb.models import Model


class FloorItem(Model):
    class Meta:
        table_name = os.environ.get("FLOOR_TABLE", "bench-floor")
        host = os.environ.get("DYNAMODB_ENDPOINT") or None
        region = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")

    id = UnicodeAttribute(hash_key=True)
    title = UnicodeAttribute()


app = Chalice(app_name="bench-floor")


@app.route("/item/{item_id}")
def get_item(item_id):
    # ?calls=n repeats the read, so the floor can do as many calls as the route it stands for.
    calls = int((app.current_request.query_params or {}).get("calls", 1))
    item = None
    for _ in range(max(1, min(calls, 20))):
        item = FloorItem.get(item_id)
    return {"id": item.id, "title": item.title}
