"""Shared steps for the catalog tests: approved providers, services drafted and listed
through the API, and real logo images made with Pillow."""
import io

from PIL import Image, ImageDraw

from tests.support import BUYER, OPERATOR, PROVIDER, PROVIDER_2  # noqa: F401 - tests import them from here

APPLICATION = {"display_name": "杭州小美设计工作室", "company_name": "杭州小美设计有限公司",
               "contact": "0571-88886666", "intro": "十年电商设计经验，专注中小卖家。"}


def image_bytes(fmt="PNG", size=(80, 80), color=(220, 60, 60)) -> bytes:
    image = Image.new("RGB", size, color)
    ImageDraw.Draw(image).ellipse((10, 10, size[0] - 10, size[1] - 10), fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


def approved_provider(api, user=PROVIDER, **changes):
    reply = api.post("/providers/me/application", {**APPLICATION, **changes}, user=user)
    assert reply.status == 201, reply
    reply = api.post(f"/admin/providers/{user}/approve", user=OPERATOR, operator=True)
    assert reply.status == 200, reply
    return reply.json


def service_body(n: int = 0, **changes) -> dict:
    subjects = ["旗舰店铺装修", "原创LOGO设计", "7x24小时客服外包", "详情页设计", "店铺代运营",
                "主图摄影修图", "双十一活动页", "品牌VI手册", "短视频脚本", "直播间布景", "包装设计",
                "海报设计"]
    subject = subjects[n % len(subjects)] + ("" if n < len(subjects) else f"{n}号")
    return {"title": subject, "category": "shop-decoration",
            "summary": f"{subject}：资深设计师一对一服务，三天出稿，不满意包修改",
            "content": f"## {subject}\n\n服务编号{n}。" + "详细流程说明。" * (n % 3 + 1)
                       + f"\n\n案例{n * 7919 % 1000}：" + "".join(chr(0x4e00 + (n * 37 + i * 11) % 5000) for i in range(40)),
            "pricing": "fixed", "price": 88000, "tags": ["fast-delivery", "invoice"], **changes}


def draft(api, user=PROVIDER, n=0, **changes) -> dict:
    reply = api.post("/services", service_body(n, **changes), user=user)
    assert reply.status == 201, reply
    return reply.json


def with_logo(api, service_id, user=PROVIDER):
    reply = api.put(f"/services/{service_id}/logo", user=user, raw=image_bytes(),
                    content_type="image/png")
    assert reply.status == 200, reply
    return reply.json


def listed(api, user=PROVIDER, n=0, list_body=None, **changes) -> dict:
    service = draft(api, user, n, **changes)
    with_logo(api, service["id"], user)
    reply = api.post(f"/services/{service['id']}/list", list_body or {}, user=user)
    assert reply.status == 200, reply
    return reply.json
