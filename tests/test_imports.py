"""The package's shape: no import cycles between labkit's modules, and a light ``labkit --help``.

The import graph is read from the source with ``ast``, so imports written inside functions (the
lazy ones that keep start-up fast) count as edges too: a cycle hidden in a function is still a
cycle in the design.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "labkit"


def module_name(path: Path, package: Path = PACKAGE) -> str:
    """labkit/models/resnet.py -> labkit.models.resnet; labkit/models/__init__.py -> labkit.models."""
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """Every labkit module -> the labkit modules it imports anywhere in its source (module level or inside functions)."""
    paths = {module_name(path, package): path for path in sorted(package.rglob("*.py"))}
    graph: dict[str, set[str]] = {name: set() for name in paths}
    for name, path in paths.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from . import x / from ..data import y
                    anchor = name.split(".")[: len(name.split(".")) - node.level + (1 if is_package else 0)]
                    base = ".".join(anchor + ([base] if base else []))
                # `from labkit import models` names a module; `from labkit.models import load` names a function in one
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in paths else base for alias in node.names]
            else:
                continue
            graph[name].update(target for target in targets if target in paths and target != name)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first == last), or None (depth-first search, three colours)."""
    state: dict[str, int] = {}  # missing: unvisited, 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        state[node] = 2
        path.pop()
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_the_graph_reader_sees_lazy_imports_and_cycles(tmp_path):
    package = tmp_path / "labkit"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("import os\nfrom labkit import b\n")
    (package / "b.py").write_text("def f():\n    from labkit.sub.c import g\n")
    (package / "sub" / "__init__.py").write_text("from .c import g\n")
    (package / "sub" / "c.py").write_text("def g():\n    from ..a import x\n")
    graph = import_graph(package)
    assert graph == {"labkit": set(), "labkit.a": {"labkit.b"}, "labkit.b": {"labkit.sub.c"},
                     "labkit.sub": {"labkit.sub.c"}, "labkit.sub.c": {"labkit.a"}}
    assert find_cycle(graph) == ["labkit.a", "labkit.b", "labkit.sub.c", "labkit.a"]
    (package / "sub" / "c.py").write_text("def g():\n    pass\n")
    assert find_cycle(import_graph(package)) is None


def test_no_import_cycles_in_labkit():
    graph = import_graph()
    assert {"labkit.cli", "labkit.evaluate", "labkit.models"} <= set(graph)  # the reader found the package
    assert "labkit.evaluate" in graph["labkit.cli"]  # imports inside functions are edges too
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_help_imports_no_heavy_library():
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "labkit", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "COMMAND" in result.stdout
    imported = {line.split("|")[-1].strip().split(".")[0] for line in result.stderr.splitlines() if line.startswith("import time:")}
    assert "labkit" in imported and "argparse" in imported  # the import log was read
    assert imported.isdisjoint({"torch", "numpy", "pandas", "soundfile"}), sorted(imported & {"torch", "numpy", "pandas", "soundfile"})
