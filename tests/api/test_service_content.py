"""Service content with pictures (图文并茂): a picture is uploaded with a ticket, decoded
before it may show, and kept at a stable URL; content_html is the Markdown rendered and
sanitized, showing only the service's own pictures and http(s) links."""
import io

from PIL import Image

from chalicelib import settings
from chalicelib.storage.files import s3_client
from tests.api.catalog_support import PROVIDER, PROVIDER_2, approved_provider, draft


def picture(fmt="PNG", size=(640, 480)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(out, format=fmt)
    return out.getvalue()


def uploaded(api, sid, data, content_type="image/png", user=PROVIDER):
    ticket = api.post(f"/services/{sid}/images", {"content_type": content_type,
                                                 "size": len(data)}, user=user)
    assert ticket.status == 201, ticket
    fields = ticket.json["upload"]["fields"]
    s3_client().put_object(Bucket=settings.get().bucket, Key=fields["key"], Body=data,
                           ContentType=content_type)
    return ticket.json["image_id"]


def check(api, sid, image_id, user=PROVIDER):
    return api.post(f"/services/{sid}/images/{image_id}/check", {}, user=user)


def test_a_checked_picture_shows_in_the_content_at_a_stable_url(api):
    approved_provider(api)
    sid = draft(api)["id"]
    image_id = uploaded(api, sid, picture("WEBP"), "image/webp")
    checked = check(api, sid, image_id)
    assert checked.status == 200, checked
    url = checked.json["url"]
    assert url.endswith(".webp") and check(api, sid, image_id).json["url"] == url
    unchecked = uploaded(api, sid, picture())
    content = f"## 案例\n\n![首页案例](image:{image_id})\n\n![未检查](image:{unchecked})"
    service = api.patch(f"/services/{sid}", {"content": content}, user=PROVIDER).json
    assert f'<img src="{url}" alt="首页案例">' in service["content_html"]
    assert service["images"] == [{"image_id": image_id, "url": url}]  # what clients resolve
    assert service["content_html"].count("<img") == 2
    assert "image:" not in service["content_html"]  # the unchecked one shows no source
    assert service["content_html"].count("src=") == 1


def test_only_real_pictures_of_ones_own_service_are_kept(api):
    approved_provider(api)
    approved_provider(api, user=PROVIDER_2)
    sid = draft(api)["id"]
    other = draft(api, user=PROVIDER_2)["id"]
    fake = uploaded(api, sid, b"GIF89a not a png at all", "image/png")
    assert check(api, sid, fake).error_code == "INVALID_IMAGE"
    lying = uploaded(api, sid, picture("JPEG"), "image/png")
    assert check(api, sid, lying).error_code == "INVALID_IMAGE"
    assert check(api, sid, "img_never_uploaded").error_code == "NOT_FOUND"
    assert api.post(f"/services/{sid}/images", {"content_type": "image/gif", "size": 10},
                    user=PROVIDER).error_code == "VALIDATION_FAILED"
    assert api.post(f"/services/{sid}/images", {"content_type": "image/png",
                                               "size": 2 * 1024 * 1024 + 1},
                    user=PROVIDER).error_code == "VALIDATION_FAILED"
    assert api.post(f"/services/{sid}/images", {"content_type": "image/png", "size": 10},
                    user=PROVIDER_2).error_code in ("FORBIDDEN", "NOT_FOUND")
    # Another service's picture id does not show in this one.
    theirs = uploaded(api, other, picture(), user=PROVIDER_2)
    assert check(api, other, theirs, user=PROVIDER_2).status == 200
    service = api.patch(f"/services/{sid}", {"content": f"![借用](image:{theirs})"},
                        user=PROVIDER).json
    assert "src=" not in service["content_html"]


def test_script_in_content_never_reaches_the_html(api):
    approved_provider(api)
    sid = draft(api)["id"]
    service = api.patch(f"/services/{sid}", {
        "content": "正文<script>alert(1)</script>\n\n[点我](javascript:alert(1))\n\n"
                   "<img src=x onerror=alert(1)>"}, user=PROVIDER).json
    html = service["content_html"]
    assert "<script" not in html and "<img" not in html  # raw HTML shows as text
    assert 'href="javascript' not in html and "&lt;script&gt;" in html
