"""Transfer learning: ``freeze:`` and ``init_from:`` (netspec.train.transfer)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from netspec import build
from netspec.builder import layer_module
from netspec.diagnostics import NetspecError
from netspec.pipeline import load
from netspec.train import checkpoint
from netspec.train.transfer import (
    FreezeSpec,
    InitFromSpec,
    freeze_batchnorm,
    frozen_layers,
    init_from_list,
    initialize_from,
    trainable_filter,
)

BLOCKS = """\
name: blocks
input: [8, 8, 1]
blocks:
  unit:
    params: {K: 4}
    layers: [conv: {K: "${K}", F: 3, P: same}, batchnorm, relu]
layers:
  - unit: {K: 4, name: first}
  - unit: {K: 8, name: second}
  - pool: {F: 2, name: pool}
  - flatten
  - dense: {units: 3, name: head}
"""

# The probe net of trained_mnist with a new head: conv1/conv2 come from that run.
FINETUNE = """\
name: probe_finetune
input: [28, 28, 1]
layers:
  - conv: {K: 8, F: 3, P: same, bias: false, activation: relu, name: conv1}
  - pool: {F: 2}
  - conv: {K: 16, F: 3, P: same, bias: false, activation: relu, name: conv2}
  - pool: {F: 2}
  - flatten
  - dense: {units: 32, activation: relu, name: new_hidden}
  - dense: {units: 5, name: new_logits}
  - softmax
"""


def test_freeze_shorthands_and_selection():
    graph = load(BLOCKS)
    names = [node.name for node in graph.nodes]
    assert FreezeSpec.model_validate("first/*") == FreezeSpec(layers=["first/*"])
    assert FreezeSpec.model_validate(["a", "b"]).layers == ["a", "b"]
    assert frozen_layers(graph, FreezeSpec(layers=["first/*"])) == [n for n in names if n.startswith("first/")]
    up_to_pool = frozen_layers(graph, FreezeSpec(up_to="pool"))
    assert up_to_pool == names[1:names.index("pool") + 1]  # everything before the head, the input aside
    assert frozen_layers(graph, FreezeSpec(layers=["head"], up_to="first/conv2d_1")) == ["first/conv2d_1", "head"]
    assert frozen_layers(graph, None) == []
    assert init_from_list({"checkpoint": "r"}) == [{"checkpoint": "r"}] and init_from_list(None) == []


def test_freeze_names_that_match_nothing_are_all_reported():
    graph = load(BLOCKS)
    with pytest.raises(NetspecError) as info:
        frozen_layers(graph, FreezeSpec(layers=["frist/*", "haed"], up_to="pol"))
    messages = [d.message for d in info.value.diagnostics]
    assert len(messages) == 3 and "no layer matching 'frist/*'" in messages[0]
    assert info.value.diagnostics[1].hint == "did you mean 'head'?"
    assert info.value.diagnostics[2].hint == "did you mean 'pool'?"


def test_frozen_parameters_get_no_updates_and_frozen_batchnorm_keeps_its_statistics():
    graph = load(BLOCKS)
    frozen = frozen_layers(graph, FreezeSpec(layers=["first/*"]))
    model = build(graph, seed=0)
    model.train()
    freeze_batchnorm(model, graph, frozen)
    before = checkpoint.flatten(nnx.state(model))
    optimizer = nnx.Optimizer(model, optax.adam(0.1), wrt=trainable_filter(graph, frozen))
    x = jnp.asarray(np.random.default_rng(0).normal(size=(16, 8, 8, 1)), jnp.float32)

    @nnx.jit
    def step(model, optimizer):
        grads = nnx.grad(lambda m: (m(x) ** 2).mean())(model)
        optimizer.update(model, grads)

    for _ in range(3):
        step(model, optimizer)
    after = checkpoint.flatten(nnx.state(model))
    first = [key for key in before if key.startswith("first")]
    assert {key.rsplit("/", 1)[-1] for key in first} == {"kernel", "bias", "scale", "mean", "var"}
    for key in first:  # weights and batchnorm statistics, bit for bit
        assert after[key].tobytes() == before[key].tobytes(), key
    for key in ("second/conv2d_1/kernel", "second/batchnorm_1/mean", "head/kernel"):
        assert not np.array_equal(after[key], before[key]), key
    assert layer_module(model, "first/batchnorm_1").use_running_average
    assert not layer_module(model, "second/batchnorm_1").use_running_average


def test_init_from_copies_the_named_layers(probe):
    spec, run = probe
    graph = load(FINETUNE)
    state = nnx.state(build(graph, seed=3))
    copied = initialize_from(graph, state, [InitFromSpec(checkpoint=str(run), spec=str(spec),
                                                         layers=["conv*"])])
    stored, _ = checkpoint.load(run / "checkpoints" / "best")
    flat = checkpoint.flatten({"model": copied})
    for name in ("conv1", "conv2"):
        assert np.array_equal(flat[f"model/{name}/kernel"], stored[f"model/{name}/kernel"])
    assert np.array_equal(flat["model/new_logits/kernel"], checkpoint.flatten({"model": state})["model/new_logits/kernel"])


def test_init_from_reports_every_mismatched_layer_with_both_shapes(probe, tmp_path):
    spec, run = probe
    wider = FINETUNE.replace("K: 8, F: 3", "K: 12, F: 3").replace("name: new_logits", "name: logits")
    graph = load(wider)
    with pytest.raises(NetspecError) as info:
        initialize_from(graph, nnx.state(build(graph)), [InitFromSpec(checkpoint=str(run))])
    messages = sorted(d.message for d in info.value.diagnostics)
    assert any("layer 'conv1' kernel has shape (3, 3, 1, 12) in 'probe_finetune' but (3, 3, 1, 8) "
               "in 'probe_mnist'" in m for m in messages), messages
    assert any("layer 'conv2' kernel has shape (3, 3, 12, 16)" in m for m in messages), messages
    assert any("layer 'logits' kernel has shape (32, 5) in 'probe_finetune' but (784, 10)" in m
               for m in messages), messages
    assert any("layer 'logits' bias has shape (5,)" in m and "(10,)" in m for m in messages), messages
    with pytest.raises(NetspecError, match="has no weights in 'probe_mnist'"):
        initialize_from(graph, nnx.state(build(graph)), [InitFromSpec(checkpoint=str(run), layers=["new_*"])])
    with pytest.raises(NetspecError, match="not a netspec run folder"):
        initialize_from(graph, nnx.state(build(graph)), [InitFromSpec(checkpoint=str(tmp_path))])


def _finetune_spec(run, **changes) -> str:
    text = FINETUNE + f"""\
