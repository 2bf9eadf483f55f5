"""Lowering choices (netspec.emit.lowering): every lowering computes what lax computes.

The same spec is built twice with the same seed, once with ``lowering="lax"``
and once with ``"im2col"`` (every conv by slices + matmul), ``"im2col-grad"``
(XLA's conv, the kernel gradient by im2col) or ``"shifts"`` (the forward pass
as shifted multiply-adds, gradients as im2col-grad's), all with every
non-overlapping pool by strided slices; the parameters must have the same tree and
values (checkpoints and imported weights stay valid), and the outputs and the
gradients with respect to the parameters and the input must agree within
float tolerance — over Hypothesis' random specs and over hand-picked layers
the generator does not draw (3-D, grouped, strided and dilated convs).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_random_specs import spec_texts

import netspec
from netspec.emit.lowering import (
    CONV_BY_SHIFTS,
    CONV_BY_SLICES,
    CONV_IM2COL_GRAD,
    MAX_SHIFT_TERMS,
    POOL_BY_SLICES,
    RULES,
    Lowering,
    choose,
)
from netspec.emit.program import emit_source
from netspec.pipeline import analysis_of, load

TOLERANCE = {"rtol": 2e-4, "atol": 2e-5}


def outputs_and_gradients(model, x, probe):
    """``model(x)`` and the gradients of ``sum(model(x) * probe)`` for params and input."""
    model.eval()  # no dropout draws, batchnorm on its running averages: deterministic
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)

    def loss(params, x):
        y = nnx.merge(graphdef, params, rest)(x)
        return jnp.sum(y * probe), y

    (_, y), grads = jax.value_and_grad(loss, argnums=(0, 1), has_aux=True)(params, x)
    return y, grads


def _as_numpy(leaf) -> np.ndarray:
    """A state leaf as numbers; dropout's RNG key (a typed key array) as its key data."""
    if jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key):
        leaf = jax.random.key_data(leaf)
    return np.asarray(leaf)


ALTERNATIVES = ("im2col", "im2col-grad", "shifts")


def assert_lowerings_agree(text: str, lowering: str, batch: int = 2) -> None:
    graph = load(text)
    reference = netspec.build(graph, seed=3, lowering="lax")
    lowered = netspec.build(graph, seed=3, lowering=lowering)
    reference_state, lowered_state = nnx.state(reference), nnx.state(lowered)
    assert jax.tree.structure(reference_state) == jax.tree.structure(lowered_state)
    for a, b in zip(jax.tree.leaves(reference_state), jax.tree.leaves(lowered_state)):
        np.testing.assert_array_equal(_as_numpy(a), _as_numpy(b))
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.standard_normal((batch, *graph.input_shape)), jnp.float32)
    output_shape = analysis_of(graph).output.output_shape
    probe = jnp.asarray(rng.standard_normal((batch, *output_shape)), jnp.float32)
    y_lax, grads_lax = outputs_and_gradients(reference, x, probe)
    y_low, grads_low = outputs_and_gradients(lowered, x, probe)
    np.testing.assert_allclose(np.asarray(y_low), np.asarray(y_lax), **TOLERANCE)
    for a, b in zip(jax.tree.leaves(grads_lax), jax.tree.leaves(grads_low)):
        scale = max(1.0, float(jnp.max(jnp.abs(a))))
        np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=2e-4, atol=2e-5 * scale)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec_texts(), st.sampled_from(ALTERNATIVES))
def test_random_specs_every_lowering_equals_lax(text, lowering):
    assert_lowerings_agree(text, lowering)


