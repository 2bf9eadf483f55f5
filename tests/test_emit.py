"""The emitter's text: one rule per op, readable structure, shared block classes.

These tests build IR graphs by hand (they do not depend on the YAML front
end) and look at the emitted source; whether the source computes the right
thing is tests/test_build.py's and tests/test_numerics.py's business.
"""

from __future__ import annotations

import ast
import doctest
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from netspec.diagnostics import NetspecError
from netspec.emit import classes as emit_classes
from netspec.emit import layers as emit_layers
from netspec.emit.layers import EMIT_RULES, INITIALIZERS
from netspec.emit.program import assignment_lines, emit_program, emit_source
from netspec.infer.rules import infer
from netspec.ir import (
    Activation,
    ActivationAttrs,
    AddAttrs,
    BatchNormAttrs,
    ConcatAttrs,
    ConvAttrs,
    DenseAttrs,
    FlattenAttrs,
    GlobalPoolAttrs,
    Graph,
    InputAttrs,
    Node,
    PoolAttrs,
    Scope,
)
from netspec.ops import OPS

GOLDEN = Path(__file__).parent / "golden" / "emit"
RELU = Activation("relu")


# --- hand-built graphs ------------------------------------------------------------------------


def conv(filters, size, stride=1, padding="valid", *, bias=True, activation=None):
    return ConvAttrs(filters, (size, size), (stride, stride), padding, (1, 1), use_bias=bias,
                     activation=activation)


def bottleneck(name: str, source: str, filters: int, stride: int, project: bool) -> list[Node]:
    """A ResNet bottleneck expanded the way resolve expands a template instance."""
    template = Scope(name, "template", template="bottleneck", params=(("K", filters), ("S", stride)))
    residual = Scope("residual", "residual")
    body, shortcut = Scope("body", "body"), Scope("shortcut", "shortcut")
    prefix = f"{name}/residual"
    nodes, last = [], source
    layers = [("conv_1", "conv", conv(filters, 1, stride, bias=False)),
              ("batchnorm_1", "batchnorm", BatchNormAttrs()),
              ("relu_1", "activation", ActivationAttrs(RELU)),
              ("conv_2", "conv", conv(filters, 3, 1, "same", bias=False)),
              ("batchnorm_2", "batchnorm", BatchNormAttrs()),
              ("conv_3", "conv", conv(4 * filters, 1, bias=False)),
              ("batchnorm_3", "batchnorm", BatchNormAttrs())]
    for local, op, attrs in layers:
        nodes.append(Node(f"{prefix}/body/{local}", op, attrs, (last,), scope=(template, residual, body)))
        last = nodes[-1].name
    merged_with = source
    if project:
        nodes.append(Node(f"{prefix}/shortcut/conv", "conv", conv(4 * filters, 1, stride, bias=False),
                          (source,), scope=(template, residual, shortcut)))
        nodes.append(Node(f"{prefix}/shortcut/batchnorm", "batchnorm", BatchNormAttrs(),
                          (nodes[-1].name,), scope=(template, residual, shortcut)))
        merged_with = nodes[-1].name
    nodes.append(Node(f"{prefix}/add", "add", AddAttrs(), (last, merged_with), scope=(template, residual)))
    nodes.append(Node(f"{prefix}/relu", "activation", ActivationAttrs(RELU), (nodes[-1].name,),
                      scope=(template, residual)))
    return nodes


def tiny_resnet() -> Graph:
    nodes = [Node("input", "input", InputAttrs((16, 16, 3)), ()),
             Node("stem", "conv", conv(16, 3, 1, "same", activation=RELU), ("input",))]
    source, channels = "stem", 16
    for index, (filters, stride) in enumerate([(8, 1), (8, 1), (16, 2), (16, 1), (16, 1)], start=1):
        nodes += bottleneck(f"bottleneck_{index}", source, filters, stride, stride != 1 or channels != 4 * filters)
        source, channels = nodes[-1].name, 4 * filters
    nodes += [Node("pool", "global_pool", GlobalPoolAttrs(), (source,)),
              Node("predictions", "dense", DenseAttrs(10, activation=Activation("softmax")), ("pool",))]
    return Graph("tiny-resnet", (16, 16, 3), tuple(nodes), "predictions")


