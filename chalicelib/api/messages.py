"""Message routes (留言): the conversation on an order and the files sent in it."""
from chalice import Blueprint

from chalicelib import lazy
from chalicelib.api import answers
from chalicelib.api.orders import UPLOAD
from chalicelib.api.pagination import encode_cursor, page
from chalicelib.api.routing import PAGING, USER, route
from chalicelib.api.schema import DateTime, Enum, Int, ListOf, Obj, Str
from chalicelib.domain import messages as message_rules
from chalicelib.domain import orders as life

attachments = lazy.module("chalicelib.services.attachments")
messages = lazy.module("chalicelib.services.messages")
threads = lazy.module("chalicelib.services.threads")

bp = Blueprint(__name__)

POST_MESSAGE = Obj({
    "body": Str(1, message_rules.BODY_MAX, multiline=True, example="logo请参考附件里的两张示例，主色用品牌红"),
    "file_ids": ListOf(Str(1, 128), 0, message_rules.FILES_MAX, unique=True, required=False,
                       description="files from POST /orders/{order_id}/attachments, "
                                   "uploaded by the author and not sent before"),
}, name="MessageRequest")
MESSAGE_FILE = Obj({
    "file_id": Str(1, 128), "filename": Str(1, 200), "content_type": Str(3, 100),
    "size": Int(minimum=1, description="bytes"),
}, name="MessageFile")
MESSAGE = Obj({
    "id": Str(1, 128), "order_id": Str(1, 128),
    "author": Str(1, 128, description="the author's user id"),
    "role": Enum([life.BUYER, life.PROVIDER, life.OPERATOR]),
    "body": Str(1, message_rules.BODY_MAX, multiline=True),
    "files": ListOf(MESSAGE_FILE, 0, message_rules.FILES_MAX),
    "at": DateTime(example="2026-11-22T08:00:00+00:00"),
}, name="Message")


@route(bp, "/orders/{order_id}/messages", "POST", auth=USER, body=POST_MESSAGE, status=201,
       response=MESSAGE, tag="messages")
def post_message(req):
    """留言: the buyer or provider (an operator once disputed or resolved) writes."""
    return messages.post_message(req.caller, req.params["order_id"], body=req.body["body"],
                                 file_ids=req.body.get("file_ids") or [], now=req.now,
                                 request_key=req.request_key)


@route(bp, "/orders/{order_id}/messages", "GET", auth=USER, query=PAGING,
       response=answers.page_of(MESSAGE), tag="messages")
def list_messages(req):
    """The order's conversation, oldest first (its parties and operators)."""
    scope = f"messages:{req.params['order_id']}"
    limit, start_key = req.paging(scope)
    items, last_key = messages.list_messages(req.caller, req.params["order_id"], limit=limit,
                                             start_key=start_key)
    return page(items, encode_cursor(last_key, scope))


@route(bp, "/orders/{order_id}/attachments", "POST", auth=USER, body=UPLOAD,
       response=answers.UPLOAD, tag="messages",
       errors_=["NOT_FOUND", "FORBIDDEN", "VALIDATION_FAILED", "ORDER_CLOSED",
                "ATTACHMENT_LIMIT_REACHED"])
def request_attachment(req):
    """A presigned S3 POST for one file to send in a message (exact type and size, tagged
    upload=pending until sent); at most MAX_ATTACHMENTS per order, only while it is open."""
    b = req.body
    return attachments.request_upload(req.caller, req.params["order_id"],
                                      filename=b["filename"], content_type=b["content_type"],
                                      size=b["size"], now=req.now)


@route(bp, "/orders/{order_id}/attachments/{file_id}", "GET", auth=USER, response=answers.DOWNLOAD,
       tag="messages")
def download_attachment(req):
    """A presigned download of a sent file (or of the caller's own unsent upload)."""
    return attachments.download_url(req.caller, req.params["order_id"], req.params["file_id"])


# --- the same conversation and files on a contract (包月合同) -------------------------
# A message's `order_id` is then the contract's id: the conversation it belongs to.
@route(bp, "/contracts/{contract_id}/messages", "POST", auth=USER, body=POST_MESSAGE,
       status=201, response=MESSAGE, tag="contracts")
def post_contract_message(req):
    """留言 on a contract: its parties (an operator while a statement is disputed)."""
    return messages.post_message(req.caller, req.params["contract_id"], body=req.body["body"],
                                 file_ids=req.body.get("file_ids") or [], now=req.now,
                                 request_key=req.request_key, thread=threads.CONTRACT)


@route(bp, "/contracts/{contract_id}/messages", "GET", auth=USER, query=PAGING,
       response=answers.page_of(MESSAGE), tag="contracts")
def list_contract_messages(req):
    """The contract's conversation, oldest first (its parties and operators)."""
    scope = f"messages:{req.params['contract_id']}"
    limit, start_key = req.paging(scope)
    items, last_key = messages.list_messages(req.caller, req.params["contract_id"],
                                             limit=limit, start_key=start_key,
                                             thread=threads.CONTRACT)
    return page(items, encode_cursor(last_key, scope))


@route(bp, "/contracts/{contract_id}/attachments", "POST", auth=USER, body=UPLOAD,
       response=answers.UPLOAD, tag="contracts")
def request_contract_attachment(req):
    """A presigned S3 POST for one file on a contract (a message's, or a statement's
    质检报告)."""
    b = req.body
    return attachments.request_upload(req.caller, req.params["contract_id"],
                                      filename=b["filename"], content_type=b["content_type"],
                                      size=b["size"], now=req.now, thread=threads.CONTRACT)


@route(bp, "/contracts/{contract_id}/attachments/{file_id}", "GET", auth=USER,
       response=answers.DOWNLOAD, tag="contracts")
def download_contract_attachment(req):
    """A presigned download of a sent file (or of the caller's own unsent upload)."""
    return attachments.download_url(req.caller, req.params["contract_id"],
                                    req.params["file_id"], thread=threads.CONTRACT)
