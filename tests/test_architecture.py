"""Package boundaries (DESIGN.md, layout): every module's imports, function-level ones included,
point down the stack, and no module imports itself back through a cycle.

    morphax._core  <-  physics  <-  geometry  <-  fabrication
                           ^           ^
                           +-- learners (never fabrication, never the CLI)
    morphax (CLI, bench, tutorials) may use everything; nothing uses them.
"""

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
FOLDERS = {"morphax": "morphax", "physics": "morphax.physics", "geometry": "morphax.geometry",
           "fabrication": "morphax.fabrication", "learners": "morphax.learners",
           "tutorials": "morphax.tutorials"}
CORE = "morphax._core"

#: layer -> the morphax layers its modules may import (besides themselves).
ALLOWED = {
    CORE: set(),
    "morphax.physics": {CORE},
    "morphax.geometry": {CORE, "morphax.physics"},
    "morphax.fabrication": {CORE, "morphax.physics", "morphax.geometry"},
    "morphax.learners": {CORE, "morphax.physics", "morphax.geometry"},
}


def _modules() -> dict[str, pathlib.Path]:
    found = {}
    for folder, dotted in FOLDERS.items():
        for path in (ROOT / folder).rglob("*.py"):
            parts = path.relative_to(ROOT / folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join((dotted, *parts))] = path
    return found


MODULES = _modules()


def _imports(name: str, path: pathlib.Path) -> set[str]:
    """The morphax modules `name` imports anywhere in its body (absolute dotted names)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            subs = {f"{base}.{a.name}" for a in node.names} & set(MODULES)
            out.update(subs)
            if len(subs) < len(node.names):      # some names come from base itself
                out.add(base)
    return {m for m in out if m == "morphax" or m.startswith("morphax.")}


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _layer(module: str) -> str | None:
    for layer in sorted(ALLOWED, key=len, reverse=True):
        if module == layer or module.startswith(layer + "."):
            return layer
    return None


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _layer(m)))
def test_imports_point_down_the_stack(module):
    layer = _layer(module)
    bad = sorted(dep for dep in GRAPH[module]
                 if _layer(dep) != layer and _layer(dep) not in ALLOWED[layer])
    assert not bad, f"{module} ({layer}) imports {bad}; allowed: {sorted(ALLOWED[layer])}"


def test_learners_never_import_fabrication_or_the_cli():
    for module, deps in GRAPH.items():
        if module.startswith("morphax.learners"):
            bad = [d for d in deps if d.startswith("morphax.fabrication") or d == "morphax.cli"
                   or d.startswith("morphax._cmd_") or d.startswith("morphax.bench")]
            assert not bad, (module, bad)


def test_no_import_cycles():
    """Depth-first search for a back edge in the module graph (package __init__ files count as
    modules, so importing your own package's __init__ from a submodule it imports is a cycle)."""
    state, stack = {}, []

    def visit(module):
        state[module] = "open"
        stack.append(module)
        for dep in sorted(GRAPH.get(module, ())):
            if dep not in MODULES:
                continue
            if state.get(dep) == "open":
                cycle = stack[stack.index(dep):] + [dep]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if dep not in state:
                visit(dep)
        stack.pop()
        state[module] = "done"

    for module in sorted(MODULES):
        if module not in state:
            visit(module)


def test_the_graph_sees_function_level_and_relative_imports():
    """The reader itself: a relative import and an import inside a function are both found."""
    assert "morphax.physics._mesh" in GRAPH["morphax.physics._problem"]
    assert "morphax.geometry" in GRAPH["morphax.fabrication._formats"] or \
        "morphax.geometry" in GRAPH["morphax.fabrication._export"]
