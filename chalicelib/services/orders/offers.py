"""Custom offers (定制报价): the provider answers an inquiry with an order for its buyer,
at an amount both have agreed in the conversation, awaiting the buyer's payment."""
from datetime import datetime

from chalicelib.domain.actors import Caller
from chalicelib.services import inquiries
from chalicelib.services.orders.placing import Offer, place_order


def make_offer(caller: Caller, inquiry_id: str, *, amount: int, requirement: str,
               due_at: datetime, milestones: list[dict] | None, now: datetime,
               request_key: str | None = None) -> dict:
    """The inquiry's provider places an agreed-price order for the inquiry's buyer; the
    inquiry remembers it in the same write (what conversion statistics count)."""
    inquiry = inquiries.load_for_offer(caller, inquiry_id)
    offer = Offer(buyer_id=inquiry.buyer_id, inquiry_id=inquiry.id, amount=amount,
                  writes=lambda tx, order_id: inquiries.offer_writes(tx, inquiry, order_id, now))
    return place_order(caller, service_id=inquiry.service_id, requirement=requirement,
                       due_at=due_at, price=None, milestones=milestones, now=now,
                       request_key=request_key, offer=offer)
