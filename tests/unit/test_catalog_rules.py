"""The catalog's pure rules: field limits at and past each edge, headline, title
normalisation, near-duplicate similarity and search tokens."""
import pytest

from chalicelib.domain import catalog as rules
from chalicelib.domain.taxonomy import CATEGORIES, CATEGORY_NAMES, TAG_NAMES, TAGS


def valid(**changes):
    return {"title": "旗舰店铺装修", "summary": "天猫淘宝旗舰店首页装修", "content": "## 服务内容",
            "pricing": "fixed", "price": 88000, "category": "shop-decoration",
            "tags": ["fast-delivery"], "capacity": None, **changes}


def test_a_valid_service_has_nothing_invalid():
    assert rules.invalid_fields(valid()) == []


@pytest.mark.parametrize("field,limit", [("title", 60), ("summary", 200), ("content", 20000)])
def test_text_limits_count_chinese_characters(field, limit):
    assert rules.invalid_fields(valid(**{field: "装" * limit})) == []
    assert rules.invalid_fields(valid(**{field: "装" * (limit + 1)})) == [field]
    assert rules.invalid_fields(valid(**{field: ""})) == [field]
    assert rules.invalid_fields(valid(**{field: "   "})) == [field]
    # One character is one, however many UTF-8 bytes it takes.
    assert len(("装" * limit).encode()) == 3 * limit


@pytest.mark.parametrize("price,ok", [(1, True), (0, False), (-5, False),
                                      (rules.MAX_PRICE, True), (rules.MAX_PRICE + 1, False),
                                      (10.5, False), (True, False), ("100", False)])
def test_price_is_a_positive_integer_up_to_the_cap(price, ok):
    assert (rules.invalid_fields(valid(price=price)) == []) is ok


def test_tags_up_to_five_unique_known():
    five = [t for t, _ in TAGS[:5]]
    assert rules.invalid_fields(valid(tags=five)) == []
    assert rules.invalid_fields(valid(tags=[t for t, _ in TAGS[:6]])) == ["tags"]
    assert rules.invalid_fields(valid(tags=["invoice", "invoice"])) == ["tags"]
    assert rules.invalid_fields(valid(tags=["包邮"])) == ["tags"]
    assert rules.invalid_fields(valid(tags=[])) == []


def test_category_pricing_and_capacity():
    assert rules.invalid_fields(valid(category="手机壳")) == ["category"]
    assert rules.invalid_fields(valid(pricing="auction")) == ["pricing"]
    assert rules.invalid_fields(valid(capacity=1)) == []
    assert rules.invalid_fields(valid(capacity=0)) == ["capacity"]


def test_missing_for_listing_names_the_logo_and_bad_fields():
    assert rules.missing_for_listing(valid(), has_logo=True) == []
    assert rules.missing_for_listing(valid(), has_logo=False) == ["logo"]
    assert rules.missing_for_listing(valid(title="", price=0), has_logo=False) == [
        "logo", "title", "price"]


def test_headline_is_the_first_twenty_characters():
    summary = "天猫淘宝旗舰店首页装修三天出稿风格随心定制包含两次免费修改"
    assert rules.headline(summary) == summary[:20]
    assert len(rules.headline(summary)) == 20
    assert rules.headline("短简介") == "短简介"
    assert rules.headline("a" * 20) == "a" * 20


def test_normalize_title_folds_width_case_punctuation_and_spaces():
    assert rules.normalize_title("ＬＯＧＯ 设计！") == rules.normalize_title("logo设计")
    assert rules.normalize_title("  店铺·装修 (旗舰版) ") == "店铺装修旗舰版"
    assert rules.normalize_title("Logo-Design") == "logodesign"
    assert rules.normalize_title("店铺装修") != rules.normalize_title("店铺修图")


def _variant(base: str, changed: int) -> str:
    """`base` with its last `changed` characters replaced by new ones."""
    return base[:len(base) - changed] + "".join(chr(0x9000 + i) for i in range(changed))


