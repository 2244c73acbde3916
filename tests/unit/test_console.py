"""The web console on the local stack: the dev server serves web/dist at /console/ as
CloudFront would, and web/openapi.json (what the console's TypeScript client is
generated from) is the document the app answers."""
import json

import pytest

from chalicelib.local import console


@pytest.fixture
def dist(tmp_path):
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html><title>服务定制市场</title>", encoding="utf-8")
    (tmp_path / "assets" / "index-abc123.js").write_text("console.log(1)", encoding="utf-8")
    (tmp_path.parent / "secret.txt").write_text("no", encoding="utf-8")
    return tmp_path


def test_the_index_is_served_and_never_cached(dist):
    status, headers, body = console.answer("/console/", dist)
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    assert headers["Cache-Control"] == "no-cache"
    assert "服务定制市场".encode() in body


def test_hashed_assets_are_cached_for_good(dist):
    status, headers, body = console.answer("/console/assets/index-abc123.js?v=1", dist)
    assert status == 200
    assert "javascript" in headers["Content-Type"]
    assert "immutable" in headers["Cache-Control"]


def test_the_bare_prefix_redirects_and_unknown_paths_fall_back_to_the_app(dist):
    assert console.answer("/console", dist)[:2] == (301, {"Location": "/console/"})
    assert console.answer("/console/orders", dist)[0] == 200
    assert console.answer("/console/assets/missing.js", dist)[0] == 404


@pytest.mark.parametrize("path", ["/console/../secret.txt", "/console/%2e%2e/secret.txt",
                                  "/console/assets/../../secret.txt"])
def test_nothing_outside_the_build_is_served(dist, path):
    assert console.answer(path, dist)[0] == 404


def test_an_unbuilt_console_says_how_to_build_it(tmp_path):
    status, _, body = console.answer("/console/", tmp_path / "nothing")
    assert status == 503
    assert b"make console" in body


def test_the_committed_openapi_document_of_the_console_is_current():
    committed = json.loads(console.OPENAPI_FILE.read_text(encoding="utf-8"))
    assert committed == console.openapi_document(), (
        "web/openapi.json is stale: run `.venv/bin/python -m chalicelib.local.console openapi`")
