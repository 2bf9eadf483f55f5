"""The package boundaries: imports point one way, nothing circles, the static path stays light.

The import graph is read from the source with :mod:`ast` (imports inside
functions count), so a lazy import cannot hide a cycle or a backwards edge.
A subprocess then runs the static commands and lists what they loaded.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "netspec"

# The pipeline's stages, earliest first. A module may import modules of its own
# stage or earlier ones, never later ones. The first matching prefix wins.
STAGES: list[tuple[str, ...]] = [
    ("netspec.version", "netspec.diagnostics", "netspec.allocator"),  # allocator: stdlib only, run first
    ("netspec.ir", "netspec.ops"),
    ("netspec.spec",),
    ("netspec.resolve",),  # knows no shapes: infer settles `shortcut: auto` (netspec.infer.shortcuts)
    ("netspec.infer",),
    ("netspec.pipeline",),
    ("netspec.report", "netspec.emit"),
    ("netspec.diagram",),  # the documented deep path, a re-export of netspec.report.diagram
    ("netspec.data",),
    # pretrained weights files read and matched (NumPy, h5py, safetensors; no JAX); loading them
    # into a model is netspec.train.pretrained
    ("netspec.weights",),
    ("netspec.builder",),
    ("netspec.train",),
    ("netspec.interpret", "netspec.explain", "netspec.visualize"),
    ("netspec.cli",),
    ("netspec", "netspec.__main__"),  # the public API facade
]

# What the static path (check, summary, schema, graph, export) may load: these
# modules, and everything they import at module level, load no JAX, no NumPy and
# no netspec.train.
STATIC = ("netspec", "netspec.pipeline", "netspec.spec", "netspec.resolve", "netspec.infer", "netspec.report",
          "netspec.emit", "netspec.diagram", "netspec.cli")
HEAVY = ("jax", "jaxlib", "flax", "optax", "orbax", "numpy")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def stage(module: str) -> int:
    best = None
    for index, prefixes in enumerate(STAGES):
        for prefix in prefixes:
            matches = module == prefix or module.startswith(prefix + ".")
            if matches and (best is None or len(prefix) > best[1]):
                best = (index, len(prefix))
    assert best is not None, f"{module} belongs to no stage; add it to STAGES"
    return best[0]


def imports(module: str, *, top_level_only: bool = False) -> list[tuple[str, int]]:
    """(imported module, line) for every import in ``module``; ``from a import b`` counts as ``a.b``
    when ``a.b`` is a module, else as ``a``."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    # module level: the statements of the body (an ``if TYPE_CHECKING:`` block does not run)
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found = []
    for node in nodes:
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.append((candidate if candidate in MODULES else base, node.lineno))
    return found


def internal_edges(*, top_level_only: bool = False) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module in MODULES:
        graph[module] = {name for name, _ in imports(module, top_level_only=top_level_only)
                         if name in MODULES and name != module}
    return graph


def test_every_module_belongs_to_a_stage():
    for module in MODULES:
        stage(module)


def test_imports_point_from_later_stages_to_earlier_ones():
    backwards = []
    for module in MODULES:
        for name, line in imports(module):
            if name in MODULES and stage(name) > stage(module) and not module.startswith(name + "."):
                backwards.append(f"{MODULES[module].relative_to(ROOT)}:{line} imports {name}")
    assert not backwards, "\n".join(backwards)


def test_no_import_cycles_counting_imports_inside_functions():
    graph = internal_edges()
    # A package's __init__ is imported before any of its modules; an edge to a
    # parent package (``netspec.a.b`` -> ``netspec.a``) is that, not a cycle.
    for module, targets in graph.items():
        graph[module] = {t for t in targets if not module.startswith(t + ".")}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        stack.append(module)
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                cycle = stack[stack.index(target):] + [target]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target)
        stack.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)


def test_static_modules_import_nothing_heavy_at_module_level():
    graph = internal_edges(top_level_only=True)
    static = [m for m in MODULES if any(m == s or (s != "netspec" and m.startswith(s + ".")) for s in STATIC)]
    problems = []
    for module in static:
        seen, todo = set(), [module]
        while todo:
            current = todo.pop()
            if current in seen:
                continue
            seen.add(current)
            for name, line in imports(current, top_level_only=True):
                if name.split(".")[0] in HEAVY or name == "netspec.train" or name.startswith("netspec.train."):
                    problems.append(f"{module} loads {name} (via {MODULES[current].relative_to(ROOT)}:{line})")
            todo += graph[current]
    assert not problems, "\n".join(sorted(set(problems)))


def test_the_graph_reader_sees_lazy_imports():
    # the check above is only as good as the reader: a function-level import must show up
    assert any(name == "netspec.builder" for name, _ in imports("netspec"))
    assert not any(n == "netspec.builder" for n, _ in imports("netspec", top_level_only=True))


STATIC_PROBE = """
import sys
from netspec.cli import build_parser, main
build_parser()
codes = [main(["check", "specs/resnet152.yaml", "-q"]), main(["summary", "specs/googlenet.yaml"]),
         main(["schema"]), main(["graph", "specs/resnet18.yaml", "-o", sys.argv[1]])]
import netspec, netspec.spec.train, netspec.emit.program, netspec.cli.options, netspec.cli.commands.export
netspec.summary(netspec.load("specs/resnet50.yaml"))
heavy = sorted(m for m in sys.modules if m.split(".")[0] in {heavy!r} or m.startswith("netspec.train"))
print("CODES", codes, "HEAVY", heavy, file=sys.stderr)
assert codes == [0, 0, 0, 0] and not heavy
""".replace("{heavy!r}", repr(HEAVY))


def test_static_commands_load_no_jax_numpy_or_training_code(tmp_path):
    result = subprocess.run([sys.executable, "-c", STATIC_PROBE, str(tmp_path / "net.svg")], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "net.svg").stat().st_size > 10_000


def test_data_and_standardizer_load_no_jax():
    code = ("import sys, netspec.data, netspec.data.standardize\n"
            "assert not [m for m in sys.modules if m.split('.')[0] in ('jax', 'flax', 'optax')]\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
