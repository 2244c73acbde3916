"""The caller's own notifications inbox."""
from chalice import Blueprint

from chalicelib.api import answers
from chalicelib.api.pagination import encode_cursor, page
from chalicelib.api.routing import PAGING, USER, route
from chalicelib.services import notifications

bp = Blueprint(__name__)


@route(bp, "/me/notifications", "GET",
       response=answers.page_of(answers.NOTIFICATION), auth=USER, query=PAGING, tag="notifications")
def my_notifications(req):
    """The caller's notifications, newest first."""
    # The cursor is bound to the caller: another user's cursor is refused, not replayed.
    scope = f"notifications:{req.caller.user_id}"
    limit, start_key = req.paging(scope)
    items, last_key = notifications.list_notifications(req.caller, limit=limit,
                                                       start_key=start_key)
    return page(items, encode_cursor(last_key, scope))
