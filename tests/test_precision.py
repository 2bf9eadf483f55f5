"""train: precision: mixed computes in bfloat16 and keeps float32 parameters and optimizer state;
bfloat16 keeps them in bfloat16 too, checkpoints them as such and resumes exactly."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from netspec.cli.commands.bench import synthetic_batch
from netspec.data.standardize import Standardizer
from netspec.pipeline import load
from netspec.train.session import Session, settings

SPEC = """name: tiny_bn
input: [8, 8, 2]
layers:
  - {conv: {K: 4, F: 3, P: same}}
  - batchnorm
  - relu
  - {pool: {F: 2}}
  - flatten
  - {dense: {units: 3}}
  - softmax
train: {optimizer: {name: sgd, lr: 0.1, momentum: 0.9}, batch_size: 16}
"""


def session_for(precision: str, **overrides) -> Session:
    graph = load(SPEC)
    train = settings(graph, {"precision": precision, **overrides})
    return Session(graph, train, task=None, standardizer=Standardizer.fit(np.zeros((1,)), "none"),
                   train_examples=train.batch_size, directory=None)


def floating_dtypes(tree) -> set:
    return {leaf.dtype for leaf in jax.tree.leaves(tree)
            if hasattr(leaf, "dtype") and jnp.issubdtype(leaf.dtype, jnp.floating)}


def test_mixed_trains_with_float32_state_and_matches_float32_closely():
    sessions = {name: session_for(name) for name in ("float32", "mixed")}
    first = sessions["float32"]
    x, y = synthetic_batch(16, (8, 8, 2), first.output_shape, first.loss_name)
    losses = {}
    for name, session in sessions.items():
        batch = session.placement.shard_batch((x, y))
        for _ in range(3):
            session.train_step(*batch)
        losses[name] = float(session.totals["loss"]) / float(session.totals["count"])
        assert floating_dtypes(session.model_state) == {jnp.dtype(jnp.float32)}
        assert floating_dtypes(session.opt_state) == {jnp.dtype(jnp.float32)}
    assert np.isfinite(losses["mixed"])
    assert losses["mixed"] == pytest.approx(losses["float32"], rel=0.05)
    mixed, full = sessions["mixed"].model_state, sessions["float32"].model_state
    # The running averages the bfloat16 call computed were written back (else they would stay 0 and 1).
    mixed_stats, full_stats = jax.tree.leaves(nnx.state(mixed, nnx.BatchStat)), jax.tree.leaves(
        nnx.state(full, nnx.BatchStat))
    assert mixed_stats and max(float(jnp.abs(s).max()) for s in full_stats[:1]) > 1e-3
    for a, b in zip(mixed_stats, full_stats):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=0.05, atol=0.01)
    changed = [not np.allclose(a, b) for a, b in zip(jax.tree.leaves(nnx.state(mixed, nnx.Param)),
                                                     jax.tree.leaves(nnx.state(full, nnx.Param)))]
    assert any(changed)  # bfloat16 compute really ran: the updates differ in the low bits


@pytest.mark.parametrize("optimizer", [{"name": "sgd", "lr": 0.1, "momentum": 0.9}, {"name": "adam", "lr": 0.01}])
def test_bfloat16_trains_with_bfloat16_parameters_and_optimizer_state(optimizer):
    sessions = {name: session_for(name, optimizer=optimizer) for name in ("float32", "bfloat16")}
    first = sessions["float32"]
    x, y = synthetic_batch(16, (8, 8, 2), first.output_shape, first.loss_name)
    losses = {}
    for name, session in sessions.items():
        batch = session.placement.shard_batch((x, y))
        for _ in range(3):
            session.train_step(*batch)
        losses[name] = float(session.totals["loss"]) / float(session.totals["count"])
    low = sessions["bfloat16"]
    assert floating_dtypes(nnx.state(low.model_state, nnx.Param)) == {jnp.dtype(jnp.bfloat16)}
    # momentum / Adam's moments follow the parameters; the step counter stays an integer
    assert floating_dtypes(low.opt_state) == {jnp.dtype(jnp.bfloat16)}
    assert floating_dtypes(nnx.state(low.model_state, nnx.BatchStat)) == {jnp.dtype(jnp.float32)}
    assert low.steps.train._cache_size() == 1  # the state's dtypes did not drift between steps
    assert np.isfinite(losses["bfloat16"])
    assert losses["bfloat16"] == pytest.approx(losses["float32"], rel=0.1)
    # what inspection code gets is a float32 network holding the same (exactly converted) values
    live = low.steps.model(low.model_state)
    assert floating_dtypes(nnx.state(live)) == {jnp.dtype(jnp.float32)}
    for a, b in zip(jax.tree.leaves(nnx.state(live, nnx.Param)), jax.tree.leaves(nnx.state(low.model_state, nnx.Param))):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b).astype(np.float32))
    assert live(jnp.asarray(x)).dtype == jnp.float32


def test_a_bfloat16_run_checkpoints_bfloat16_and_resumes_exactly(tmp_path):
    from small_nets import DROPOUT_SPEC

    from netspec.data import load_data
    from netspec.train import checkpoint, fit
    from netspec.train.progress import Display

    graph, quiet = load(DROPOUT_SPEC), Display(quiet=True)
    data = load_data("synthetic:200", input_shape=(8, 8, 1), output_shape=(3,), seed=0)
    whole = fit(graph, data, out=tmp_path / "whole", display=quiet, epochs=2, precision="bfloat16")
    cut = fit(graph, data, out=tmp_path / "cut", display=quiet, epochs=2, precision="bfloat16",
              max_steps=len(data.train) // 16 + 3)
    assert cut.stopped == "max_steps"
    resumed = fit(graph, data, resume=tmp_path / "cut", display=quiet)
    assert resumed.train.precision == "bfloat16"
    untimed = [[{k: v for k, v in row.items() if k not in ("time", "images_per_s")} for row in run.history]
               for run in (whole, resumed)]
    assert untimed[0] == untimed[1]
    a, _ = checkpoint.load(tmp_path / "whole" / "checkpoints" / "last")
    b, _ = checkpoint.load(tmp_path / "cut" / "checkpoints" / "last")
    kernels = [name for name in a if name.startswith("model/") and name.endswith("kernel")]
    assert kernels and all(a[name].dtype == jnp.bfloat16 for name in kernels)
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    assert resumed.predict(data.val.x).dtype == np.float32
    # the inspection commands open the run as a float32 network: saliency works on it
    from netspec.interpret.explain import saliency
    from netspec.interpret.trained import open_trained

    trained = open_trained(DROPOUT_SPEC, str(tmp_path / "cut"))
    assert floating_dtypes(nnx.state(trained.model, nnx.Param)) == {jnp.dtype(jnp.float32)}
    heat = saliency(trained.model, data.val.x[0])
    assert heat.shape[:2] == (8, 8) and np.isfinite(heat).all() and heat.max() > 0


DEEP_BN = """name: deep_bn
input: [8, 8, 3]
layers:
  - {normalization: {mean: 0.5, variance: 2}}
  - {conv: {K: 32, F: 3, P: same}}
  - batchnorm
  - relu
  - {conv: {K: 32, F: 3, P: same}}
  - batchnorm
  - relu
  - {pool: {F: 2}}
  - flatten
  - {dense: {units: 3}}
