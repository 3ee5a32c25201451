"""The package's layers, read from its source with ``ast`` (module-level and function-level imports alike): no two
modules import each other, even through others, and every import points down (DESIGN.md):

    foundations (errors, fileio, names, settings_base) <- physics and ML (structures, ann, md, engines, analysis,
    active_learning, validation) <- inputs and documents (study, schemas, db, report) <- jobs <- fireworks and
    builders (orchestration) <- cli
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: lowest first; a module may import its own layer and the layers below it
LAYERS = (
    ("dopant_workflows", "_version", "errors", "fileio", "names", "settings_base"),
    ("structures", "ann", "md", "engines", "analysis", "active_learning", "validation"),
    ("study", "schemas", "db", "report"),
    ("jobs",),
    ("fireworks", "builders"),
    ("cli",),
)
RANK = {part: rank for rank, parts in enumerate(LAYERS) for part in parts}


def _modules() -> dict[str, Path]:
    """Dotted name -> file of every module of ``dopant_workflows`` and ``builders``."""
    modules = {}
    for package in ("dopant_workflows", "builders"):
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The module of ours that ``name`` (a module, or a name in a module) is, or lies in."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str) -> set[str]:
    """Our modules that ``module`` imports anywhere in its source (``from package import module`` counts as the
    module, ``from module import name`` as the module)."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {_resolve(alias.name) for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package, up level - 1
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            found |= {_resolve(f"{base}.{alias.name}") for alias in node.names}
    return found - {None, module}


GRAPH = {module: _imports(module) for module in MODULES}


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[0] if parts[0] == "builders" else (parts[1] if len(parts) > 1 else parts[0])


def test_every_module_has_a_layer():
    assert {m for m in MODULES if _layer(m) not in RANK} == set()


def test_no_import_cycles():
    """Tarjan's strongly connected components: every component is a single module."""
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in GRAPH[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(GRAPH):
        if node not in index:
            visit(node)
    assert cycles == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_down(module):
    upward = sorted(dep for dep in GRAPH[module] if RANK[_layer(dep)] > RANK[_layer(module)])
    assert upward == [], f"{module} imports from a higher layer"


def test_the_checks_see_imports():
    """The graph is read right: known edges, relative imports and function-level imports are found."""
    assert "dopant_workflows.fireworks.task_helpers" in GRAPH["dopant_workflows.fireworks.study_tasks"]
    assert "dopant_workflows.fireworks.vasp_tasks" in GRAPH["dopant_workflows.fireworks.study_tasks"]
    assert "dopant_workflows.fireworks.study_tasks" not in GRAPH["dopant_workflows.fireworks.vasp_tasks"]
    assert "builders" in GRAPH["dopant_workflows.fireworks.runner"]  # imported inside a function
    assert "dopant_workflows.jobs.training" in GRAPH["dopant_workflows.jobs.active_learning"]  # inside a function


def test_fireworks_config_does_not_import_fireworks_at_import_time():
    """use_fw_config must run before FireWorks is imported (FireWorks reads its configuration then)."""
    tree = ast.parse(MODULES["dopant_workflows.fireworks.config"].read_text(encoding="utf-8"))
    top_level = [alias.name for node in tree.body if isinstance(node, ast.Import) for alias in node.names]
    top_level += [node.module for node in tree.body if isinstance(node, ast.ImportFrom) and node.module]
    assert [name for name in top_level if name.split(".")[0] == "fireworks"] == []
