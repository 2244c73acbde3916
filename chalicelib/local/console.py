"""The web console (web/) on the local stack: the dev server serves its build (web/dist)
at /console/, the way CloudFront serves it from S3 deployed; and the OpenAPI document the
console's TypeScript client is generated from is written to web/openapi.json.

    .venv/bin/python -m chalicelib.local.console openapi   # rewrite web/openapi.json
"""
import json
import mimetypes
import os
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
DIST = WEB / "dist"
OPENAPI_FILE = WEB / "openapi.json"
PREFIX = "/console"

NOT_BUILT = """<!doctype html><meta charset="utf-8"><title>服务定制市场</title>
<p>The console is not built yet: run <code>make console</code> (or <code>make run</code>,
which builds it), then reload.</p>"""


def is_console_path(path: str) -> bool:
    path = urlsplit(path).path
    return path == PREFIX or path.startswith(PREFIX + "/")


def answer(path: str, dist: Path = DIST) -> tuple[int, dict, bytes]:
    """(status, headers, body) for a GET of `path` under /console."""
    path = unquote(urlsplit(path).path)
    if path == PREFIX:
        return 301, {"Location": PREFIX + "/"}, b""
    relative = path[len(PREFIX) + 1:]
    index = dist / "index.html"
    if not index.is_file():
        return 503, {"Content-Type": "text/html; charset=utf-8"}, NOT_BUILT.encode("utf-8")
    root = dist.resolve()
    target = (root / relative).resolve() if relative else index.resolve()
    # Nothing outside dist/, however the path is spelled (.., %2e%2e, symlinks).
    if root not in target.parents and target != root:
        return 404, {"Content-Type": "text/plain; charset=utf-8"}, b"not found"
    if not target.is_file():
        # The console routes in the URL's fragment, so an unknown file is a real 404;
        # only a path without an extension falls back to the app.
        if "." in Path(relative).name:
            return 404, {"Content-Type": "text/plain; charset=utf-8"}, b"not found"
        target = index
    kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    if kind.startswith("text/") or kind in ("application/javascript", "application/json"):
        kind += "; charset=utf-8"
    # Vite names every asset by its content hash: cache those for good, never index.html.
    hashed = target.parent.name == "assets"
    cache = "public, max-age=31536000, immutable" if hashed else "no-cache"
    return 200, {"Content-Type": kind, "Cache-Control": cache}, target.read_bytes()


def openapi_document() -> dict:
    """The local stage's OpenAPI document (with /_local/token, which the console signs in
    with), as the running app answers it."""
    os.environ["STAGE"] = "local"
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from chalicelib import settings

    settings.reload()
    import app  # noqa: F401 - importing the app registers every route
    from chalicelib.api import openapi

    return openapi.build(include_local=True)


def openapi_text() -> str:
    return json.dumps(openapi_document(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    if argv[:1] != ["openapi"]:
        print(__doc__)
        return 2
    text = openapi_text()
    if not OPENAPI_FILE.exists() or OPENAPI_FILE.read_text(encoding="utf-8") != text:
        OPENAPI_FILE.write_text(text, encoding="utf-8")
        print(f"wrote {OPENAPI_FILE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
