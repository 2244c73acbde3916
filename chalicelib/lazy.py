"""Modules named at import and loaded on first use, for the cold start.

Chalice needs every route registered when `app` is imported, but a view needs its
services only when it is called. So the API layer and app.py's job handlers write

    catalog = lazy.module("chalicelib.services.catalog")

instead of `from chalicelib.services import catalog`: the name is bound at once, and the
module (with the services, storage models and domain tables it imports in turn) is
imported on the first attribute read, through the ordinary import system (thread-safe,
one copy in sys.modules, shared with whoever imports it directly). A cold start then pays
for the API layer plus what its first request uses (`make bench`, "Cold start").

What stays an ordinary import: whatever is read while the module itself is imported (a
schema's choices, a route's media types). Reading a lazy module's attribute at import
loads it at import, which is correct but forfeits the saving. Every lazily named module
must import on its own: tests/unit/test_lazy_modules.py imports them all.

The import direction is the usual one (api/jobs -> services -> domain and storage); only
the moment changes.
"""
import importlib
import types

_NAMED: dict[str, "LazyModule"] = {}


class LazyModule(types.ModuleType):
    """Stands for the module `name`; reads, writes and deletes go to the real module."""

    def __getattr__(self, attr):  # only for what the stand-in itself does not hold
        return getattr(self._real(), attr)

    def __setattr__(self, attr, value):  # e.g. a test's monkeypatch: the real module's
        setattr(self._real(), attr, value)

    def __delattr__(self, attr):
        delattr(self._real(), attr)

    def __dir__(self):
        return dir(self._real())

    def __repr__(self) -> str:
        return f"<lazy module {self.__name__!r}>"

    def _real(self) -> types.ModuleType:
        real = self.__dict__.get("_lazy_real")
        if real is None:
            real = importlib.import_module(self.__name__)
            self.__dict__["_lazy_real"] = real
        return real


def module(name: str) -> types.ModuleType:
    """The module `name`, imported on its first attribute read (or already, if it was)."""
    stand_in = _NAMED.get(name)
    if stand_in is None:
        stand_in = _NAMED[name] = LazyModule(name)
    return stand_in


def named() -> list[str]:
    """Every module named through `module` so far (tests import each)."""
    return sorted(_NAMED)


def loaded(name: str) -> bool:
    return "_lazy_real" in _NAMED[name].__dict__ if name in _NAMED else False


def registered(registry: dict, owners: dict[str, str], kind: str, missing: str):
    """`registry[kind]`, importing the module that registers it (`owners[kind]`) first if
    it has not been imported yet: registries filled as a side effect of importing their
    owners (payment funders, instruction executors) keep working when importing the app
    no longer imports those owners. LookupError(`missing`) when nothing registers it."""
    if kind not in registry and kind in owners:
        importlib.import_module(owners[kind])
    try:
        return registry[kind]
    except KeyError:
        raise LookupError(missing) from None
