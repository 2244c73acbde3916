"""Shared steps for the race tests (real threads on DynamoDB Local): the parties as
service-layer callers, an order placed and walked to review through the services."""
from datetime import timedelta

from chalicelib import clock
from chalicelib.domain.actors import Caller
from chalicelib.services import deliverables, ledger_check, orders
from tests.api.orders_support import listed_service
from tests.support import BUYER, PROVIDER

AS_BUYER, AS_PROVIDER = Caller(BUYER), Caller(PROVIDER)
# What the tests read orders as: an operator sees every order.
AS_OPERATOR = Caller("op-1", roles=frozenset({"operator"}))


def new_order(milestones=None, price=90000):
    service_id = listed_service(price=price)
    return orders.place_order(
        AS_BUYER, service_id=service_id, requirement="双十一首页装修", price=None,
        due_at=clock.now() + timedelta(days=10), milestones=milestones, now=clock.now())["id"]


def in_review(oid):
    orders.pay_order(AS_BUYER, oid, clock.now())
    orders.accept_order(AS_PROVIDER, oid, clock.now())
    put_delivery(oid)


def put_delivery(oid):
    from chalicelib import settings
    from chalicelib.storage.files import s3_client

    asked = deliverables.request_upload(AS_PROVIDER, oid, filename="终稿.png",
                                        content_type="image/png", size=4, now=clock.now())
    s3_client().put_object(Bucket=settings.get().bucket, Key=asked["upload"]["fields"]["key"],
                           Body=b"data")
    deliverables.deliver_order(AS_PROVIDER, oid, file_ids=[asked["file_id"]], note="",
                               now=clock.now())


def winners_and_losers(results):
    wins = [r for r in results if not isinstance(r, Exception)]
    losses = [r for r in results if isinstance(r, Exception)]
    return wins, losses


def assert_ledger_clean():
    report = ledger_check.check_ledger()
    assert report["violations"] == [] and report["sum"] == 0