train:
  optimizer: {{name: sgd, lr: 0.05, momentum: 0.9}}
  batch_size: 64
  freeze: {{up_to: conv2}}
  init_from: {{checkpoint: {run}, layers: [conv1, conv2]}}
"""
    for old, new in changes.items():
        text = text.replace(old, new)
    return text


def test_fine_tuning_a_new_head_leaves_the_frozen_base_bit_for_bit(probe):
    from trained_mnist import mnist

    from netspec.train import fit

    spec, run = probe
    graph = load(_finetune_spec(run, **{"units: 5": "units: 10"}))
    result = fit(graph, mnist(), save=False, quiet=True, max_steps=15)
    assert result.stopped == "max_steps"
    stored, _ = checkpoint.load(run / "checkpoints" / "best")
    tuned = checkpoint.flatten({"model": result.session.model_state})
    fresh = checkpoint.flatten({"model": nnx.state(build(result.session.logits_graph, seed=0))})
    for key in ("model/conv1/kernel", "model/conv2/kernel"):
        assert tuned[key].tobytes() == stored[key].tobytes(), key  # copied in, then never updated
    for key in ("model/new_hidden/kernel", "model/new_hidden/bias", "model/new_logits/kernel"):
        assert not np.array_equal(tuned[key], fresh[key]), key  # the new head learned
    optimizer = checkpoint.flatten({"optimizer": result.session.opt_state})
    assert not any("conv" in key for key in optimizer)  # no momentum is even kept for the frozen layers


def test_frozen_batchnorm_keeps_its_statistics_through_training():
    from netspec.data import load_data
    from netspec.train import fit

    graph = load(BLOCKS + "train: {optimizer: adam, batch_size: 16, freeze: 'first/*'}\n")
    data = load_data("synthetic:96", input_shape=(8, 8, 1), output_shape=(3,))
    result = fit(graph, data, save=False, quiet=True, epochs=2)
    before = checkpoint.flatten(nnx.state(build(graph, seed=0)))
    after = checkpoint.flatten(result.session.model_state)
    for key in before:
        if key.startswith("first/"):  # conv weights, batchnorm scale, bias and running statistics
            assert after[key].tobytes() == before[key].tobytes(), key
    for key in ("second/batchnorm_1/mean", "second/batchnorm_1/var", "second/conv2d_1/kernel", "head/kernel"):
        assert not np.array_equal(after[key], before[key]), key


def test_init_from_with_a_mismatched_shape_fails_before_training(probe, tmp_path):
    from trained_mnist import mnist

    from netspec.train import fit

    spec, run = probe
    graph = load(_finetune_spec(run, **{"K: 16, F: 3": "K: 24, F: 3", "units: 5": "units: 10"}))
    with pytest.raises(NetspecError) as info:
        fit(graph, mnist(), out=tmp_path / "never", quiet=True, max_steps=1)
    [diagnostic] = info.value.diagnostics
    assert diagnostic.code == "init-from-shape"
    assert "layer 'conv2' kernel has shape (3, 3, 8, 24) in 'probe_finetune' but (3, 3, 8, 16) in 'probe_mnist'" \
        in diagnostic.message
    assert not (tmp_path / "never").exists()  # no run folder, no step taken


def test_the_summary_counts_frozen_layers_as_non_trainable(probe):
    from netspec.pipeline import analysis_of
    from netspec.report.summary import summarize

    spec, run = probe
    report = summarize(analysis_of(load(_finetune_spec(run))))
    rows = {row.name: row for row in report.layers}
    assert rows["conv1"].frozen and rows["conv1"].trainable_params == 0 and rows["conv1"].non_trainable_params == 72
    assert rows["conv2"].label.endswith("(frozen)") and rows["conv2"].non_trainable_params == 1152
    assert not rows["new_hidden"].frozen and rows["new_hidden"].trainable_params == 784 * 32 + 32
    assert report.non_trainable_params == 72 + 1152
    assert report.trainable_params + report.non_trainable_params == report.total_params