"""


@pytest.mark.parametrize("lowering", ["lax", "im2col", "im2col-grad", "shifts"])
def test_bfloat16_compute_survives_batchnorm(lowering):
    """Batchnorm keeps float32 statistics (and a normalization layer float32 constants);
    without care their outputs (and every layer after them) would be float32 again. Every
    conv and matmul of the forward pass must run in bfloat16, under every lowering."""
    from netspec.builder import build
    from netspec.train.step import run_model

    model = build(load(DEEP_BN), seed=0, lowering=lowering)
    model.train()
    graphdef, state = nnx.split(model)
    x = jnp.ones((4, 8, 8, 3), jnp.float32)
    jaxpr = jax.make_jaxpr(lambda state, x: run_model(nnx.merge(graphdef, state), x, jnp.bfloat16))(state, x)

    def products(jaxpr):  # the convs and matmuls, inside custom_vjp and pjit calls too
        for eqn in jaxpr.eqns:
            # A custom_vjp call is a lowered conv: under shifts one whose products are
            # multiply-adds (summed in float32 and rounded, as a bfloat16 conv accumulates).
            if eqn.primitive.name in ("conv_general_dilated", "dot_general") or "custom_vjp" in eqn.primitive.name:
                yield eqn
            for param in eqn.params.values():
                inner = getattr(param, "jaxpr", param)
                if hasattr(inner, "eqns"):
                    yield from products(inner)

    found = list(products(jaxpr.jaxpr))
    assert len(found) >= 3  # two convs and the dense layer
    for eqn in found:
        assert {str(var.aval.dtype) for var in eqn.invars} == {"bfloat16"}, eqn


def test_unknown_precision_is_a_diagnostic():
    from netspec.diagnostics import NetspecError

    with pytest.raises(NetspecError, match="precision"):
        settings(load(SPEC), {"precision": "float16"})
