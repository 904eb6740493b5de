"""The engine seam holds: no import circles in storage, engines and domain kept apart."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

STORAGE = Path(__file__).resolve().parent.parent / "storage"
# What both sides may use: errors, the interfaces, time helpers, the rollup layout, the
# older runtime's formats. AsyncDatabase (database.py) joins an engine to the domain.
SHARED = {"storage", "storage.errors", "storage.interfaces", "storage.timeutil",
          "storage.layout", "storage.secretbox"}
JOINER = "storage.database"


def module_name(path: Path) -> str:
    parts = path.relative_to(STORAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every storage module `path` imports, at any depth (TYPE_CHECKING ones included)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            candidates = [target] + [f"{target}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            candidates = [a.name for a in node.names]
        else:
            continue
        found.update(c for c in candidates if c in MODULES)
    found.discard(name)
    return found


MODULES = {module_name(p): p for p in STORAGE.rglob("*.py")}
GRAPH = {name: imports_of(path) for name, path in MODULES.items()}


def is_engine(name: str) -> bool:
    return name.startswith(("storage.sqlite", "storage.postgres"))


def is_legacy(name: str) -> bool:
    return name == "storage.legacy" or name.startswith("storage.legacy.")


def is_domain(name: str) -> bool:
    return not (is_engine(name) or is_legacy(name) or name in SHARED or name == JOINER)


def test_no_storage_module_imports_another_in_a_circle() -> None:
    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in GRAPH[start] - seen:
            if nxt == goal or reaches(nxt, goal, seen | {nxt}):
                return True
        return False

    # The package __init__ re-exports: it imports modules, no module needs it.
    circles = [n for n in GRAPH if n != "storage" and reaches(n, n, {"storage"})]
    assert circles == []


@pytest.mark.parametrize("name", sorted(n for n in MODULES if is_engine(n)))
def test_engine_module_imports_no_domain_module(name: str) -> None:
    assert [m for m in GRAPH[name] if is_domain(m) or m == JOINER] == []


@pytest.mark.parametrize("name", sorted(n for n in MODULES if is_domain(n)))
def test_domain_module_imports_no_engine(name: str) -> None:
    assert [m for m in GRAPH[name] if is_engine(m) or m == JOINER] == []


@pytest.mark.parametrize("name", sorted(n for n in MODULES if is_legacy(n)))
def test_legacy_formats_import_neither_side(name: str) -> None:
    assert [m for m in GRAPH[name] if is_engine(m) or is_domain(m) or m == JOINER] == []
