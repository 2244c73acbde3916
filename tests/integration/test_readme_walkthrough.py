"""The README's curl walk-through, run as written: every `sh` block from "A walk through the
catalog with curl" up to "## Layout", in order, in one bash, against a fresh dev server —
and each block must print what its comments show. So the README can never drift from
the code again.

Only the addresses change (the test's stack runs on free ports); the working directory is
a scratch copy of a clone's root: its entries and `.local/data` (the stack's data) are links.

What a comment "shows": a comment line of its own (`# {'funded': 49900, ...}`), or a
comment after a command that starts like an answer (`{`, `[`, `"`) or is one word
(`# in_review`), is output the block must print; `…`/`...` stand for anything, and
spaces are ignored. Other comments are prose.
"""
import os
import re
import signal
import subprocess
from pathlib import Path

import pytest

from tests.integration.test_local_stack import DevServer

pytestmark = pytest.mark.dynamodb_local

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
FIRST_SECTION = "### A walk through the catalog with curl"
END_SECTION = "## Layout"
API = "http://127.0.0.1:8000"
STANDIN = "http://127.0.0.1:8010"
# Five payments wait 3 s each for the stand-in; the rest is curl against a warm stack.
WALK_TIMEOUT = 300
MARKER = "@@README-BLOCK@@"
_ANSWER_LIKE = re.compile(r"^([{\[\"].*|[\w.\-]+)$")
_WILDCARD = re.compile(r"…|\.\.\.")


def walkthrough_blocks(text: str) -> list[str]:
    start = text.index(FIRST_SECTION)
    section = text[start:text.index(END_SECTION, start)]
    return re.findall(r"^```sh\n(.*?)^```$", section, flags=re.S | re.M)


def _trailing_comment(line: str) -> str | None:
    """The `# …` at the end of a command line, if any (a `#` inside quotes is not one)."""
    quote = None
    for i, char in enumerate(line):
        if quote:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "#" and i > 0 and line[i - 1] == " ":
            return line[i + 1:].strip()
    return None


def expected_output(block: str) -> list[str]:
    shown = []
    for line in block.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            shown.append(stripped[1:].strip().split("   (")[0])
            continue
        comment = _trailing_comment(line)
        if comment and _ANSWER_LIKE.match(comment) and not comment.startswith("$"):
            shown.append(comment)
    return shown


def _shows(output: str, expected: str) -> bool:
    """Every part of `expected` between wildcards appears in `output`, in order."""
    squashed = re.sub(r"\s+", "", output)
    at = 0
    for part in _WILDCARD.split(re.sub(r"\s+", "", expected)):
        found = squashed.find(part, at)
        if found < 0:
            return False
        at = found + len(part)
    return True


def test_the_expectations_are_read_from_the_comments():
    block = ('curl -s $API/x | field \'["status"]\'     # in_progress\n'
             'curl -s $API/y   # the buyer opens the cashier\n'
             "# {'funded': 49900, ...}\n")
    assert expected_output(block) == ["in_progress", "{'funded': 49900, ...}"]
    assert _shows("{'funded': 49900, 'held': 0}", "{'funded': 49900, ...}")
    assert not _shows("{'funded': 100}", "{'funded': 49900, ...}")


@pytest.fixture(scope="module")
def fresh_stack(tmp_path_factory):
    base = tmp_path_factory.mktemp("readme-stack")
    # The walk runs the sweeps itself when it says so (POST /_local/sweeps); a timer's sweep
    # in between would pay the withdrawal before the README shows it pending.
    server = DevServer(base / "data", base / "devserver.log", sweep_interval="3600").start()
    yield server
    try:
        server.interrupt()
    finally:
        server.kill()


def test_the_readme_walkthrough_runs_top_to_bottom_and_prints_what_it_shows(
        fresh_stack, tmp_path):
    blocks = walkthrough_blocks(README.read_text(encoding="utf-8"))
    assert len(blocks) >= 15, "the walk-through's blocks were not found"
    workdir = tmp_path / "clone"
    (workdir / ".local").mkdir(parents=True)
    for entry in ROOT.iterdir():
        if entry.name not in (".git", ".local", "logo.png", "final.txt", "webhooks.log"):
            (workdir / entry.name).symlink_to(entry)
    (workdir / ".local" / "data").symlink_to(fresh_stack.data_dir)
    standin = f"http://127.0.0.1:{fresh_stack.standin_port}"
    script = "set -eo pipefail\n" + "".join(
        f"echo '{MARKER}'\n{block.replace(API, fresh_stack.url).replace(STANDIN, standin)}"
        for block in blocks)
    out_path = tmp_path / "walk.out"
    with open(out_path, "wb") as out:
        walk = subprocess.Popen(["bash", "-c", script], cwd=workdir, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, env=dict(os.environ, LC_ALL="C.UTF-8"))
        try:
            code = walk.wait(timeout=WALK_TIMEOUT)
        finally:
            # Whatever the walk left running in the background (the webhook watcher).
            try:
                os.killpg(walk.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    outputs = out_path.read_text(encoding="utf-8", errors="replace").split(MARKER + "\n")[1:]
    assert code == 0, (f"block {len(outputs)} of the README walk-through failed:\n"
                       f"{blocks[len(outputs) - 1]}\n--- it printed:\n{outputs[-1]}")
    assert len(outputs) == len(blocks)
    for number, (block, output) in enumerate(zip(blocks, outputs), start=1):
        for expected in expected_output(block):
            assert _shows(output, expected), (
                f"block {number} should print {expected!r}:\n{block}\n--- it printed:\n{output}")