def test_similarity_edges_around_the_threshold_in_chinese():
    base = "".join(chr(0x4e00 + i * 3) for i in range(200))
    assert rules.similarity(base, base) == 1.0
    # 200 distinct characters → 199 distinct bigrams. Replacing the tail by k fresh
    # characters keeps 199-k of them and adds k: Jaccard = (199-k)/(199+k).
    at = (199 - 10) / (199 + 10)
    assert rules.similarity(base, _variant(base, 10)) == pytest.approx(at)
    above, below = _variant(base, 9), _variant(base, 11)
    assert rules.similarity(base, above) > rules.SIMILARITY_THRESHOLD
    assert rules.nearly_identical(base, above)
    assert rules.similarity(base, below) < rules.SIMILARITY_THRESHOLD
    assert not rules.nearly_identical(base, below)


def test_similarity_at_exactly_the_threshold_counts_as_a_duplicate():
    # 19 shared bigrams out of a union of 20 would be 0.95; build exactly 0.9: 9 of 10.
    a = "abcdefghijk"  # bigrams ab..jk: 10
    b = "abcdefghijz"  # shares 9 (ab..ij), adds jz: 9 / 11 — below
    assert rules.similarity(a, b) == pytest.approx(9 / 11)
    c = "abcdefghij"  # 9 bigrams, all inside a's 10: 9 / 10 — exactly at
    assert rules.similarity(a, c) == pytest.approx(0.9)
    assert rules.nearly_identical(a, c)
    assert not rules.nearly_identical(a, b)


def test_similarity_in_english_ignores_case_and_punctuation():
    text = "Professional logo design, three drafts, unlimited revisions, source files included."
    assert rules.similarity(text, text.upper().replace(",", ";")) == 1.0
    other = "Customer service outsourcing around the clock with trained agents for your shop."
    assert rules.similarity(text, other) < 0.3


def test_similarity_of_punctuation_only_texts():
    assert rules.similarity("！！！", "。。。") == 1.0  # both normalise to nothing
    assert rules.similarity("装", "修") == 0.0


def test_search_tokens_for_chinese_are_characters_and_bigrams():
    tokens = rules.search_tokens("店铺装修")
    assert {"店", "铺", "装", "修", "店铺", "铺装", "装修"} == tokens


def test_search_tokens_for_latin_are_lowercased_words_and_prefixes():
    tokens = rules.search_tokens("LOGO设计 7x24")
    assert {"lo", "log", "logo", "设", "计", "设计", "7x", "7x2", "7x24"} == tokens
    assert "l" not in tokens and "x24" not in tokens


def test_long_words_are_indexed_up_to_the_prefix_cap():
    tokens = rules.search_tokens("a" * 30)
    assert max(len(t) for t in tokens) == rules.MAX_PREFIX


def test_query_token_prefers_a_chinese_bigram():
    assert rules.query_token("装修") == "装修"
    assert rules.query_token("logo设计") == "设计"
    assert rules.query_token("logo") == "logo"
    assert rules.query_token("装") == "装"
    assert rules.query_token("x") is None
    assert rules.query_parts(" ＬＯＧＯ  店铺 ") == ["logo", "店铺"]


def test_rating_and_its_sort_key():
    assert rules.rating(0, 0) is None
    assert rules.rating(2, 3) == 0.67
    assert rules.rating(-1, 1) == -1.0
    keys = [rules.rating_sort_key(0, 0), rules.rating_sort_key(-1, 1),
            rules.rating_sort_key(0, 2), rules.rating_sort_key(2, 3), rules.rating_sort_key(5, 5)]
    assert keys == sorted(keys)


def test_taxonomy_ids_are_unique_and_named_in_chinese():
    assert len(CATEGORY_NAMES) == len(CATEGORIES)
    assert len(TAG_NAMES) == len(TAGS)
    assert "店铺装修" in CATEGORY_NAMES.values() and "急速交付" in TAG_NAMES.values()
