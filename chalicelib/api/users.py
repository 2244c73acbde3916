"""Public user profiles: a buyer's credit as providers rated them."""
from chalice import Blueprint

from chalicelib import lazy
from chalicelib.api import answers
from chalicelib.api.routing import PUBLIC, route

reviews = lazy.module("chalicelib.services.reviews")

bp = Blueprint(__name__)


@route(bp, "/users/{user_id}", "GET", response=answers.USER, auth=PUBLIC, tag="users")
def user_profile(req):
    """A user's public credit and rating counts (zeros if never reviewed)."""
    return reviews.user_profile(req.params["user_id"])