def forked() -> Graph:
    """A DAG outside any block: one map feeds two branches that are concatenated."""
    nodes = [Node("input", "input", InputAttrs((8, 8, 3)), ()),
             Node("conv1", "conv", conv(4, 3, padding="same"), ("input",)),
             Node("left", "conv", conv(2, 1), ("conv1",)),
             Node("right", "pool", PoolAttrs("max", (3, 3), (1, 1), "same"), ("conv1",)),
             Node("joined", "concat", ConcatAttrs(), ("left", "right")),
             Node("flatten", "flatten", FlattenAttrs(), ("joined",)),
             Node("out", "dense", DenseAttrs(3), ("flatten",))]
    return Graph("forked", (8, 8, 3), tuple(nodes), "out")


def emitted(graph: Graph) -> str:
    return emit_source(graph, infer(graph))


def method(tree: ast.Module, class_name: str, name: str) -> ast.FunctionDef:
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == class_name)
    return next(n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == name)


# --- rule tables ------------------------------------------------------------------------------


def test_every_op_has_an_emit_rule():
    assert set(EMIT_RULES) == set(OPS)


def test_every_initializer_the_schema_accepts_can_be_emitted():
    from netspec.spec.values import INITIALIZERS as ACCEPTED

    assert set(ACCEPTED) <= set(INITIALIZERS)


def test_attribute_names_never_shadow_nnx_module_members():
    nnx = pytest.importorskip("flax.nnx")
    public = {name for name in dir(nnx.Module) if not name.startswith("_")}
    assert public <= emit_classes.MODULE_MEMBERS
    assert emit_classes.identifier("train", emit_classes.MODULE_MEMBERS) == "layer_train"


@pytest.mark.parametrize("module", [emit_classes, emit_layers])
def test_doctests(module):
    assert doctest.testmod(module).failed == 0


def test_activation_defaults_follow_keras():
    call = emit_layers.activation_call
    assert call(Activation("leaky_relu"), "x") == "nnx.leaky_relu(x, negative_slope=0.3)"
    assert call(Activation("elu", 0.5), "x") == "nnx.elu(x, alpha=0.5)"
    assert call(Activation("gelu"), "x") == "nnx.gelu(x, approximate=False)"
    assert call(Activation("softmax"), "x") == "nnx.softmax(x, axis=-1)"
    assert call(Activation("linear"), "x") == "x"


def test_long_assignments_wrap_at_argument_boundaries():
    call = "nnx.Conv(" + ", ".join(f"argument_{i}=(1, 2)" for i in range(12)) + ")"
    lines = assignment_lines("        ", "self.conv", call)
    assert len(lines) > 2 and all(len(line) <= 110 for line in lines)
    wrapped = ast.parse("\n".join(line[8:] for line in lines))
    assert ast.dump(wrapped) == ast.dump(ast.parse(f"self.conv = {call}"))


# --- the emitted module -------------------------------------------------------------------------


def test_emitted_module_is_standalone_python():
    source = emitted(tiny_resnet())
    tree = ast.parse(source)
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported <= {"jax", "jax.numpy", "flax", "numpy"}
    assert "eval(" not in source.replace("model.eval()", "") and "exec(" not in source


def test_network_class_is_named_after_the_network_and_takes_keyword_rngs():
    tree = ast.parse(emitted(tiny_resnet()))
    init = method(tree, "TinyResnet", "__init__")
    assert [a.arg for a in init.args.kwonlyargs] == ["rngs"] and len(init.args.args) == 1


