"""Completed orders for review tests, written straight into storage.

Reviews only need an order in `completed`; building one through the whole order flow
(order, pay, accept, deliver, approve) is exercised once in
test_reviews.py and is too slow to repeat for every window edge.
"""
from datetime import timedelta

from chalicelib import clock, ids, settings
from chalicelib.storage.catalog import ProviderModel, ServiceModel
from chalicelib.storage.orders import OrderModel, ServiceSnapshot, timer_partition
from tests.api.orders_support import listed_service


def provider(user_id="provider-1"):
    now = clock.to_key(clock.now())
    ProviderModel(user_id, status="approved", display_name="巧手设计", company_name="巧手设计工作室",
                  contact="138-0000-0000", intro="专注店铺装修与logo设计", applied_at=now,
                  decided_at=now).save()


def completed_order(buyer="buyer-1", provider_id="provider-1", service_id=None,
                    completed_at=None, status="completed"):
    """An order in `status` (completed by default, just now) between buyer and provider."""
    if service_id is None:
        provider(provider_id)
        service_id = listed_service(provider=provider_id)
    now = clock.now()
    done = completed_at or now
    key = clock.to_key(now)
    order_id = ids.new_id("ord")
    review_until = done + timedelta(seconds=settings.get().review_window_seconds)
    completed = status == "completed"
    order = OrderModel(
        order_id, buyer_id=buyer, provider_id=provider_id, service_id=service_id,
        service=ServiceSnapshot(title="店铺装修", pricing="fixed", price=50000),
        requirement="首页换成冬季主题", due_at=clock.to_key(now + timedelta(days=7)),
        amount=50000, status=status, escrow_funded=50000, escrow_released=50000,
        created_key=f"{key}#x", created_at=key, updated_at=key,
        completed_at=clock.to_key(done) if completed else None,
        timer_pk=timer_partition(order_id) if completed else None,
        timer_due=f"{clock.to_key(review_until)}#{order_id}" if completed else None,
        buyer_status=f"{buyer}#{status}", provider_status=f"{provider_id}#{status}")
    order.save()
    return order.id


def provider_standing(provider_id="provider-1"):
    item = ProviderModel.get(provider_id, consistent_read=True)
    return item.credit, (item.ratings_good, item.ratings_neutral, item.ratings_bad)


def service_rating(service_id):
    item = ServiceModel.get(service_id, consistent_read=True)
    return item.rating_sum, item.rating_count, (item.ratings_good, item.ratings_neutral,
                                                item.ratings_bad)


def order_service_id(order_id):
    return OrderModel.get(order_id, consistent_read=True).service_id
