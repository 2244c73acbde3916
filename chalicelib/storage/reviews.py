"""Reviews: one item per (order, author side), so "once per side" is a key, not a check.

Access patterns (see README):
- both reviews of an order ............ reviews: order_id (range author_role buyer|provider)
"""
from pynamodb.attributes import UnicodeAttribute
from pynamodb.models import Model

from chalicelib.storage.base import table


@table("reviews")
class ReviewModel(Model):
    class Meta:
        table_name = "reviews"

    order_id = UnicodeAttribute(hash_key=True)
    author_role = UnicodeAttribute(range_key=True)  # buyer | provider
    author_id = UnicodeAttribute()
    subject_id = UnicodeAttribute()  # the reviewed party's user id
    service_id = UnicodeAttribute()
    rating = UnicodeAttribute()  # good | neutral | bad
    comment = UnicodeAttribute(default="")
    created_at = UnicodeAttribute()  # clock.to_key
