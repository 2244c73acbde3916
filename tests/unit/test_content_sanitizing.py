"""content_html never carries script: a list of known XSS payloads (OWASP's filter
evasion cheat sheet and Markdown-specific ones) is rendered, and the result is parsed
as a browser would to assert no script, event handler, dangerous URL or foreign picture
survives — while ordinary Markdown still renders."""
from html.parser import HTMLParser

import pytest

from chalicelib.services.content import render

OWN = {"img_own": "https://cdn.example.com/images/svc_1/abc.png"}
PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//xss.rocks/.j></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    '<IMG SRC="javascript:alert(\'XSS\');">',
    "<svg/onload=alert(1)>",
    "<body onload=alert(1)>",
    '<iframe src="javascript:alert(1)"></iframe>',
    "<a href=\"javascript:alert(1)\">x</a>",
    "<div style=\"background:url(javascript:alert(1))\">x</div>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph>",
    "<details open ontoggle=alert(1)>",
    "<object data=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">",
    "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert(1)\">",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](javascript&#58;alert(1))",
    "[click](&#x6A;avascript:alert(1))",
    "[click](vbscript:msgbox(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[click]( javascript:alert(1))",
    "[click](<javascript:alert(1)>)",
    "![x](javascript:alert(1))",
    "![x](https://evil.example/track.png)",
    "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    '![x](https://cdn.example.com/images/svc_1/abc.png"onerror="alert(1))',
    "![x](image:img_other)",
    '[a](https://ok.example "title\\" onmouseover=\\"alert(1)")',
    "<a href=\"https://ok.example\" onclick=alert(1)>x</a>",
    "`<script>alert(1)</script>`",
    "```html\n<script>alert(1)</script>\n```",
    "<<script>script>alert(1)<</script>/script>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<!--<script>alert(1)</script>-->",
    "<style>@import 'javascript:alert(1)';</style>",
    "<form action=javascript:alert(1)><button>x</button></form>",
    "<input autofocus onfocus=alert(1)>",
    "<video><source onerror=alert(1)></video>",
    "<base href=\"javascript:alert(1)//\">",
    "[x]: javascript:alert(1)\n\n[link][x]",
    "| a |\n|---|\n| <img src=x onerror=alert(1)> |",
]
SAFE_TAGS = {"p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "del",
             "s", "code", "pre", "blockquote", "ul", "ol", "li", "a", "img", "table", "thead",
             "tbody", "tr", "th", "td"}


class _Audit(HTMLParser):
    """What a browser would build from the HTML: every tag and attribute."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems = []

    def handle_starttag(self, tag, attrs):
        if tag not in SAFE_TAGS:
            self.problems.append(f"tag {tag}")
        for name, value in attrs:
            value = (value or "").strip().lower()
            if name.startswith("on") or name in ("style", "srcdoc", "formaction"):
                if not (name == "style" and value.startswith("text-align:")):
                    self.problems.append(f"attribute {name}")
            if name == "href" and not value.startswith(("http://", "https://")):
                self.problems.append(f"href {value}")
            if name == "src" and value not in OWN.values():
                self.problems.append(f"src {value}")


def audit(html: str) -> list[str]:
    parser = _Audit()
    parser.feed(html)
    parser.close()
    return parser.problems


@pytest.mark.parametrize("payload", PAYLOADS)
def test_no_payload_survives(payload):
    html = render(f"介绍\n\n{payload}\n\n结尾", OWN)
    assert audit(html) == [], html
    assert "<script" not in html.lower()


def test_ordinary_markdown_still_renders():
    html = render("# 服务范围\n\n- 首页\n- **详情页**\n\n[案例](https://shop.example/case)"
                  "\n\n![首页](image:img_own)", OWN)
    assert "<h1>服务范围</h1>" in html and "<strong>详情页</strong>" in html
    assert '<a href="https://shop.example/case" rel="nofollow noopener noreferrer">案例</a>' in html
    assert f'<img src="{OWN["img_own"]}" alt="首页">' in html
    assert audit(html) == []


def test_the_audit_itself_catches_what_it_should():
    assert audit('<a href="javascript:x">x</a><img src=x onerror=y><script></script>') == [
        "href javascript:x", "src x", "attribute onerror", "tag script"]