CONV_CASES = {
    "2d_strided_same": ("[9, 7, 3]", "{conv: {K: 4, F: 3, S: 2, P: same}}"),
    "2d_dilated_explicit": ("[10, 9, 2]", "{conv: {K: 3, F: [3, 2], D: [2, 1], P: [[1, 2], [0, 1]]}}"),
    "2d_grouped": ("[6, 6, 4]", "{conv: {K: 6, F: 3, P: same, groups: 2}}"),
    "2d_depthwise": ("[7, 7, 3]", "{depthwise_conv: {F: 3, S: 2, P: same, depth_multiplier: 2}}"),
    "1d_causal_dilated": ("[12, 2]", "{conv: {K: 3, F: 3, D: 2, P: causal}}"),
    "1d_strided_valid": ("[13, 2]", "{conv: {K: 3, F: 4, S: 3}}"),
    "3d_same": ("[5, 6, 4, 2]", "{conv: {K: 3, F: 3, P: same, bias: false}}"),
    "3d_strided_grouped": ("[6, 5, 5, 4]", "{conv: {K: 4, F: 2, S: 2, groups: 4}}"),
    "1x1": ("[5, 5, 3]", "{conv: {K: 2, F: 1}}"),
    "2d_grey_first_layer": ("[9, 9, 1]", "{conv: {K: 6, F: 5, P: 2}}"),
    "2d_rgb_strided_dilated": ("[11, 10, 3]", "{conv: {K: 5, F: 3, S: [2, 1], D: [1, 2], P: same}}"),
    "pool_max_valid_cropped": ("[7, 9, 2]", "{pool: {F: 2, mode: max}}"),
    "pool_avg_same_divisible": ("[8, 6, 2]", "{pool: {F: 2, P: same, mode: avg}}"),
    "pool_3d": ("[4, 6, 6, 2]", "{pool: {F: 2, mode: max}}"),
    "pool_1d_avg": ("[12, 3]", "{pool: {F: 3, mode: avg}}"),
}


@pytest.mark.parametrize("lowering", ALTERNATIVES)
@pytest.mark.parametrize("case", sorted(CONV_CASES))
def test_layers_the_generator_does_not_draw(case, lowering):
    shape, layer = CONV_CASES[case]
    assert_lowerings_agree(f"name: case\ninput: {shape}\nlayers: [{layer}, relu, flatten, {{dense: {{units: 3}}}}]\n",
                           lowering)


def test_im2col_grad_computes_the_kernel_gradient_by_im2col():
    """Not only the same numbers: under im2col-grad the forward pass is XLA's convolution
    and the gradient builds im2col columns (lax's gradient builds none)."""
    graph = load("name: wide\ninput: [6, 6, 3]\nlayers: [{conv: {K: 32, F: 3, P: same}}, flatten, {dense: {units: 2}}]\n")
    x = jnp.ones((4, 6, 6, 3))

    def programs(lowering):
        model = netspec.build(graph, seed=0, lowering=lowering)
        graphdef, params, rest = nnx.split(model, nnx.Param, ...)

        def loss(params):
            return nnx.merge(graphdef, params, rest)(x).sum()

        return str(jax.make_jaxpr(loss)(params)), str(jax.make_jaxpr(jax.grad(loss))(params))

    forward, gradient = programs("im2col-grad")
    assert "conv_general_dilated" in forward and "concatenate" not in forward
    assert "concatenate" in gradient and "dot_general" in gradient
    assert "concatenate" not in programs("lax")[1]


def jaxprs(graph, lowering, x):
    """The forward pass's and the parameter gradient's jaxprs of ``graph`` under ``lowering``."""
    model = netspec.build(graph, seed=0, lowering=lowering)
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)

    def loss(params):
        return nnx.merge(graphdef, params, rest)(x).sum()

    return str(jax.make_jaxpr(loss)(params)), str(jax.make_jaxpr(jax.grad(loss))(params))


def test_shifts_sums_shifted_slices_forward_and_takes_im2col_grads_gradients():
    """Under shifts a LeNet-like first layer's forward pass is 25 multiply-adds (XLA's
    convolution only in the conditional's other branch, for a kernel with inf or nan in it)
    and the kernel gradient builds im2col columns."""
    graph = load("name: grey\ninput: [8, 8, 1]\nlayers: [{conv: {K: 6, F: 5, P: 2}}, flatten, {dense: {units: 2}}]\n")
    forward, gradient = jaxprs(graph, "shifts", jnp.ones((2, 8, 8, 1)))
    assert forward.count(" mul ") >= 25 and "cond[" in forward and "concatenate" not in forward
    assert "concatenate" in gradient and "dot_general" in gradient
    assert "cond[" not in jaxprs(graph, "lax", jnp.ones((2, 8, 8, 1)))[0]


def test_shifts_gives_lax_results_for_a_non_finite_kernel():
    """The conditional's other branch: inf and nan in a kernel give what lax gives."""
    graph = load("name: grey\ninput: [6, 6, 1]\nlayers: [{conv: {K: 2, F: 3, P: same, name: c1}}]\n")
    x = jnp.asarray(np.random.default_rng(0).standard_normal((2, 6, 6, 1)), jnp.float32)
    outputs = {}
    for lowering in ("lax", "shifts"):
        model = netspec.build(graph, seed=0, lowering=lowering)
        kernel = np.asarray(model.c1.kernel[...]).copy()
        kernel[1, 1, 0, 0], kernel[0, 2, 0, 1] = np.inf, np.nan
        model.c1.kernel[...] = jnp.asarray(kernel)
        outputs[lowering] = np.asarray(model(x))
    assert np.isnan(outputs["lax"]).any()
    np.testing.assert_array_equal(outputs["shifts"], outputs["lax"])


