"""The pieces the bench's scenario steps share (bench/scenario.py and
bench/scenario_more.py): who acts, how a step fails, a logo, an order placed, a file put
straight to S3. Apart, so that the two step files need not import each other."""
import io
from datetime import timedelta

from chalicelib import clock, settings

PROVIDER, PROVIDER_2, PROVIDER_3, BUYER, BUYER_2, OPERATOR = (
    "provider-1", "provider-2", "provider-3", "buyer-1", "buyer-2", "op-1")


class StepFailed(Exception):
    pass


def logo_png(seed: int = 0) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (80, 80), (200, 40 + seed * 30 % 200, 60))
    ImageDraw.Draw(image).ellipse((10, 10, 70, 70), fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _iso(delta: timedelta) -> str:
    return clock.to_iso(clock.now() + delta)


def _place(rec, ctx, service_key, buyer=BUYER, **extra):
    body = {"service_id": ctx[service_key], "requirement": "首页风格要简约大气，主色用品牌蓝。",
            "due_at": _iso(timedelta(days=10)), **extra}
    return rec.ok("POST", "/orders", body, user=buyer)["id"]


def _put_upload(ticket: dict, data: bytes, content_type: str) -> None:
    """The file itself goes straight to S3 (a presigned POST): no DynamoDB involved."""
    from chalicelib.storage.files import s3_client

    s3_client().put_object(Bucket=settings.get().bucket, Key=ticket["upload"]["fields"]["key"],
                           Body=data, ContentType=content_type)
