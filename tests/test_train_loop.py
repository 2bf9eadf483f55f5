"""The training loop's behaviour: reproducibility, exact resume, NaN stop,
early stopping, the run folder and the Python API."""

from __future__ import annotations

import json

import numpy as np
import pytest
from small_nets import DROPOUT_SPEC as TINY

import netspec
from netspec.data import load_data
from netspec.diagnostics import NetspecError
from netspec.train import checkpoint, fit
from netspec.train.progress import Display

QUIET = Display(quiet=True)
pytestmark = pytest.mark.usefixtures("compilation_cache")



@pytest.fixture(scope="module")
def graph():
    return netspec.load(TINY)


@pytest.fixture(scope="module")
def data():
    return load_data("synthetic:200", input_shape=(8, 8, 1), output_shape=(3,), seed=0)


def without_timing(history):
    return [{k: v for k, v in row.items() if k not in ("time", "images_per_s")} for row in history]


def weights(directory, which="last"):
    arrays, _ = checkpoint.load(directory / "checkpoints" / which)
    return arrays


def test_same_seed_same_run_other_seed_other_run(graph, data):
    first = fit(graph, data, save=False, display=QUIET)
    second = fit(graph, data, save=False, display=QUIET)
    other = fit(graph, data, save=False, display=QUIET, seed=1)
    assert without_timing(first.history) == without_timing(second.history)
    np.testing.assert_array_equal(first.predict(data.val.x), second.predict(data.val.x))
    assert without_timing(first.history) != without_timing(other.history)


def test_resume_after_an_interruption_equals_an_uninterrupted_run(graph, data, tmp_path):
    # dropout and augmentation make every step depend on RNG state: resume must restore it
    settings = {"epochs": 2, "augment": {"flip_horizontal": True, "flip_vertical": True}}
    whole = fit(graph, data, out=tmp_path / "whole", display=QUIET, **settings)
    steps_per_epoch = len(data.train) // 16
    cut = fit(graph, data, out=tmp_path / "cut", display=QUIET, max_steps=steps_per_epoch + 3, **settings)
    assert cut.stopped == "max_steps" and len(cut.history) == 1
    meta = json.loads((tmp_path / "cut" / "checkpoints" / "last" / "meta.json").read_text())
    assert (meta["epoch"], meta["step_in_epoch"]) == (1, 3)  # stopped mid-epoch
    resumed = fit(graph, data, resume=tmp_path / "cut", display=QUIET)
    assert resumed.stopped == "completed"
    assert without_timing(resumed.history) == without_timing(whole.history)
    a, b = weights(tmp_path / "whole"), weights(tmp_path / "cut")
    assert a.keys() == b.keys() and any("rngs" in name for name in a)  # dropout RNG is checkpointed
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_resume_refuses_to_change_the_batch_order(graph, data, tmp_path):
    fit(graph, data, out=tmp_path / "run", display=QUIET, max_steps=2)
    with pytest.raises(NetspecError) as caught:
        fit(graph, data, resume=tmp_path / "run", display=QUIET, batch_size=8)
    assert caught.value.errors[0].code == "resume-changed"


def test_a_non_finite_loss_stops_with_a_diagnostic_and_keeps_the_last_good_checkpoint(graph, data, tmp_path):
    fit(graph, data, out=tmp_path / "run", display=QUIET, epochs=1)
    good = weights(tmp_path / "run")
    with pytest.raises(NetspecError) as caught:
        fit(graph, data, resume=tmp_path / "run", display=QUIET, epochs=3, lr=1e30, allow_changes=True)
    problem = caught.value.errors[0]
    assert problem.code == "non-finite-loss"
    assert "epoch 2" in problem.message and "last good checkpoint" in problem.message
    assert "--lr" in problem.hint
    kept, meta = checkpoint.load(tmp_path / "run" / "checkpoints" / "last")
    assert meta["epoch"] == 1
    for name in good:
        np.testing.assert_array_equal(kept[name], good[name])
    assert all(np.isfinite(v).all() for v in kept.values() if v.dtype.kind == "f")


