"""The package layout is enforced: layers point down (import-linter) and no module imports
itself back through others, type-checking imports included."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def _cycles(graph: grimp.ImportGraph, modules: set[str]) -> list[list[str]]:
    """Every module that can reach itself, with one such path (DFS over direct imports)."""
    found = []
    for start in sorted(modules):
        stack = [(start, [start])]
        seen = set()
        while stack:
            node, path = stack.pop()
            for nxt in graph.find_modules_directly_imported_by(node):
                if nxt == start:
                    found.append(path + [start])
                    stack.clear()
                    break
                if nxt in modules and nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, path + [nxt]))
    return found


def test_no_import_cycles() -> None:
    sys.path.insert(0, str(ROOT))
    graph = grimp.build_graph("bot", "intents", cache_dir=None)
    # A package's __init__ is its own module; bot/__init__ (create_app) imports the runtime,
    # which is the composition root, so only modules below it are checked against each other.
    modules = {m for m in graph.modules if m not in {"bot", "intents"}}
    assert _cycles(graph, modules) == []


def test_cycle_check_sees_a_cycle(tmp_path: Path) -> None:
    pkg = tmp_path / "loopy"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                              "    from loopy import b\n")
    (pkg / "b.py").write_text("from loopy import a\n")
    sys.path.insert(0, str(tmp_path))
    try:
        graph = grimp.build_graph("loopy", cache_dir=None)
    finally:
        sys.path.remove(str(tmp_path))
    assert _cycles(graph, {"loopy.a", "loopy.b"}) != []
