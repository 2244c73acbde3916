"""Modules the API layer and app.py name lazily (chalicelib/lazy.py): each one imports,
every attribute the code reads from it exists, and importing the app leaves the heavy
ones unloaded (what keeps the cold start near the floor app's; `make bench` times it)."""
import ast
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib import lazy

ROOT = Path(__file__).resolve().parents[2]


def _lazy_names(path: Path) -> dict[str, str]:
    """`alias = lazy.module("x")` at a module's top level: alias → module name."""
    names = {}
    for node in ast.parse(path.read_text()).body:
        if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
                and ast.unparse(node.value.func) == "lazy.module"):
            names[node.targets[0].id] = node.value.args[0].value
    return names


def _reads(path: Path, aliases) -> set[tuple[str, str]]:
    return {(n.value.id, n.attr) for n in ast.walk(ast.parse(path.read_text()))
            if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)
            and n.value.id in aliases}


SOURCES = [ROOT / "app.py", *sorted((ROOT / "chalicelib").rglob("*.py"))]
USERS = {p: _lazy_names(p) for p in SOURCES if "lazy.module(" in p.read_text()}


def test_the_api_layer_and_the_app_name_their_services_lazily():
    assert ROOT / "app.py" in USERS and len(USERS) > 10


@pytest.mark.parametrize("path", sorted(USERS), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_lazily_named_module_imports_and_has_what_is_read_from_it(path):
    names = USERS[path]
    for alias, (_, attr) in sorted((a, r) for r in _reads(path, names) for a in [r[0]]):
        module = importlib.import_module(names[alias])
        assert hasattr(module, attr), f"{path.name}: {names[alias]} has no {attr}"
    for name in names.values():
        importlib.import_module(name)


def test_a_lazy_module_forwards_reads_and_writes_to_the_real_one(monkeypatch):
    stand_in = lazy.module("chalicelib.services.market")
    real = importlib.import_module("chalicelib.services.market")
    assert stand_in.search is real.search
    monkeypatch.setattr(stand_in, "DEFAULT_SORT", "newest")
    assert real.DEFAULT_SORT == "newest"
    monkeypatch.undo()
    assert real.DEFAULT_SORT == "best" and lazy.loaded("chalicelib.services.market")


def test_importing_the_app_leaves_services_jobs_and_payments_unloaded():
    """A fresh interpreter, as a deployed stage imports it (no local routes)."""
    probe = ("import json, sys; import app; "
             "print(json.dumps(sorted(m for m in sys.modules if m.startswith('chalicelib'))))")
    env = {**os.environ, "STAGE": "bench", "JWT_SECRET": "a-secret-that-is-not-the-default"}
    env.pop("AWS_LAMBDA_FUNCTION_NAME", None)
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    loaded = set(json.loads(out.stdout.strip().splitlines()[-1]))
    for heavy in ("chalicelib.services.orders", "chalicelib.services.escrow",
                  "chalicelib.services.contracts", "chalicelib.services.idempotency",
                  "chalicelib.services.inquiries", "chalicelib.jobs.runner",
                  "chalicelib.payments.settling", "chalicelib.storage.ledger"):
        assert heavy not in loaded, heavy
    # What the API layer itself needs is there: every route is registered at import.
    assert "chalicelib.api.orders" in loaded and "chalicelib.api.routing" in loaded


def test_funders_and_executors_are_found_by_a_container_that_imported_only_the_app():
    """Their modules register them when imported, which importing the app no longer does:
    the registries import each kind's owner on first need (settling.OWNERS,
    instructions.OWNERS), and every kind anything registers has an owner named."""
    probe = """if True:
        import importlib, json, app
        from chalicelib import lazy
        from chalicelib.payments import settling
        from chalicelib.services import instructions
        before = [sorted(settling.FUNDERS), sorted(instructions.EXECUTORS)]
        found = [callable(settling.funder_of(k)) for k in settling.OWNERS]
        found += [callable(instructions._executor(k)) for k in instructions.OWNERS]
        for name in lazy.named():
            importlib.import_module(name)
        every = [sorted(settling.FUNDERS), sorted(instructions.EXECUTORS)]
        print(json.dumps({"before": before, "found": found, "every": every,
                          "owners": [sorted(settling.OWNERS), sorted(instructions.OWNERS)]}))
    """
    env = {**os.environ, "STAGE": "bench", "JWT_SECRET": "a-secret-that-is-not-the-default"}
    env.pop("AWS_LAMBDA_FUNCTION_NAME", None)
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["before"] == [[], []]  # what the registries would have had without owners
    assert seen["found"] and all(seen["found"])
    assert seen["every"] == seen["owners"]
