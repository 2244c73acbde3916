"""Demo data for the local stack: a ¥1 trial campaign and two approved providers with
listed services, written through the same service functions as the API so that every
listing rule holds for the demo too."""
import io
from datetime import datetime, timedelta

from PIL import Image, ImageDraw
from pynamodb.exceptions import DoesNotExist

from chalicelib import clock
from chalicelib.domain.actors import OPERATOR_ROLE, Caller
from chalicelib.services import campaigns, catalog, providers
from chalicelib.services.contracts import agreeing
from chalicelib.storage.catalog import GuardModel

MARKER = "DEMO#loaded"
OPERATOR = Caller("op-demo", frozenset({OPERATOR_ROLE}))

PROVIDERS = [
    {"id": "demo-xiaomei", "display_name": "杭州小美设计工作室", "company_name": "杭州小美设计有限公司",
     "contact": "0571-88886666", "intro": "十年电商视觉设计经验，服务过三百多家天猫淘宝店铺。"},
    {"id": "demo-yunkefu", "display_name": "云客服外包中心", "company_name": "云客服（嘉兴）信息技术有限公司",
     "contact": "400-820-8820", "intro": "百人专业客服团队，7x24小时在线，支持多平台接待。"},
]

SERVICES = {
    "demo-xiaomei": [
        {"title": "旗舰店铺首页装修", "category": "shop-decoration", "pricing": "fixed", "price": 88000,
         "summary": "天猫淘宝旗舰店首页装修，三天出稿，风格随心定制，含手机端适配",
         "content": "## 服务内容\n\n- 首页整体视觉设计\n- 手机端同步适配\n- 两次免费修改\n\n## 交付\n\nPSD 源文件与切图。",
         "tags": ["fast-delivery", "mobile-first", "free-revision"], "color": (230, 80, 60)},
        {"title": "原创品牌LOGO设计", "category": "logo-design", "pricing": "negotiable", "price": 50000,
         "summary": "品牌标志原创手绘设计，三套方案任选，可开发票",
         "content": "## 流程\n\n1. 需求沟通\n2. 三套初稿\n3. 精修定稿\n\n提供 AI/PNG 源文件。",
         "tags": ["original", "invoice", "source-files"], "color": (60, 120, 220)},
        {"title": "一元详情页诊断", "category": "detail-page", "pricing": "fixed", "price": 100,
         "summary": "新店体验价：详情页转化诊断报告一份", "trial": True,
         "content": "## 诊断内容\n\n- 首屏卖点\n- 图文节奏\n- 转化建议清单", "tags": ["fast-delivery"],
         "color": (240, 180, 40)},
    ],
    "demo-yunkefu": [
        {"title": "7x24小时客服外包", "category": "customer-service", "pricing": "fixed", "price": 300000,
         "summary": "专业客服团队全天候在线，平均响应三十秒以内", "capacity": 5,
         "content": "## 服务说明\n\n- 售前咨询与售后处理\n- 每日数据报表\n- 按月结算\n\n"
                    "## 签约方式（包月合同）\n\n在本页「签约（按月服务）」提交合同条款，双方签约后：\n\n"
                    "1. 支付定金（平台托管，合同结束后退还）\n2. 培训考核通过后上线，先试用 7 天\n"
                    "3. 每月底薪 3000 元 + 询单销售额 1% 提成，次月结算上月\n"
                    "4. 每月账单附响应时间、询单转化率等考核数据与质检报告",
         "tags": ["always-on", "invoice"], "color": (40, 160, 120)},
        {"title": "大促活动临时客服", "category": "customer-service", "pricing": "negotiable", "price": 120000,
         "summary": "双十一、618 大促期间临时客服坐席，按天计费",
         "content": "## 适用场景\n\n大促前后一周的咨询高峰。\n\n## 说明\n\n提前三天预约排班。",
         "tags": ["fast-delivery", "brand-team"], "color": (120, 80, 200)},
    ],
}


def logo_png(color: tuple[int, int, int]) -> bytes:
    image = Image.new("RGB", (80, 80), color)
    draw = ImageDraw.Draw(image)
    draw.ellipse((14, 14, 66, 66), fill=(255, 255, 255))
    draw.rectangle((30, 30, 50, 50), fill=color)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def load_demo_data(now: datetime) -> bool:
    """Load the demo catalog once; False when it is already there."""
    try:
        GuardModel.get(MARKER, consistent_read=True)
        return False
    except DoesNotExist:
        pass
    # Every step below checks what a half-finished earlier run left, so a retry after a
    # crash completes the demo instead of duplicating it.
    running, _ = campaigns.active_campaigns(now, 100, None)
    campaign = next((c for c in running if c["name"] == "新店体验季"), None) or \
        campaigns.create_campaign(OPERATOR, name="新店体验季", starts_at=now - timedelta(hours=1),
                                  ends_at=now + timedelta(days=30), max_price=100, now=now)
    for profile in PROVIDERS:
        caller = Caller(profile["id"])
        current = providers.get_provider(caller.user_id)
        if current is None or current.status == "rejected":
            providers.apply(caller, now=now, **{k: v for k, v in profile.items() if k != "id"})
            current = providers.get_provider(caller.user_id)
        if current.status == "pending":
            providers.approve(OPERATOR, caller.user_id, now)
        existing, _ = catalog.list_my_services(caller, None, 100, None)
        titles = {s["title"] for s in existing}
        for spec in SERVICES[caller.user_id]:
            if spec["title"] in titles:
                continue
            fields = {k: v for k, v in spec.items() if k not in ("color", "trial")}
            service = catalog.create_service(caller, fields, now)
            catalog.set_logo(caller, service["id"], logo_png(spec["color"]), "image/png", now)
            catalog.list_service(caller, service["id"], now,
                                 campaign_id=campaign["id"] if spec.get("trial") else None)
    _demo_contract(now)
    GuardModel(MARKER, service_id="-", provider_id="-", created_at=clock.to_key(now)).save()
    return True


DEMO_SHOP = Caller("demo-shop")
CONTRACT_TERMS = {
    "period": "month", "billing": "postpaid", "base": 300000, "commission_bps": 100,
    "deposit": 0, "trial_days": 7, "trial_fee": 50000, "notice_days": 15,
    "schedule": {"agents": 3, "hours": "09:00-24:00", "shifts": 2, "holidays": "春节轮休，大促全员在岗"},
    "kpis": ["首次响应 ≤ 30 秒", "询单转化率 ≥ 25%", "质检合格率 ≥ 95%"],
    "confidential": True, "breach": "质检不合格当月扣减底薪 10%；泄露客户信息立即解约",
}


def _demo_contract(now: datetime) -> None:
    """The 客服外包 listing sold as it is in practice: a contract (包月合同) a demo shop
    signed with the provider, gone live into its trial. Each step is skipped when a
    half-finished earlier run already took it (the id comes from a fixed request key)."""
    listing = next(s for s in catalog.list_my_services(Caller("demo-yunkefu"), None, 100, None)[0]
                   if s["title"] == "7x24小时客服外包")
    contract = agreeing.create_contract(
        DEMO_SHOP, service_id=listing["id"], requirement="天猫旗舰店售前售后，三人两班，大促加人",
        terms=CONTRACT_TERMS, now=now, request_key="demo-contract")
    for caller, role in ((Caller("demo-yunkefu"), "provider"), (DEMO_SHOP, "buyer")):
        if contract["status"] == "draft" and role not in contract["signed_by"]:
            contract = agreeing.sign(caller, contract["id"], now)
    if contract["status"] == "onboarding":
        agreeing.go_live(DEMO_SHOP, contract["id"], now)
