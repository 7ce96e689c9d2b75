"""Which top-level modules a clean install misses when it imports the given OpenRLHF modules.

    python clean_env_imports.py openrlhf.cli.train_dpo openrlhf.cli.train_ppo_ray
    # prints a JSON list, e.g. ["deepspeed", "flash_attn", "peft", "pylatexenc", ...]

A clean environment is ``pip install -e .`` (redstar and the closure of its core requirements)
plus ``pip install --no-deps openrlhf``. Every installed module whose distribution lies outside
that set is hidden (each meta-path finder answers None for it, as if it were not installed);
modules that are not installed here at all fail on their own. Each import error is recorded,
the missing module is replaced by an empty stand-in, and the import is tried again, so every
missing module is found, not only the first.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.metadata as md
import json
import re
import sys
import types


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_closure(dist: str) -> set[str]:
    seen, todo = set(), [dist]
    while todo:
        d = todo.pop()
        if _norm(d) in seen:
            continue
        seen.add(_norm(d))
        try:
            reqs = md.requires(d) or []
        except md.PackageNotFoundError:
            continue
        todo += [re.split(r"[\[<>=!~; (]", r, maxsplit=1)[0] for r in reqs if "extra ==" not in r]
    return seen


ALLOWED = requirement_closure("redstar") | {"openrlhf"}
DISTS = md.packages_distributions()


def hidden(name: str) -> bool:
    dists = {_norm(d) for d in DISTS.get(name.split(".")[0], [])}
    return bool(dists) and not dists & ALLOWED


class Hide:
    """Wraps a meta-path finder: hidden modules are not found."""

    def __init__(self, inner):
        self.inner = inner

    def find_spec(self, name, path=None, target=None):
        if hidden(name):
            return None
        find = getattr(self.inner, "find_spec", None)
        return find(name, path, target) if find else None

    def __getattr__(self, key):
        return getattr(self.inner, key)


class StandIn(types.ModuleType):
    """An importable empty module: any attribute is a do-nothing class."""

    def __init__(self, name):
        super().__init__(name)
        self.__path__ = []
        self.__spec__ = importlib.machinery.ModuleSpec(name, None, is_package=True)
        self.__version__ = "0"

    def __getattr__(self, key):
        if key.startswith("__"):
            raise AttributeError(key)
        return type(key, (), {"__init__": lambda *a, **k: None, "__call__": lambda *a, **k: None})


def missing_modules(modules: list[str]) -> list[str]:
    sys.meta_path[:] = [Hide(f) for f in sys.meta_path]
    missing = set()
    for module in modules:
        for _ in range(200):
            try:
                importlib.import_module(module)
                break
            except ModuleNotFoundError as e:
                if not e.name or e.name.startswith("openrlhf"):
                    raise
                missing.add(e.name.split(".")[0])
                sys.modules[e.name] = StandIn(e.name)
                for key in [k for k in sys.modules if k.startswith("openrlhf")]:
                    del sys.modules[key]
    return sorted(missing)


if __name__ == "__main__":
    print(json.dumps(missing_modules(sys.argv[1:])))
