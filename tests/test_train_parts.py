"""The pieces of the training stage, one at a time: schedules, optimizers and
constraints, losses and metrics, the logits head, batches, checkpoints and
the run folder."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import netspec
from netspec.diagnostics import NetspecError
from netspec.spec.train import TrainSpec
from netspec.train import checkpoint, rundir
from netspec.train.batches import Prefetcher, epoch_order, eval_batches, train_batches
from netspec.train.head import split_output_activation
from netspec.train.losses import (
    accuracy,
    binary_cross_entropy,
    cross_entropy,
    kernel_penalty,
    make_loss,
    top_k_accuracy,
)
from netspec.train.optim import make_optimizer, make_schedule, max_norm_constraint
from netspec.train.sharding import check_batch_size


def spec(**train) -> TrainSpec:
    return TrainSpec.model_validate(train)


# --- schedules --------------------------------------------------------------


def lrs(train: TrainSpec, steps_per_epoch: int, at) -> list[float]:
    schedule = make_schedule(train, steps_per_epoch)
    return [float(schedule(step)) for step in at]


def test_step_schedule_decays_every_period():
    train = spec(optimizer={"lr": 0.1}, schedule={"name": "step", "decay_epochs": 2, "decay_rate": 0.5})
    assert lrs(train, 10, [0, 19, 20, 39, 40]) == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025])


def test_exponential_schedule_is_smooth_unless_staircase():
    smooth = spec(optimizer={"lr": 1.0}, schedule={"name": "exponential", "decay_steps": 10, "decay_rate": 0.5})
    assert lrs(smooth, 5, [0, 5, 10]) == pytest.approx([1.0, 0.5 ** 0.5, 0.5])
    stairs = spec(optimizer={"lr": 1.0},
                  schedule={"name": "exponential", "decay_steps": 10, "decay_rate": 0.5, "staircase": True})
    assert lrs(stairs, 5, [0, 5, 10]) == pytest.approx([1.0, 1.0, 0.5])


def test_cosine_schedule_ends_at_the_final_fraction_after_warmup():
    train = spec(optimizer={"lr": 1.0}, epochs=10,
                 schedule={"name": "cosine", "warmup_epochs": 1, "final_fraction": 0.1})
    values = lrs(train, 10, [0, 5, 10, 55, 100])
    assert values[0] == 0.0 and values[1] == pytest.approx(0.5)  # linear warm-up over 10 steps
    assert values[2] == pytest.approx(1.0)                       # peak after warm-up
    assert values[3] == pytest.approx(0.55, abs=1e-6)            # half-way down the cosine
    assert values[4] == pytest.approx(0.1)


def test_inverse_time_reproduces_keras_sgd_decay():
    # the lectures' CIFAR net: SGD(lr=0.01, decay=lr/epochs) -> lr / (1 + decay * iterations)
    train = spec(optimizer={"lr": 0.01}, schedule={"name": "inverse_time", "decay_rate": 0.0004, "decay_steps": 1})
    assert lrs(train, 100, [0, 1000]) == pytest.approx([0.01, 0.01 / 1.4])


# --- optimizers and constraints -----------------------------------------------


@pytest.mark.parametrize("name", ["sgd", "adam", "adamw", "rmsprop", "adagrad"])
def test_every_optimizer_minimises_a_quadratic(name):
    train = spec(optimizer={"name": name, "lr": 0.1, "momentum": 0.5 if name in ("sgd", "rmsprop") else 0.0})
    tx = make_optimizer(train, 1)
    params = {"kernel": jnp.full((2, 2), 3.0), "bias": jnp.full((2,), -2.0)}
    state = tx.init(params)
    loss = lambda p: sum(jnp.sum(leaf ** 2) for leaf in jax.tree.leaves(p))  # noqa: E731
    start = float(loss(params))

    @jax.jit
    def fifty_steps(params, state):
        def step(_, carry):
            params, state = carry
            updates, state = tx.update(jax.grad(loss)(params), state, params)
            return optax.apply_updates(params, updates), state

        return jax.lax.fori_loop(0, 50, step, (params, state))

    params, _ = fifty_steps(params, state)
    assert float(loss(params)) < 0.5 * start


def test_sgd_matches_optax_sgd_with_nesterov_momentum():
    train = spec(optimizer={"name": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": True})
    ours, reference = make_optimizer(train, 1), optax.sgd(0.1, momentum=0.9, nesterov=True)
    params = {"w": jnp.array([1.0, -2.0])}
    grads = {"w": jnp.array([0.3, 0.7])}
    a, b = ours.init(params), reference.init(params)
    for _ in range(3):
        ua, a = ours.update(grads, a, params)
        ub, b = reference.update(grads, b, params)
        np.testing.assert_allclose(ua["w"], ub["w"], rtol=1e-6)


def test_max_norm_rescales_each_unit_of_a_kernel_only():
    params = {"kernel": jnp.array([[3.0, 0.1], [4.0, 0.1]]), "bias": jnp.array([10.0, 10.0])}
    zero = jax.tree.map(jnp.zeros_like, params)
    constraint = max_norm_constraint(2.0)
    updates, _ = constraint.update(zero, constraint.init(params), params)
    new = optax.apply_updates(params, updates)
    norms = jnp.linalg.norm(new["kernel"], axis=0)
    assert float(norms[0]) == pytest.approx(2.0, rel=1e-4)        # unit 0 had norm 5: rescaled
    np.testing.assert_allclose(new["kernel"][:, 1], [0.1, 0.1], rtol=1e-5)  # small unit untouched
    np.testing.assert_allclose(new["bias"], [10.0, 10.0])          # biases never constrained


def test_max_norm_holds_after_every_step_of_training():
    train = spec(optimizer={"name": "sgd", "lr": 1.0}, max_norm=1.0)
    tx = make_optimizer(train, 1)
    params = {"kernel": jnp.ones((4, 3))}
    state = tx.init(params)
    for _ in range(3):
        grads = {"kernel": -jnp.ones((4, 3))}  # pushes every weight up
        updates, state = tx.update(grads, state, params)
        params = optax.apply_updates(params, updates)
        assert float(jnp.linalg.norm(params["kernel"], axis=0).max()) <= 1.0 + 1e-5


def test_clip_norm_bounds_the_update():
    train = spec(optimizer={"name": "sgd", "lr": 1.0}, clip_norm=1.0)
    tx = make_optimizer(train, 1)
    params = {"w": jnp.zeros(2)}
    updates, _ = tx.update({"w": jnp.array([30.0, 40.0])}, tx.init(params), params)
    assert float(jnp.linalg.norm(updates["w"])) == pytest.approx(1.0, rel=1e-5)


def test_weight_decay_touches_kernels_not_biases():
    train = spec(optimizer={"name": "sgd", "lr": 1.0, "weight_decay": 0.1})
    tx = make_optimizer(train, 1)
    params = {"kernel": jnp.ones((2, 2)), "bias": jnp.ones(2)}
    zero = jax.tree.map(jnp.zeros_like, params)
    updates, _ = tx.update(zero, tx.init(params), params)
    np.testing.assert_allclose(updates["kernel"], -0.1 * np.ones((2, 2)), rtol=1e-6)
    np.testing.assert_allclose(updates["bias"], 0.0)


# --- losses and metrics -----------------------------------------------------------


def test_cross_entropy_is_minus_log_softmax_of_the_label():
    logits = jnp.array([[2.0, 1.0, 0.1], [0.0, 0.0, 5.0]])
    labels = jnp.array([0, 1])
    expected = -np.log(np.asarray(jax.nn.softmax(logits))[[0, 1], [0, 1]])
    np.testing.assert_allclose(cross_entropy(logits, labels), expected, rtol=1e-5)


def test_cross_entropy_from_logits_stays_finite_where_probabilities_saturate():
    logits = jnp.array([[200.0, -200.0]])
    assert float(cross_entropy(logits, jnp.array([1]))[0]) == pytest.approx(400.0)


def test_binary_cross_entropy_lines_up_one_unit_with_labels():
    logits = jnp.array([[0.0], [3.0]])
    labels = jnp.array([1, 0])
    expected = [np.log(2.0), np.log1p(np.exp(3.0))]
    np.testing.assert_allclose(binary_cross_entropy(logits, labels), expected, rtol=1e-5)


def test_mse_puts_the_split_off_head_back():
    loss = make_loss("mse", "sigmoid")
    value = loss(jnp.array([[0.0]]), jnp.array([[1.0]]))  # sigmoid(0) = 0.5
    assert float(value[0]) == pytest.approx(0.25)


def test_accuracy_and_top_k():
    logits = jnp.array([[0.1, 0.5, 0.4], [0.9, 0.05, 0.05], [0.2, 0.3, 0.5]])
    labels = jnp.array([2, 0, 0])
    np.testing.assert_array_equal(accuracy(logits, labels), [0.0, 1.0, 0.0])
    np.testing.assert_array_equal(top_k_accuracy(2)(logits, labels), [1.0, 1.0, 0.0])
    binary = jnp.array([[-1.0], [2.0]])
    np.testing.assert_array_equal(accuracy(binary, jnp.array([0, 0])), [1.0, 0.0])


def test_kernel_penalty_counts_kernels_only():
    params = {"kernel": jnp.array([[1.0, -2.0]]), "bias": jnp.array([100.0])}
    assert float(kernel_penalty(params, 0.5, 0.0)) == pytest.approx(1.5)
    assert float(kernel_penalty(params, 0.0, 0.1)) == pytest.approx(0.5)


# --- the logits head ------------------------------------------------------------

SOFTMAX_NODE = "name: a\ninput: [4]\nlayers: [{dense: {units: 3}}, softmax]\n"
FUSED_SIGMOID = "name: b\ninput: [4]\nlayers: [{dense: {units: 1, activation: sigmoid, name: out}}]\n"
NO_HEAD = "name: c\ninput: [4]\nlayers: [{dense: {units: 2, activation: relu}}]\n"


def test_head_split_from_a_softmax_node():
    graph = netspec.load(SOFTMAX_NODE)
    logits, head = split_output_activation(graph)
    assert head == "softmax"
    assert len(logits.nodes) == len(graph.nodes) - 1 and logits.node(logits.output).op == "dense"


def test_head_split_from_a_fused_activation_keeps_the_node():
    graph = netspec.load(FUSED_SIGMOID)
    logits, head = split_output_activation(graph)
    assert head == "sigmoid" and logits.output == "out"
    assert logits.node("out").attrs.activation is None
    assert graph.node("out").attrs.activation.name == "sigmoid"  # the original is untouched


def test_no_head_leaves_the_graph_alone():
    graph = netspec.load(NO_HEAD)
    assert split_output_activation(graph) == (graph, None)


# --- batches ------------------------------------------------------------------------


def test_epoch_order_depends_on_seed_and_epoch_only():
    assert (epoch_order(3, 1, 50) == epoch_order(3, 1, 50)).all()
    assert not (epoch_order(3, 1, 50) == epoch_order(3, 2, 50)).all()
    assert not (epoch_order(3, 1, 50) == epoch_order(4, 1, 50)).all()
    assert sorted(epoch_order(0, 0, 50)) == list(range(50))


def test_train_batches_are_full_and_resume_mid_epoch():
    x = np.arange(10, dtype=np.float32)[:, None]
    y = np.arange(10)
    order = epoch_order(0, 0, 10)
    full = list(train_batches(x, y, order, 3))
    assert len(full) == 3 and all(len(b[0]) == 3 for b in full)  # the last example is dropped
    tail = list(train_batches(x, y, order, 3, start_step=1))
    assert [b[1].tolist() for b in tail] == [b[1].tolist() for b in full[1:]]


def test_eval_batches_pad_and_mask_the_last_batch():
    x = np.ones((5, 2), np.float32)
    batches = list(eval_batches(x, np.arange(5), 4))
    assert [b[2].tolist() for b in batches] == [[1, 1, 1, 1], [1, 0, 0, 0]]
    assert batches[1][0].shape == (4, 2)


def test_prefetcher_passes_errors_to_the_consumer():
    def broken():
        yield 1
        raise ValueError("bad batch")

    with pytest.raises(ValueError, match="bad batch"), Prefetcher(broken(), put=lambda b: b) as batches:
        list(batches)


def test_batch_size_must_divide_over_devices():
    assert check_batch_size(64, 4) == []
    (problem,) = check_batch_size(30, 4)
    assert "multiple of the number of devices (4)" in problem.message and "28 or 32" in problem.hint


# --- checkpoints -----------------------------------------------------------------------


def tree():
    return {"model": {"kernel": np.arange(6, dtype=np.float32).reshape(2, 3), "key": jax.random.key(7)},
            "step": np.array(3, np.uint32)}


def test_checkpoint_round_trip_restores_arrays_and_prng_keys(tmp_path):
    checkpoint.save(tmp_path / "last", checkpoint.flatten(tree()), {"epoch": 2})
    arrays, meta = checkpoint.load(tmp_path / "last")
    restored = checkpoint.unflatten_like(tree(), arrays)
    np.testing.assert_array_equal(restored["model"]["kernel"], tree()["model"]["kernel"])
    assert (jax.random.key_data(restored["model"]["key"]) == jax.random.key_data(jax.random.key(7))).all()
    assert meta == {"epoch": 2}


def test_checkpoint_into_a_different_network_names_the_parameter(tmp_path):
    checkpoint.save(tmp_path / "last", checkpoint.flatten(tree()), {})
    arrays, _ = checkpoint.load(tmp_path / "last")
    other = tree()
    other["model"]["kernel"] = np.zeros((3, 3), np.float32)
    with pytest.raises(NetspecError, match=r"'model/kernel' must have shape \(3, 3\)"):
        checkpoint.unflatten_like(other, arrays)


def test_a_crash_while_writing_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    import orbax.checkpoint as ocp

    checkpoint.save(tmp_path / "last", checkpoint.flatten(tree()), {"epoch": 1})
    original_save = ocp.PyTreeCheckpointer.save

    def crash_midway(self, directory, *args, **kwargs):
        original_save(self, directory, *args, **kwargs)  # the arrays are on disk...
        raise OSError("disk full")                        # ...but the write never finishes

    monkeypatch.setattr(ocp.PyTreeCheckpointer, "save", crash_midway)
    newer = tree()
    newer["model"]["kernel"] = newer["model"]["kernel"] + 100
    with pytest.raises(OSError):
        checkpoint.save(tmp_path / "last", checkpoint.flatten(newer), {"epoch": 2})
    arrays, meta = checkpoint.load(tmp_path / "last")
    assert meta == {"epoch": 1}
    np.testing.assert_array_equal(arrays["model/kernel"], tree()["model"]["kernel"])
    assert [p.name for p in tmp_path.iterdir()] == ["last"]  # the half-written temporary is gone


def test_a_crash_between_the_renames_loads_the_old_checkpoint(tmp_path):
    checkpoint.save(tmp_path / "last", checkpoint.flatten(tree()), {"epoch": 1})
    (tmp_path / "last").rename(tmp_path / ".last.old-123")  # the new one never arrived
    _, meta = checkpoint.load(tmp_path / "last")
    assert meta == {"epoch": 1}
    checkpoint.save(tmp_path / "last", checkpoint.flatten(tree()), {"epoch": 2})  # recovers
    assert checkpoint.load(tmp_path / "last")[1] == {"epoch": 2}


def test_missing_checkpoint_is_a_diagnostic(tmp_path):
    with pytest.raises(NetspecError, match="no checkpoint at"):
        checkpoint.load(tmp_path / "nothing")


# --- run folder -----------------------------------------------------------------------------


def test_an_existing_non_empty_run_folder_is_refused(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "history.json").write_text("[]")
    with pytest.raises(NetspecError) as caught:
        rundir.create(tmp_path / "run")
    assert caught.value.errors[0].code == "run-folder-exists"
    assert "--resume" in caught.value.errors[0].hint
    assert rundir.create(tmp_path / "fresh").is_dir()


def test_default_run_folders_never_collide(tmp_path):
    first = rundir.create(rundir.default_directory("net", tmp_path))
    (first / "x").write_text("")
    second = rundir.default_directory("net", tmp_path)
    assert second != first and second.name.startswith(first.name)


def test_history_files_and_curves(tmp_path):
    history = [{"epoch": 1, "loss": 1.0, "accuracy": 0.5, "val_loss": 1.2, "val_accuracy": 0.4, "time": 1.0,
                "lr": 0.1},
               {"epoch": 2, "loss": 0.5, "accuracy": 0.8, "val_loss": 0.9, "val_accuracy": 0.6, "time": 1.0,
                "lr": 0.1}]
    rundir.write_history(tmp_path, history)
    assert json.loads((tmp_path / "history.json").read_text()) == history
    lines = (tmp_path / "history.csv").read_text().splitlines()
    assert lines[0] == "epoch,loss,accuracy,val_loss,val_accuracy,time,lr" and lines[2].startswith("2,0.5,0.8")
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
