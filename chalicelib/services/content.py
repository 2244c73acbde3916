"""A service's content as HTML: its Markdown rendered with markdown-it-py (raw HTML off)
and the result sanitized with nh3, so nothing a provider writes runs in a buyer's
browser. Links keep only http(s); images keep only the service's own checked pictures,
referenced in Markdown as `![说明](image:<id>)` and rewritten to their stable URLs.

Two layers on purpose: the renderer never emits raw HTML from the source, and the
sanitizer's allow-list would drop it if it did.

Rendered when written, not when read: the writes that change what the page shows (the
content, a checked picture) store the HTML beside the fingerprint of what it was rendered
from (`stored_html`), and a read answers the stored HTML while the fingerprint still
matches what the service holds now (`service_html`), else renders. So a read, and a cold
start's first one, neither imports markdown-it (~30 ms) nor parses; and two writes racing,
an item written before this, or a new URL base for pictures can cost a render, never show
stale HTML.
"""
import hashlib
import json
from functools import lru_cache

from chalicelib.services import logos

IMAGE_SCHEME = "image:"
TAGS = {"p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "del", "s",
        "code", "pre", "blockquote", "ul", "ol", "li", "a", "img", "table", "thead", "tbody",
        "tr", "th", "td"}
ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "ol": {"start"},
              "th": {"style"}, "td": {"style"}}
# Part of every fingerprint: change it with whatever changes render()'s output beyond
# TAGS and ATTRIBUTES (options, plugins, the sanitizer's settings), so stored HTML re-renders.
RENDERER = "markdown-it commonmark+table+strikethrough, html off; nh3 nofollow; 1"


@lru_cache(maxsize=1)
def _markdown():
    # Loaded on the first render, not on every cold start.
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table") \
        .enable("strikethrough")


def render(markdown: str | None, images: dict[str, str]) -> str:
    """Sanitized HTML of `markdown`; `images` maps this service's image ids to URLs."""
    if not markdown:
        return ""
    import nh3

    md = _markdown()
    env: dict = {}
    tokens = md.parse(markdown, env)
    for token in tokens:
        for child in token.children or []:
            if child.type == "image":
                src = str(child.attrGet("src") or "")
                if src.startswith(IMAGE_SCHEME):
                    child.attrSet("src", images.get(src[len(IMAGE_SCHEME):], ""))
    html = md.renderer.render(tokens, md.options, env)
    allowed_sources = tuple(images.values())

    def keep(tag: str, attribute: str, value: str) -> str | None:
        # A picture shows only if it is one of this service's own, at its stable URL.
        if tag == "img" and attribute == "src":
            return value if value and value in allowed_sources else None
        if attribute == "style":
            return value if value in ("text-align:left", "text-align:center",
                                      "text-align:right") else None
        return value

    return nh3.clean(html, tags=TAGS, attributes=ATTRIBUTES, url_schemes={"http", "https"},
                     link_rel="nofollow noopener noreferrer", attribute_filter=keep,
                     strip_comments=True)


def image_keys(service) -> dict[str, str]:
    """A service's checked pictures: image id → S3 key ("<id>=<key>" in a string set)."""
    return dict(entry.split("=", 1) for entry in service.images or ())


def service_images(service) -> list[dict]:
    """The service's checked pictures and their stable URLs, oldest id first."""
    return [{"image_id": image_id, "url": logos.logo_url(key)}
            for image_id, key in sorted(image_keys(service).items())]


def fingerprint(markdown: str | None, images: dict[str, str]) -> str:
    """What the HTML of `markdown` with `images` (id → URL) depends on, hashed."""
    source = [RENDERER, sorted(TAGS), sorted((t, sorted(a)) for t, a in ATTRIBUTES.items()),
              markdown or "", sorted(images.items())]
    return hashlib.sha256(json.dumps(source, ensure_ascii=False).encode()).hexdigest()


def stored_html(markdown: str | None, keys: dict[str, str]) -> dict:
    """The service attributes to write with `markdown` and its pictures (id → S3 key)."""
    images = {image_id: logos.logo_url(key) for image_id, key in keys.items()}
    return {"content_html": render(markdown, images),
            "content_html_of": fingerprint(markdown, images)}


def service_html(service) -> str:
    """The service's content rendered, with its own pictures at their stable URLs."""
    images = {i["image_id"]: i["url"] for i in service_images(service)}
    stored = getattr(service, "content_html", None)
    if stored is not None and getattr(service, "content_html_of", None) == fingerprint(
            service.content, images):
        return stored
    return render(service.content, images)