def test_repeated_template_instances_share_classes_with_constructor_arguments():
    source = emitted(tiny_resnet())
    classes = [line for line in source.splitlines() if line.startswith("class ")]
    # projection bottlenecks (1 and 3) and identity bottlenecks (2, 4, 5): two classes
    assert classes == ["class Bottleneck(nnx.Module):", "class Bottleneck2(nnx.Module):",
                       "class TinyResnet(nnx.Module):"]
    assert "def __init__(self, in_features: int, k: int, s: int, *, rngs: nnx.Rngs):" in source
    assert "self.bottleneck_3 = Bottleneck(in_features=32, k=16, s=2, rngs=rngs)" in source
    assert "self.bottleneck_5 = Bottleneck2(in_features=64, k=16, rngs=rngs)" in source
    assert "nnx.Conv(\n            k, 4 * k," in source or "nnx.Conv(k, 4 * k," in source
    assert "strides=(s, s)" in source and "strides=(1, 1)" not in source  # stride 1 is left out
    assert source.count("nnx.BatchNorm(") == 7  # written once per class, not per instance


def test_call_is_straight_line_and_comments_every_output_shape():
    graph = tiny_resnet()
    analysis = infer(graph)
    tree = ast.parse(emit_source(graph, analysis))
    call = method(tree, "TinyResnet", "__call__")
    assert all(isinstance(statement, (ast.Assign, ast.Return)) for statement in call.body)
    lines = emit_source(graph, analysis).splitlines()
    body = lines[call.lineno:call.end_lineno]
    assert "# x: (batch, 16, 16, 3)" in body[0]
    assert body[1].endswith("# (batch, 16, 16, 16)")
    assert body[-2].strip() == "x = nnx.softmax(self.predictions(x), axis=-1)  # (batch, 10)"
    shapes = [line.rsplit("# ", 1)[1] for line in body[1:-1]]
    assert "(batch, 8, 8, 64)" in shapes  # after the stride-2 bottleneck


def test_residual_merge_reads_as_named_values():
    source = emitted(tiny_resnet())
    assert "shortcut = self.shortcut_conv(x)" in source
    assert "x = body + shortcut" in source
    assert "x = body + x" in source  # identity shortcut


def test_forked_graph_names_the_branches():
    source = emitted(forked())
    assert "x = self.conv1(x)" in source
    assert "left = self.left(x)" in source
    assert "right = nnx.max_pool(x, " in source
    assert "x = jnp.concatenate([left, right], axis=-1)" in source


def test_capture_map_covers_every_node():
    graph = tiny_resnet()
    program = emit_program(graph, infer(graph))
    assert set(program.captures) == {node.name for node in graph.nodes}
    assert program.captures["bottleneck_3/residual/shortcut/conv"] == (("bottleneck_3",), "shortcut/conv")
    assert program.modules["bottleneck_3/residual/shortcut/conv"] == ("bottleneck_3", "shortcut_conv")
    assert "predictions" in program.modules and "pool" not in program.modules


def test_graph_with_errors_is_refused():
    nodes = (Node("input", "input", InputAttrs((4, 4, 1)), ()),
             Node("conv", "conv", conv(2, 5), ("input",)))
    with pytest.raises(NetspecError) as caught:
        emitted(Graph("broken", (4, 4, 1), nodes, "conv"))
    assert caught.value.errors


def test_emitted_source_passes_ruff(tmp_path):
    """The hand-built graphs and every spec of the zoo and the examples emit lint-clean code."""
    from netspec.pipeline import analysis_of, load

    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if not Path(ruff).exists():
        pytest.skip("ruff is not installed")
    (tmp_path / "tiny_resnet.py").write_text(emitted(tiny_resnet()))
    (tmp_path / "forked.py").write_text(emitted(forked()))
    root = Path(__file__).resolve().parent.parent
    for spec in [*root.glob("specs/*.yaml"), *root.glob("examples/*.yaml")]:
        graph = load(spec)
        (tmp_path / f"{spec.parent.name}_{spec.stem}.py").write_text(emit_source(graph, analysis_of(graph)))
    result = subprocess.run([ruff, "check", "--isolated", "--select", "E,F,W", "--line-length", "110",
                             str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_golden_source():
    """The whole emitted file for the hand-built ResNet; NETSPEC_UPDATE_GOLDEN=1 rewrites it."""
    source = emitted(tiny_resnet())
    golden = GOLDEN / "tiny_resnet.py"
    if os.environ.get("NETSPEC_UPDATE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(source)
    assert source == golden.read_text()
