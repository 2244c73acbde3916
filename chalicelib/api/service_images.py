"""Service picture routes (图文并茂): an upload ticket, then the check that decodes the
picture and gives it the stable URL the rendered content shows."""
from chalice import Blueprint

from chalicelib.api import answers
from chalicelib.api.routing import USER, route
from chalicelib.api.schema import Enum, Int, Obj
from chalicelib.services.catalog import images  # its formats shape the schema below

bp = Blueprint(__name__)

IMAGE_UPLOAD = Obj({
    "content_type": Enum(sorted(images.FORMATS)),
    "size": Int(minimum=1, maximum=images.MAX_BYTES, description="bytes, exactly"),
}, name="ImageUploadRequest")
EMPTY = Obj({}, name="Empty")


@route(bp, "/services/{service_id}/images", "POST", auth=USER, body=IMAGE_UPLOAD, status=201,
       response=answers.IMAGE_TICKET, tag="catalog")
def request_image_upload(req):
    """A presigned POST for one picture of the caller's service (jpg/png/webp ≤ 2 MB)."""
    return images.request_image_upload(req.caller, req.params["service_id"],
                                       content_type=req.body["content_type"],
                                       size=req.body["size"], now=req.now)


@route(bp, "/services/{service_id}/images/{image_id}/check", "POST", auth=USER, body=EMPTY,
       response=answers.IMAGE, tag="catalog")
def check_image(req):
    """Decode the uploaded picture; content may then show it as ![说明](image:<id>)."""
    return images.check_image(req.caller, req.params["service_id"], req.params["image_id"])
