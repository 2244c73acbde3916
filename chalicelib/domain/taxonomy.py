"""The system taxonomy: categories and tags with stable ids and Chinese names.

Ids are what services store, so they never change; names may be reworded freely.
"""

CATEGORIES: tuple[tuple[str, str], ...] = (
    ("shop-decoration", "店铺装修"),
    ("logo-design", "logo设计"),
    ("customer-service", "客服外包"),
    ("detail-page", "详情页设计"),
    ("operation", "代运营"),
    ("photo-retouch", "摄影修图"),
    ("copywriting", "文案策划"),
    ("video", "短视频制作"),
)

TAGS: tuple[tuple[str, str], ...] = (
    ("fast-delivery", "急速交付"),
    ("invoice", "可开发票"),
    ("original", "原创设计"),
    ("free-revision", "包修改"),
    ("always-on", "7x24小时"),
    ("source-files", "提供源文件"),
    ("mobile-first", "手机端适配"),
    ("brand-team", "品牌团队"),
)

CATEGORY_NAMES = dict(CATEGORIES)
TAG_NAMES = dict(TAGS)


def as_items(pairs) -> list[dict]:
    return [{"id": id_, "name": name} for id_, name in pairs]
