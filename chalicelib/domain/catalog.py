"""Catalog rules without storage: field limits, what a listable service needs, title
normalisation, the near-duplicate measure and the market's search tokens."""
import unicodedata

from chalicelib.domain.taxonomy import CATEGORY_NAMES, TAG_NAMES

TITLE_MAX, SUMMARY_MAX, CONTENT_MAX = 60, 200, 20000
HEADLINE_LEN = 20
MAX_TAGS = 5
# ¥1,000,000 in fen: far above any real shop service, low enough that a typo of extra
# zeros is refused instead of listed.
MAX_PRICE = 100_000_000
MAX_CAPACITY = 10_000
PRICINGS = ("fixed", "negotiable")
LISTING_LIMIT = 10
DRAFT, LISTED, DELISTED = "draft", "listed", "delisted"  # a service's status
STATUSES = (DRAFT, LISTED, DELISTED)
EDITABLE = (DRAFT, DELISTED)

# Near-duplicate threshold on the Jaccard index of character bigrams. 0.9 means at
# least nine in ten distinct adjacent-character pairs are shared: a copy with a changed
# sentence or price stays above it, while two services built from one template but with
# a different subject (装修 vs 修图) fall well below.
SIMILARITY_THRESHOLD = 0.9

# Latin words are indexed with their prefixes (type-ahead); longer prefixes add entries
# without making a search more selective.
MAX_PREFIX = 20

# CJK ideographs, kana and hangul, as code point ranges: the same class as a regex cost
# about 2 ms to compile on every cold start.
_CJK_RANGES = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x3040, 0x30FF),
               (0xAC00, 0xD7AF))


def _is_cjk(ch: str) -> bool:
    code = ord(ch)
    return any(low <= code <= high for low, high in _CJK_RANGES)


def headline(summary: str) -> str:
    """The first 20 characters of the summary (characters, not bytes)."""
    return summary[:HEADLINE_LEN]


def _text_ok(value, maximum: int) -> bool:
    return isinstance(value, str) and bool(value.strip()) and len(value) <= maximum


def invalid_fields(fields: dict) -> list[str]:
    """Names of the fields that break the contract's limits (missing ones included)."""
    bad = []
    if not _text_ok(fields.get("title"), TITLE_MAX):
        bad.append("title")
    if not _text_ok(fields.get("summary"), SUMMARY_MAX):
        bad.append("summary")
    if not _text_ok(fields.get("content"), CONTENT_MAX):
        bad.append("content")
    price = fields.get("price")
    if isinstance(price, bool) or not isinstance(price, int) or not 0 < price <= MAX_PRICE:
        bad.append("price")
    if fields.get("pricing") not in PRICINGS:
        bad.append("pricing")
    if fields.get("category") not in CATEGORY_NAMES:
        bad.append("category")
    tags = fields.get("tags") or []
    if (len(tags) > MAX_TAGS or len(set(tags)) != len(tags)
            or any(t not in TAG_NAMES for t in tags)):
        bad.append("tags")
    capacity = fields.get("capacity")
    if capacity is not None and (isinstance(capacity, bool) or not isinstance(capacity, int)
                                 or not 1 <= capacity <= MAX_CAPACITY):
        bad.append("capacity")
    return bad


def missing_for_listing(fields: dict, has_logo: bool) -> list[str]:
    """What keeps a service from being listed: `logo` and every invalid field."""
    return (["logo"] if not has_logo else []) + invalid_fields(fields)


def normalize_title(title: str) -> str:
    """NFKC, case-folded, with punctuation, symbols and whitespace removed: the spelling
    two titles must share to count as the same service."""
    folded = unicodedata.normalize("NFKC", title).casefold()
    return "".join(ch for ch in folded if unicodedata.category(ch)[0] in "LN")


def bigrams(text: str) -> set[str]:
    return {text[i:i + 2] for i in range(len(text) - 1)}


def similarity(a: str, b: str) -> float:
    """Jaccard index of the character bigrams of two normalised texts (0..1)."""
    na, nb = normalize_title(a), normalize_title(b)
    if na == nb:
        return 1.0
    ga, gb = bigrams(na), bigrams(nb)
    if not ga or not gb:
        return 0.0
    return len(ga & gb) / len(ga | gb)


def service_text(title: str, summary: str, content: str) -> str:
    return "\n".join((title, summary, content))


def nearly_identical(a: str, b: str) -> bool:
    return similarity(a, b) >= SIMILARITY_THRESHOLD


def rating(rating_sum, rating_count) -> float | None:
    """Average review score (good 1, neutral 0, bad -1), or None without reviews."""
    if not rating_count:
        return None
    return round(float(rating_sum) / float(rating_count), 2)


def rating_sort_key(rating_sum, rating_count) -> str:
    """A string that sorts like the rating, unrated services below every rated one."""
    value = rating(rating_sum, rating_count)
    if value is None:
        return "0"
    return "1" + f"{int(round((value + 1) * 10000)):05d}"


# --- market search -----------------------------------------------------------
def normalize_search(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _runs(text: str) -> list[tuple[str, str]]:
    """Split normalised text into ("cjk", run) and ("word", run) pieces."""
    runs: list[tuple[str, str]] = []
    kind, current = None, []
    for ch in text:
        this = "cjk" if _is_cjk(ch) else ("word" if ch.isalnum() else None)
        if this != kind and current:
            runs.append((kind, "".join(current)))
            current = []
        kind = this
        if this:
            current.append(ch)
    if current and kind:
        runs.append((kind, "".join(current)))
    return runs


def search_tokens(text: str) -> set[str]:
    """Index tokens: every distinct CJK character and bigram; every Latin/digit word
    lower-cased with its prefixes of two or more characters."""
    tokens: set[str] = set()
    for kind, run in _runs(normalize_search(text)):
        if kind == "cjk":
            tokens.update(run)
            tokens.update(bigrams(run))
        else:
            tokens.update(run[:n] for n in range(2, min(len(run), MAX_PREFIX) + 1))
    return tokens


def query_parts(q: str) -> list[str]:
    return [p for p in normalize_search(q).split() if p]


def query_token(part: str) -> str | None:
    """The one index token to look a query part up by, or None when the part has no
    indexed token (a single Latin letter). A CJK bigram is preferred: every substring
    of a CJK run is covered by one, while Latin words are indexed by prefix only."""
    runs = _runs(part)
    cjk = [run for kind, run in runs if kind == "cjk"]
    if cjk:
        longest = max(cjk, key=len)
        return longest[:2]
    words = [run for kind, run in runs if kind == "word" and len(run) >= 2]
    if not words:
        return None
    return max(words, key=len)[:MAX_PREFIX]