@pytest.mark.parametrize("mode", ["max", "avg"])
def test_pool_by_slices_gradient_equals_lax_exactly_on_ties(mode):
    """Relu outputs tie at zero, images at their background: the written-out pooling
    gradient goes to the first maximum of a window, as lax's does (a derived gradient of
    element-wise maxima would split it), and is shared evenly by a mean."""
    spec = f"name: ties\ninput: [5, 7, 2]\nlayers: [{{pool: {{F: 2, mode: {mode}}}}}, flatten]\n"
    values = np.array([0.0, 1.0, 1.0, 2.0, 0.0, 2.0], np.float32)
    x = jnp.asarray(np.random.default_rng(0).choice(values, size=(3, 5, 7, 2)))
    weights = jnp.asarray(np.random.default_rng(1).normal(size=(3, 2 * 3 * 2)), jnp.float32)
    gradients = {}
    for lowering in ("lax", "im2col"):
        model = netspec.build(load(spec), seed=0, lowering=lowering)
        gradients[lowering] = jax.grad(lambda x, model=model: (model(x) * weights).sum())(x)
    graph = load(spec)
    assert "pool_by_slices" in emit_source(graph, analysis_of(graph), Lowering("im2col", "cpu"))
    np.testing.assert_array_equal(np.asarray(gradients["im2col"]), np.asarray(gradients["lax"]))


def node_named(graph, name):
    return next(node for node in graph.nodes if node.name == name)


LAYERS = """name: choices
input: [8, 8, 4]
layers:
  - {conv: {K: 32, F: 3, P: same, name: wide}}
  - {conv: {K: 4, F: 3, P: same, name: plain}}
  - {depthwise_conv: {F: 3, P: same, name: depthwise}}
  - {pool: {F: 2, name: tiles}}
  - {pool: {F: 3, S: 1, P: same, name: overlapping}}
  - {pool: {F: 3, P: same, name: padded}}
"""


def test_auto_follows_the_rule_table_per_backend():
    graph = load(LAYERS)
    shapes = {name: list(facts.input_shapes) for name, facts in analysis_of(graph).layers.items()}

    def chosen(name, lowering):
        return choose(node_named(graph, name), shapes[name], lowering)

    cpu, gpu = Lowering("auto", "cpu"), Lowering("auto", "gpu")
    assert RULES["cpu"].kernel_grad_pixels and not RULES["gpu"].kernel_grad_pixels
    assert [chosen(n, cpu) for n in ("wide", "plain", "depthwise", "tiles", "overlapping", "padded")] == [
        CONV_IM2COL_GRAD, "lax", "lax", POOL_BY_SLICES, "lax", "lax"]  # 4x4 by 3 with SAME pads: no tiling
    assert {chosen(n, gpu) for n in ("wide", "plain", "depthwise", "tiles")} == {"lax"}
    assert chosen("wide", Lowering("auto", "some_plugin")) == "lax"
    forced = Lowering("im2col", "gpu")
    assert [chosen(n, forced) for n in ("wide", "plain", "depthwise", "tiles", "overlapping")] == [
        CONV_BY_SLICES, CONV_BY_SLICES, CONV_BY_SLICES, POOL_BY_SLICES, "lax"]
    forced = Lowering("im2col-grad", "gpu")  # grouped/depthwise: the kernel gradient would be lax's anyway
    assert [chosen(n, forced) for n in ("wide", "plain", "depthwise", "tiles")] == [
        CONV_IM2COL_GRAD, CONV_IM2COL_GRAD, "lax", POOL_BY_SLICES]
    forced = Lowering("shifts", "gpu")  # plain: 3x3x32 = 288 multiply-adds per output, past the limit
    assert MAX_SHIFT_TERMS < 288
    assert [chosen(n, forced) for n in ("wide", "plain", "depthwise", "tiles")] == [
        CONV_BY_SHIFTS, "lax", "lax", POOL_BY_SLICES]
    assert {chosen(n, Lowering("lax", "cpu")) for n in ("wide", "plain", "depthwise", "tiles")} == {"lax"}


