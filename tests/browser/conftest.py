"""The browser stories' stack: the real dev server (`make run`: DynamoDB Local, moto's S3
server, the demo catalog, the built console at /console/) on free ports and a throwaway
data directory, and Debian's headless Chromium driven by Playwright for Python.

`make test` installs Chromium (`make browser`) and builds the console first. Run alone,
a machine without them skips these tests, except in CI, where that is a failure."""
import os
import shutil
from pathlib import Path

import pytest

from chalicelib.local import console
from tests.integration.test_local_stack import DevServer

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = os.environ.get("SCREENSHOTS_DIR")


def _missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return "Chromium is not installed (make browser)"
    if not (console.DIST / "index.html").exists():
        return "the console is not built (make console)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "playwright is not installed (make deps)"
    return None


def pytest_collection_modifyitems(config, items):
    reason = _missing()
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.dynamodb_local)
            if reason and not os.environ.get("CI"):
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    base = tmp_path_factory.mktemp("browser-stack")
    server = DevServer(base / "data", base / "devserver.log").start()
    yield server
    try:
        server.interrupt()
    finally:
        server.kill()


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


class Person:
    """One signed-in user in a browser of their own (own storage, own token)."""

    def __init__(self, browser, stack, sub: str, *, phone: bool = False):
        size = {"width": 390, "height": 844} if phone else {"width": 1280, "height": 860}
        self.context = browser.new_context(viewport=size, locale="zh-CN")
        self.page = self.context.new_page()
        self.page.set_default_timeout(15_000)
        self.errors: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.base = stack.url + "/console/"
        self.page.goto(self.base + "#/login")
        self.page.get_by_test_id(f"login-{sub}").click()
        self.page.get_by_test_id("me").wait_for()

    def open(self, fragment: str):
        """Open a page of the console afresh, as typing its address would."""
        url = self.base + "#/" + fragment
        same_document = self.page.url.split("#")[0] == self.base
        self.page.goto(url)
        if same_document:  # a change of fragment alone reloads nothing
            self.page.reload()
        return self.page

    def shot(self, name: str):
        if SCREENSHOTS:
            Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
            self.page.wait_for_timeout(300)  # images decoded
            self.page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)

    def close(self):
        assert not self.errors, self.errors
        self.context.close()


@pytest.fixture
def person(chromium, stack):
    opened = []

    def sign_in(sub: str, **kw) -> Person:
        someone = Person(chromium, stack, sub, **kw)
        opened.append(someone)
        return someone

    yield sign_in
    for someone in opened:
        someone.close()
