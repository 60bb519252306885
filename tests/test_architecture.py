"""The package's layers, checked from the source: imports point one way only, with no cycles.

    core → models → sources → objectives → optim → train → estimators → io → viz → apps

A module may import from its own layer or the layers before it, never after.  Every
import counts, including those inside functions: a lazy import keeps a heavy library
(matplotlib, pyarrow) off ``import neuronlab``'s path, never a cycle out of sight.
``neuronlab/__init__.py`` and ``__main__.py`` are the façade on top of every layer.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "neuronlab"
LAYERS = ("core", "models", "sources", "objectives", "optim", "train", "estimators", "io", "viz", "apps")
#: top-level modules that belong to a layer
TOP_LEVEL = {"_version": "core"}
FACADE = {"neuronlab", "neuronlab.__main__"}


def module_name(path: Path) -> str:
    parts = ("neuronlab",) + path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


def layer_of(module: str) -> int:
    parts = module.split(".")
    if len(parts) == 1 or module in FACADE:
        return len(LAYERS)
    name = TOP_LEVEL.get(parts[1], parts[1])
    assert name in LAYERS, f"{module} is in no layer: put it in one of {LAYERS}"
    return LAYERS.index(name)


def imports_of(module: str, path: Path, known: set[str]) -> set[str]:
    """The neuronlab modules ``module`` imports, anywhere in its body."""
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                base = ".".join(base + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            # "from pkg import name" imports the module pkg.name when there is one
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        found.update(n for n in names if n == "neuronlab" or n.startswith("neuronlab."))
    return found - {module}


def import_graph() -> dict[str, set[str]]:
    known = modules()
    return {m: imports_of(m, p, set(known)) for m, p in known.items()}


def test_every_module_is_in_a_layer():
    for module in modules():
        layer_of(module)


def test_imports_point_down_the_layers():
    wrong = [
        f"{m} ({LAYERS[layer_of(m)]}) imports {t} ({LAYERS[layer_of(t)]})"
        for m, targets in import_graph().items() if m not in FACADE
        for t in targets if layer_of(t) > layer_of(m)
    ]
    assert not wrong, "imports against the layers:\n" + "\n".join(sorted(wrong))


def test_no_module_imports_the_facade():
    wrong = [m for m, targets in import_graph().items() if m not in FACADE and "neuronlab" in targets]
    assert not wrong, f"these import the package façade instead of the module they need: {wrong}"


def test_there_are_no_import_cycles():
    graph = import_graph()
    # a subpackage's __init__ is imported on the way to its modules: count it as a module
    state: dict[str, int] = {}
    cycles = []

    def visit(node, stack):
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                cycles.append(stack[stack.index(target):] + [target])
            elif target not in state:
                visit(target, stack)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    assert not cycles, "import cycles:\n" + "\n".join(" → ".join(c) for c in cycles)


def test_the_checker_sees_a_violation():
    """The checks above are not vacuous: a core module importing train is caught."""
    fake = {"neuronlab.core.fake": {"neuronlab.train.history"}}
    assert any(layer_of(t) > layer_of(m) for m, ts in fake.items() for t in ts)
    graph = import_graph()
    assert "neuronlab.core.activations" in graph["neuronlab.core.losses"]
    assert "neuronlab.models.kernel" in graph["neuronlab.objectives.base"] | graph.get(
        "neuronlab.objectives.neuron", set())


def test_only_the_neuron_model_and_its_kernel_index_theta_by_position():
    """θ's layout belongs to the model: no other module slices off w or b by position."""
    pattern = re.compile(r"theta\[:-1\]|theta\[-1\]")
    allowed = {"neuronlab.models.neuron", "neuronlab.models.kernel", "neuronlab.models._kernel_numba"}
    hits = [f"{m}: {line.strip()}" for m, p in modules().items() if m not in allowed
            for line in p.read_text().splitlines() if pattern.search(line)]
    assert not hits, "θ indexed by position outside the neuron model:\n" + "\n".join(hits)
