"""The package's shape, kept: small modules and classes, imports that flow one way, and
each provider's quirks in its one dialect module (docs/architecture.md draws it)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "vital_connect"
MAX_MODULE_LINES = 450
MAX_CLASS_LINES = 350
PROVIDERS = ("vitalera", "vidaplus", "vitaldb")
# Modules where a provider may be named in code: its dialect, the registry, the VitalDB
# dataset feature, and the places that show or demonstrate the providers to people.
MAY_NAME_PROVIDERS = {
    "_providers", "_dataset", "_cohort", "_dataset_cache", "_demo", "cli", "_i18n",
}  # fmt: skip


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """Package modules ``name`` imports anywhere (deferred imports inside functions count;
    ``if TYPE_CHECKING:`` blocks, which never run, do not)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            for alias in node.names:
                full = f"{target}.{alias.name}"
                found.add(full if full in known else target)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "import_module":
            if node.args and isinstance(node.args[0], ast.Constant):
                arg = str(node.args[0].value)
                found.add(package + arg if arg.startswith(".") else arg)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return {m for m in found if m in known and m != name}


def test_no_module_is_too_long():
    long = {n: len(p.read_text().splitlines()) for n, p in modules().items()}
    assert {n: lines for n, lines in long.items() if lines > MAX_MODULE_LINES} == {}


def test_no_class_is_too_long():
    big = {}
    for name, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                size = node.end_lineno - node.lineno + 1
                if size > MAX_CLASS_LINES:
                    big[f"{name}.{node.name}"] = size
    assert big == {}


def test_no_import_cycle_deferred_imports_included():
    found = modules()
    known = set(found)
    graph = {name: imports_of(name, path, known) for name, path in found.items()}
    # a package imports its submodules by design; a cycle through __init__ is not one
    packages = {n for n, p in found.items() if p.name == "__init__.py"}
    for name in graph:
        graph[name] -= {p for p in packages if name.startswith(p + ".")}
    cycles = []
    state: dict[str, int] = {}

    def walk(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*trail[trail.index(nxt) :], nxt])
            elif nxt not in state:
                walk(nxt, [*trail, nxt])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            walk(start, [start])
    assert cycles == []


def test_the_cycle_finder_finds_a_cycle(tmp_path):
    # the check above must be able to fail: two modules importing each other, lazily
    (tmp_path / "a.py").write_text("def f():\n    from . import b\n")
    (tmp_path / "b.py").write_text("from .a import f\n")
    known = {"pkg.a", "pkg.b"}
    assert imports_of("pkg.a", tmp_path / "a.py", known) == {"pkg.b"}
    assert imports_of("pkg.b", tmp_path / "b.py", known) == {"pkg.a"}


def _code_words(path: Path) -> set[str]:
    """Names and string constants in code (docstrings and comments left out)."""
    tree = ast.parse(path.read_text())
    docstrings = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            value = body[0].value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                docstrings.add(id(value))
    words = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) not in docstrings:
                words.add(node.value.lower())
        elif isinstance(node, ast.Name):
            words.add(node.id.lower())
        elif isinstance(node, ast.Attribute):
            words.add(node.attr.lower())
    return words


@pytest.mark.parametrize(
    "name",
    [
        n
        for n in modules()
        if n.startswith("vital_connect._") and n.split(".")[-1] not in MAY_NAME_PROVIDERS
    ],
)
def test_provider_quirks_live_in_their_dialect_module(name):
    words = _code_words(modules()[name])
    named = sorted(w for w in words for p in PROVIDERS if p in w)
    assert named == [], f"{name} names a provider in its code: move it to its dialect"
