"""The house rules on imports, checked on the source (no project module is imported here):

- no cycle between files: the module graph, built from every ``import`` / ``from ... import``
  statement (module level and inside functions), has no strongly connected component of two or
  more modules;
- layers: the core package ``redstar`` imports no other package of the project (recipes, eval
  and the demo sit above it), except ``redstar/cli.py``, whose dispatch names commands by string;
- each module imports alone: a fresh interpreter that has loaded only third-party libraries
  imports it without error (``python -c 'import MODULE'``).

The packages are those ``pyproject.toml`` installs (``[tool.setuptools.packages.find] include``).
Run ``python tests/test_import_graph.py`` to print every cycle and layer violation.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE = "redstar"
CORE_DISPATCH = {"redstar.cli"}  # names the commands of the other packages as strings


def project_packages(root: Path = ROOT) -> list[str]:
    """Top-level packages that pyproject.toml installs (``include`` patterns like ``geo*``)."""
    text = (root / "pyproject.toml").read_text(encoding="utf-8")  # no tomllib before Python 3.11
    table = re.search(r"^\[tool\.setuptools\.packages\.find\]\s*\ninclude\s*=\s*\[([^\]]*)\]", text, re.M)
    assert table, "pyproject.toml: no [tool.setuptools.packages.find] include = [...]"
    names = {p.split(".")[0].rstrip("*") for p in re.findall(r'"([^"]+)"', table.group(1))}
    return sorted(n for n in names if (root / n / "__init__.py").is_file())


def module_files(root: Path = ROOT, packages: list[str] | None = None) -> dict[str, Path]:
    """``{dotted module name: file}`` for every .py file of ``packages``."""
    out: dict[str, Path] = {}
    for pkg in packages or project_packages(root):
        for f in sorted((root / pkg).rglob("*.py")):
            parts = list(f.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = f
    return out


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The project module ``name`` refers to: itself, else its longest importable prefix."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(module: str, path: Path, modules: dict[str, Path]) -> dict[str, int]:
    """``{imported project module: first line}`` of one file. ``from a import b`` counts as
    importing ``a.b`` when that is a module, else ``a``; relative imports are resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_pkg = path.name == "__init__.py"
    here = module if is_pkg else module.rpartition(".")[0]
    found: dict[str, int] = {}

    def add(target: str | None, line: int) -> None:
        if target and target != module:
            found.setdefault(target, line)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(_resolve(alias.name, modules), node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here
                for _ in range(node.level - 1):
                    base = base.rpartition(".")[0]
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module or ""
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                add(sub if sub in modules else _resolve(base, modules), node.lineno)
    return found


def import_graph(root: Path = ROOT) -> tuple[dict[str, dict[str, int]], dict[str, Path]]:
    modules = module_files(root)
    return {m: imports_of(m, f, modules) for m, f in modules.items()}, modules


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Each strongly connected component of two or more modules, as one cycle through it
    (``[a, b, ..., a]``), sorted. Tarjan's algorithm, iterative."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    comps: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in graph:
                    continue
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    comp.append(top)
                    if top == node:
                        break
                if len(comp) > 1:
                    comps.append(sorted(comp))
    return sorted(_cycle_through(c, graph) for c in comps)


def _cycle_through(comp: list[str], graph: dict[str, dict[str, int]]) -> list[str]:
    """A shortest cycle from the first module of ``comp`` back to itself, inside ``comp``."""
    members, start = set(comp), comp[0]
    prev: dict[str, str] = {}
    frontier = [start]
    while frontier:
        nxt = []
        for node in frontier:
            for child in sorted(graph[node]):
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(prev[path[-1]])
                    return [start, *reversed(path[:-1]), start] if len(path) > 1 else [start, node, start]
                if child in members and child not in prev and child != start:
                    prev[child] = node
                    nxt.append(child)
        frontier = nxt
    return [*comp, comp[0]]


def describe_cycle(cycle: list[str], graph: dict[str, dict[str, int]], modules: dict[str, Path]) -> str:
    """``a.py:12 -> b.py:30 -> a.py`` (each arrow starts at the line that imports the next)."""
    steps = [f"{modules[a].relative_to(ROOT)}:{graph[a][b]}" for a, b in zip(cycle, cycle[1:])]
    return " -> ".join(steps + [str(modules[cycle[-1]].relative_to(ROOT))])


def layer_violations(
    graph: dict[str, dict[str, int]], modules: dict[str, Path], core: str = CORE, root: Path = ROOT
) -> list[str]:
    """``file:line imports MODULE`` for each import of another project package by ``core``."""
    out = []
    for mod, deps in sorted(graph.items()):
        if mod.split(".")[0] != core or mod in CORE_DISPATCH:
            continue
        for dep, line in sorted(deps.items(), key=lambda kv: kv[1]):
            if dep.split(".")[0] != core:
                out.append(f"{modules[mod].relative_to(root)}:{line} imports {dep}")
    return out


# ----------------------------------------------------------------------------- the checker itself


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.setuptools.packages.find]\ninclude = ["core*", "top*"]\n', encoding="utf-8"
    )
    for rel, text in files.items():
        f = tmp_path / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(text, encoding="utf-8")
    return tmp_path


