"""Lowering choices (netspec.emit.lowering): every lowering computes what lax computes.

The same spec is built twice with the same seed, once with ``lowering="lax"``
and once with ``"im2col"`` (every conv by slices + matmul, every
non-overlapping pool by reshape); the parameters must have the same tree and
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
from test_random_specs import spec_texts

import netspec
from netspec.emit.lowering import RULES, Lowering, choose
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


def assert_lowerings_agree(text: str, batch: int = 2) -> None:
    graph = load(text)
    reference = netspec.build(graph, seed=3, lowering="lax")
    lowered = netspec.build(graph, seed=3, lowering="im2col")
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
@given(spec_texts())
def test_random_specs_every_lowering_equals_lax(text):
    assert_lowerings_agree(text)


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
    "pool_max_valid_cropped": ("[7, 9, 2]", "{pool: {F: 2, mode: max}}"),
    "pool_avg_same_divisible": ("[8, 6, 2]", "{pool: {F: 2, P: same, mode: avg}}"),
    "pool_3d": ("[4, 6, 6, 2]", "{pool: {F: 2, mode: max}}"),
    "pool_1d_avg": ("[12, 3]", "{pool: {F: 3, mode: avg}}"),
}


@pytest.mark.parametrize("case", sorted(CONV_CASES))
def test_layers_the_generator_does_not_draw(case):
    shape, layer = CONV_CASES[case]
    assert_lowerings_agree(f"name: case\ninput: {shape}\nlayers: [{layer}, relu, flatten, {{dense: {{units: 3}}}}]\n")


def node_named(graph, name):
    return next(node for node in graph.nodes if node.name == name)


LAYERS = """name: choices
input: [8, 8, 3]
layers:
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
    assert RULES["cpu"].conv and not RULES["gpu"].conv
    assert [chosen(n, cpu) for n in ("plain", "depthwise", "tiles", "overlapping", "padded")] == [
        "slices", "lax", "reshape", "lax", "lax"]  # 4x4 by 3 with SAME pads: no reshape
    assert {chosen(n, gpu) for n in ("plain", "depthwise", "tiles")} == {"lax"}
    assert chosen("plain", Lowering("auto", "some_plugin")) == "lax"
    forced = Lowering("im2col", "gpu")
    assert [chosen(n, forced) for n in ("plain", "depthwise", "tiles", "overlapping")] == [
        "slices", "slices", "reshape", "lax"]
    assert {chosen(n, Lowering("lax", "cpu")) for n in ("plain", "depthwise", "tiles")} == {"lax"}


def test_the_lax_lowering_writes_plain_flax():
    graph = load(LAYERS)
    source = emit_source(graph, analysis_of(graph))
    assert "conv_by_slices" not in source and "pool_by_reshape" not in source
    assert "import itertools" not in source
    lowered = emit_source(graph, analysis_of(graph), Lowering("auto", "cpu"))
    assert "conv_by_slices(self.plain, x)" in lowered
    assert 'pool_by_reshape(x, (2, 2), "max")' in lowered
    assert "nnx.max_pool(x, (3, 3), strides=(1, 1)" in lowered
    assert "import itertools" in lowered


def test_built_model_source_is_the_export_for_its_backend():
    graph = load(LAYERS)
    model = netspec.build(graph)
    from netspec.builder import program_of

    assert program_of(model).source == emit_source(graph, analysis_of(graph),
                                                   Lowering("auto", jax.default_backend()))


def test_exported_im2col_code_runs_standalone(tmp_path):
    spec = tmp_path / "net.yaml"
    spec.write_text(LAYERS + "  - flatten\n  - {dense: {units: 2}}\n")
    target = tmp_path / "net_im2col.py"
    done = subprocess.run([sys.executable, "-m", "netspec", "export", str(spec), "-o", str(target),
                           "--lowering", "im2col"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    script = (
        "import sys, numpy as np, jax.numpy as jnp\n"
        "from flax import nnx\n"
        f"sys.path.insert(0, {str(tmp_path)!r})\n"
        "import net_im2col as m\n"
        "model = m.Choices(rngs=nnx.Rngs(params=0, dropout=1))\n"
        "x = jnp.asarray(np.random.default_rng(0).standard_normal((2, *m.INPUT_SHAPE)), jnp.float32)\n"
        "print(model(x).shape)\n")
    ran = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "(2, 2)"
    assert "conv_by_slices" in target.read_text()
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
