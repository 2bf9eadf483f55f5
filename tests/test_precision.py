"""train: precision: mixed computes in bfloat16 and keeps float32 parameters and optimizer state."""

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


def session_for(precision: str) -> Session:
    graph = load(SPEC)
    train = settings(graph, {"precision": precision})
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


def test_unknown_precision_is_a_diagnostic():
    from netspec.diagnostics import NetspecError

    with pytest.raises(NetspecError, match="precision"):
        settings(load(SPEC), {"precision": "float16"})