def test_auto_on_cpu_takes_shifts_for_first_layers_and_the_im2col_forward_for_tiny_maps():
    graph = load("""name: sizes
input: [32, 32, 3]
layers:
  - {conv: {K: 32, F: 3, P: same, name: rgb}}          # rows of 27 values
  - {conv: {K: 32, F: 3, S: 16, P: same, name: tiny}}  # 2x2 output pixels
  - {conv: {K: 64, F: 3, P: same, name: small}}        # 4 output pixels too
""")
    shapes = {name: list(facts.input_shapes) for name, facts in analysis_of(graph).layers.items()}
    cpu = Lowering("auto", "cpu")
    assert [choose(node_named(graph, n), shapes[n], cpu) for n in ("rgb", "tiny", "small")] == [
        CONV_BY_SHIFTS, CONV_BY_SLICES, CONV_BY_SLICES]
    grey = load("name: grey\ninput: [28, 28, 1]\nlayers: [{conv: {K: 6, F: 5, P: 2, name: c1}}]\n")
    grey_shapes = {name: list(facts.input_shapes) for name, facts in analysis_of(grey).layers.items()}
    assert choose(node_named(grey, "c1"), grey_shapes["c1"], cpu) == CONV_BY_SHIFTS  # LeNet's conv1
    assert choose(node_named(grey, "c1"), grey_shapes["c1"], Lowering("auto", "gpu")) == "lax"


def test_the_lax_lowering_writes_plain_flax():
    graph = load(LAYERS)
    source = emit_source(graph, analysis_of(graph))
    assert "conv_by_slices" not in source and "conv_im2col_grad" not in source and "pool_by_slices" not in source
    assert "import itertools" not in source
    lowered = emit_source(graph, analysis_of(graph), Lowering("auto", "cpu"))
    assert "conv_im2col_grad(self.wide, x)" in lowered and "x = self.plain(x)" in lowered
    assert "def conv_by_slices" not in lowered and "def conv_by_shifts" not in lowered  # only the helpers used
    assert 'pool_by_slices(x, (2, 2), "max")' in lowered
    assert "nnx.max_pool(x, (3, 3), strides=(1, 1)" in lowered
    assert "import itertools" in lowered


def test_built_model_source_is_the_export_for_its_backend():
    graph = load(LAYERS)
    model = netspec.build(graph)
    from netspec.builder import program_of

    assert program_of(model).source == emit_source(graph, analysis_of(graph),
                                                   Lowering("auto", jax.default_backend()))


@pytest.mark.parametrize(("lowering", "helper"), [("im2col", "conv_by_slices"), ("im2col-grad", "conv_im2col_grad"),
                                                  ("shifts", "conv_by_shifts")])
def test_exported_im2col_code_runs_standalone(tmp_path, lowering, helper):
    spec = tmp_path / "net.yaml"
    spec.write_text(LAYERS + "  - flatten\n  - {dense: {units: 2}}\n")
    target = tmp_path / "net_im2col.py"
    done = subprocess.run([sys.executable, "-m", "netspec", "export", str(spec), "-o", str(target),
                           "--lowering", lowering], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    script = (
        "import sys, numpy as np, jax, jax.numpy as jnp\n"
        "from flax import nnx\n"
        f"sys.path.insert(0, {str(tmp_path)!r})\n"
        "import net_im2col as m\n"
        "model = m.Choices(rngs=nnx.Rngs(params=0, dropout=1))\n"
        "x = jnp.asarray(np.random.default_rng(0).standard_normal((2, *m.INPUT_SHAPE)), jnp.float32)\n"
        "print(model(x).shape)\n"
        "graphdef, params, rest = nnx.split(model, nnx.Param, ...)\n"
        "grads = jax.grad(lambda p: nnx.merge(graphdef, p, rest)(x).sum())(params)\n"
        "print(all(bool(jnp.isfinite(g).all()) for g in jax.tree.leaves(grads)))\n")
    ran = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split() == ["(2,", "2)", "True"]
    assert helper in target.read_text()
    ruff = Path(sys.executable).with_name("ruff")
    if ruff.exists():  # the lowered file is as lint-clean as the lax one
        linted = subprocess.run([str(ruff), "check", "--isolated", "--select", "E,F,W", "--line-length", "110",
                                 str(target)], capture_output=True, text=True)
        assert linted.returncode == 0, linted.stdout


def test_export_rejects_an_unknown_lowering(tmp_path):
    spec = tmp_path / "net.yaml"
    spec.write_text(LAYERS)
    done = subprocess.run([sys.executable, "-m", "netspec", "export", str(spec), "--lowering", "fast"],
                          capture_output=True, text=True)
    assert done.returncode != 0
    assert "invalid choice" in done.stderr and "Traceback" not in done.stderr