def test_finds_a_cycle_through_a_function_level_import(tmp_path):
    root = _tree(
        tmp_path,
        {
            "core/__init__.py": "",
            "core/a.py": "from core.b import f\n",
            "core/b.py": "def f():\n    from core import a\n    return a\n",
            "core/c.py": "from . import a\n",  # a relative import into the cycle, not part of it
        },
    )
    modules = module_files(root)
    graph = {m: imports_of(m, f, modules) for m, f in modules.items()}
    assert graph["core.b"] == {"core.a": 2}
    assert graph["core.c"] == {"core.a": 1}
    assert cycles(graph) == [["core.a", "core.b", "core.a"]]


def test_finds_a_longer_cycle_and_none_in_a_chain():
    chain = {"a": {"b": 1}, "b": {"c": 1}, "c": {}}
    assert cycles(chain) == []
    ring = {"a": {"b": 1}, "b": {"c": 2}, "c": {"a": 3}, "d": {"a": 1}}
    assert cycles(ring) == [["a", "b", "c", "a"]]


def test_flags_the_core_importing_a_package_above_it(tmp_path):
    root = _tree(
        tmp_path,
        {
            "core/__init__.py": "",
            "core/x.py": "import os\n\n\ndef g():\n    import top.y\n",
            "top/__init__.py": "",
            "top/y.py": "import core.x\n",
        },
    )
    modules = module_files(root)
    graph = {m: imports_of(m, f, modules) for m, f in modules.items()}
    assert layer_violations(graph, modules, core="core", root=root) == ["core/x.py:5 imports top.y"]


# ----------------------------------------------------------------------------- this repository


def test_no_two_files_import_each_other():
    graph, modules = import_graph()
    assert len(modules) > 50, sorted(modules)  # the packages were found
    found = [describe_cycle(c, graph, modules) for c in cycles(graph)]
    assert not found, "import cycles between files:\n" + "\n".join(found)


def test_the_core_imports_no_package_above_it():
    graph, modules = import_graph()
    found = layer_violations(graph, modules)
    assert not found, f"{CORE} must not import the packages built on it:\n" + "\n".join(found)


# In a fresh interpreter: load the third-party libraries the project imports (so each module's
# own import is cheap), then fork once per project module and import it in the child alone.
_IMPORT_EACH = r"""
import importlib, json, os, sys
modules, third_party = json.loads(sys.argv[1]), json.loads(sys.argv[2])
for name in third_party:
    try:
        importlib.import_module(name)
    except Exception:
        pass
assert not any(m.split(".")[0] in {p.split(".")[0] for p in modules} for m in sys.modules), "project preloaded"
failed = {}
for mod in modules:
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        code, msg = 0, b""
        try:
            importlib.import_module(mod)
        except BaseException as e:
            code, msg = 1, f"{type(e).__name__}: {e}".encode()[:500]
        os.write(w, msg)
        os._exit(code)
    os.close(w)
    msg = os.read(r, 1000).decode(errors="replace")
    os.close(r)
    _, status = os.waitpid(pid, 0)
    if status != 0:
        failed[mod] = msg or f"exit status {status}"
print(json.dumps(failed))
"""


def _third_party(graph_modules: dict[str, Path]) -> list[str]:
    """Top-level names of the non-project modules that project files import at module level."""
    packages = {m.split(".")[0] for m in graph_modules}
    names: set[str] = set()
    for f in graph_modules.values():
        for node in ast.parse(f.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Import):
                names.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names.add(node.module.split(".")[0])
    return sorted(n for n in names - packages if n != "__future__")


def failing_alone(root: Path = ROOT) -> dict[str, str]:
    """``{module: error}`` for each module of ``root``'s packages that fails to import alone."""
    modules = module_files(root)
    env = {**os.environ, "PYTHONPATH": str(root)}
    proc = subprocess.run(
        [sys.executable, "-c", _IMPORT_EACH, json.dumps(sorted(modules)), json.dumps(_third_party(modules))],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


@needs_fork
def test_import_alone_catches_a_module_that_needs_another_imported_first(tmp_path):
    root = _tree(
        tmp_path,
        {
            "core/__init__.py": "",
            "core/ok.py": "import json\n",
            # works only when core.ok was imported before: alone it raises
            "core/needs_ok.py": "import sys\n\nsys.modules['core.ok'].loads\n",
            "core/broken.py": "raise RuntimeError('bad module')\n",
        },
    )
    failed = failing_alone(root)
    assert sorted(failed) == ["core.broken", "core.needs_ok"]
    assert failed["core.broken"] == "RuntimeError: bad module"


@needs_fork
def test_each_module_imports_alone():
    failed = failing_alone()
    assert not failed, "modules that fail to import alone:\n" + "\n".join(f"{m}: {e}" for m, e in failed.items())


if __name__ == "__main__":
    graph, modules = import_graph()
    problems = [describe_cycle(c, graph, modules) for c in cycles(graph)] + layer_violations(graph, modules)
    print("\n".join(problems) or f"{len(modules)} modules: no import cycle, no layer violation")
    sys.exit(1 if problems else 0)
