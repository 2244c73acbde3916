"""The caller's own notifications inbox: listing, unread count, marking read."""
from chalice import Blueprint

from chalicelib.api import answers
from chalicelib.api.pagination import encode_cursor, page
from chalicelib.api.routing import PAGING, USER, route
from chalicelib.api.schema import Bool, DateTime, Enum, Int, ListOf, Obj, Str
from chalicelib.domain.errors import ValidationFailed
from chalicelib.services import notifications  # its limits shape the schemas below

bp = Blueprint(__name__)

NOTIFICATION = Obj({
    "id": Str(1, 128), "kind": Str(1, 64), "text": Str(0, notifications.TEXT_MAX, multiline=True),
    "order_id": Str(1, 128, nullable=True), "service_id": Str(1, 128, nullable=True),
    "read": Bool(), "created_at": DateTime(example="2026-11-22T08:00:00+00:00"),
}, name="Notification")
MARK_READ = Obj({
    "ids": ListOf(Str(1, 128), 1, notifications.MARK_IDS_MAX, required=False,
                  description="notification ids to mark read"),
    "all": Bool(required=False, description="true: mark every unread notification read"),
}, name="MarkReadRequest")
MARKED = Obj({
    "marked": Int(description="notifications this request turned from unread to read"),
    "unread": Int(description="the caller's unread count afterwards"),
    "more": Bool(description="all=true stopped at its page budget: call again for the rest"),
}, name="MarkReadResult")
UNREAD_COUNT = Obj({"count": Int()}, name="UnreadCount")


@route(bp, "/me/notifications", "GET", auth=USER, tag="notifications",
       query={**PAGING, "unread": Enum(["true", "false"], required=False,
                                       description="true: only unread notifications")},
       response=answers.page_of(answers.NOTIFICATION))
def my_notifications(req):
    """The caller's notifications (or only the unread ones), newest first."""
    unread = req.query.get("unread") == "true"
    # The cursor is bound to the caller and the list: another's cursor is refused.
    scope = f"notifications:{req.caller.user_id}:{'unread' if unread else 'all'}"
    limit, start_key = req.paging(scope)
    items, last_key = notifications.list_notifications(req.caller, limit=limit,
                                                       start_key=start_key, unread_only=unread)
    return page(items, encode_cursor(last_key, scope))


@route(bp, "/me/notifications/unread-count", "GET", auth=USER, tag="notifications",
       response=UNREAD_COUNT)
def my_unread_count(req):
    """How many of the caller's notifications are unread (a counter, not a count)."""
    return {"count": notifications.unread_count(req.caller.user_id)}


@route(bp, "/me/notifications/read", "POST", auth=USER, body=MARK_READ, tag="notifications",
       response=MARKED)
def mark_read(req):
    """Mark notifications read: {"ids": [...]} (1-100) or {"all": true}."""
    ids, everything = req.body.get("ids"), req.body.get("all")
    if (ids is None) == (everything is not True):
        raise ValidationFailed("give either ids or all: true", errors=[
            {"field": "(body)", "problem": "exactly one of ids and all (true) is required"}])
    if everything:
        return notifications.mark_all_read(req.caller)
    return notifications.mark_read(req.caller, ids)