def test_early_stopping_stops_after_patience_epochs_without_improvement(graph, data):
    run = fit(graph, data, save=False, display=QUIET, epochs=10,
              early_stopping={"monitor": "val_loss", "patience": 2, "min_delta": 1e9})
    assert run.stopped == "early_stopping"
    assert len(run.history) == 3  # epoch 1 is the best; 2 and 3 do not improve by 1e9
    assert run.session.best["epoch"] == 1


def test_restore_best_puts_the_best_epochs_weights_back(graph, data, tmp_path):
    run = fit(graph, data, out=tmp_path / "run", display=QUIET, epochs=4, lr=0.5,
              early_stopping={"monitor": "val_accuracy", "patience": 4, "restore_best": True})
    best_epoch = run.session.best["epoch"]
    assert best_epoch < len(run.history)  # otherwise the last weights would be the best anyway
    best_meta = json.loads((tmp_path / "run" / "checkpoints" / "best" / "meta.json").read_text())
    assert best_meta["epoch"] == best_epoch
    assert run.evaluate(data.val.x, data.val.y)["accuracy"] == pytest.approx(
        run.history[best_epoch - 1]["val_accuracy"])


def test_monitoring_a_metric_that_is_not_recorded_is_an_error(graph, data):
    with pytest.raises(NetspecError) as caught:
        fit(graph, data, save=False, display=QUIET, early_stopping={"monitor": "val_acc"})
    assert caught.value.errors[0].code == "bad-monitor"
    assert "val_accuracy" in caught.value.errors[0].hint


def test_the_run_folder_holds_everything(graph, data, tmp_path):
    run = fit(graph, data, out=tmp_path / "run", display=QUIET, standardize="per_channel",
              metrics=["accuracy", {"top_k": 2}], spec_text=TINY, data_source="synthetic:200")
    folder = tmp_path / "run"
    names = {p.name for p in folder.iterdir()}
    assert {"spec.yaml", "run.json", "history.json", "history.csv", "curves.png", "standardize.json",
            "classes.json", "checkpoints"} <= names
    assert (folder / "spec.yaml").read_text() == TINY
    history = json.loads((folder / "history.json").read_text())
    assert [row["epoch"] for row in history] == [1, 2]
    for row in history:
        assert {"epoch", "loss", "accuracy", "val_loss", "val_accuracy", "time",
                "top_2_accuracy", "val_top_2_accuracy", "lr"} <= row.keys()
        assert row["top_2_accuracy"] >= row["accuracy"]
    info = json.loads((folder / "run.json").read_text())
    assert info["data"] == "synthetic:200" and info["train"]["standardize"] == "per_channel"
    assert info["test"]["accuracy"] == pytest.approx(run.test["accuracy"])
    stats = json.loads((folder / "standardize.json").read_text())
    assert stats["mode"] == "per_channel" and len(stats["shift"]) == 1
    assert stats["shift"][0] == pytest.approx(float(data.train.x.mean()), rel=1e-4)
    assert {p.name for p in (folder / "checkpoints").iterdir()} == {"best", "last"}


def test_predict_returns_the_specs_probabilities(graph, data):
    run = fit(graph, data, save=False, display=QUIET, epochs=1)
    probabilities = run.predict(data.test.x[:5])
    assert probabilities.shape == (5, 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    evaluation = run.evaluate(data.test.x, data.test.y)
    assert list(evaluation) == ["loss", "accuracy"]
    assert evaluation["accuracy"] == pytest.approx(run.test["accuracy"])


def test_the_loss_defaults_from_the_output_layer_and_the_data(data):
    binary = netspec.load("name: b\ninput: [8, 8, 1]\nlayers: [flatten, {dense: {units: 1}}, sigmoid]\n")
    two = load_data("synthetic:64", input_shape=(8, 8, 1), output_shape=(1,), seed=0)
    run = fit(binary, two, save=False, display=QUIET, epochs=1, batch_size=8)
    assert run.session.loss_name == "binary_cross_entropy" and run.session.head == "sigmoid"
    assert run.history[0]["accuracy"] is not None


def test_data_that_does_not_fit_the_spec_is_caught_before_training(graph):
    wrong = load_data("synthetic:64", input_shape=(8, 8, 3), output_shape=(3,), seed=0)
    with pytest.raises(NetspecError) as caught:
        fit(graph, wrong, save=False, display=QUIET)
    assert caught.value.errors[0].code == "data-input-shape"
