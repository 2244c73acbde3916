"""Proposals (协商) on an order, and which one is open.

Access patterns (see README):
- an order's proposals, oldest first ................ proposals: order_id, id (time-ordered)
- a proposal ........................................ proposals: order_id, id
- the order's open proposal ......................... orders: id → open_proposal

The order item holds the open proposal's id: creating one is conditional on there being
none (so two at once cannot both open), and every write that ends it — an answer, or a
transition that changes the order's state — removes it in the same transaction.
"""
from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib.storage.base import table


@table("proposals", money=True)
class ProposalModel(Model):
    """One proposal. `status` is stored as `open` until it is answered or lapses; the
    terms never change after it is made."""

    class Meta:
        table_name = "proposals"

    order_id = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)  # prop_<ms><random>: sorts by creation
    kind = UnicodeAttribute()  # extension | cancel | partial_refund
    by = UnicodeAttribute()  # the author's user id
    by_role = UnicodeAttribute()  # buyer | provider
    status = UnicodeAttribute()  # open | accepted | declined | withdrawn | lapsed | expired
    due_at = UnicodeAttribute(null=True)  # extension: the new due date (clock.to_key)
    refund = NumberAttribute(null=True)  # cancel: to the buyer, fen
    release = NumberAttribute(null=True)  # cancel: to the provider, fen (held - refund)
    note = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)  # partial_refund: why the buyer asks
    # When the sweep ends it if unanswered (grants a refund request, lapses the rest);
    # proposals made before after-sale carry none.
    expires_at = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    decided_at = UnicodeAttribute(null=True)
    decided_by = UnicodeAttribute(null=True)  # a user id, or "system" (lapsed, expired, granted)
