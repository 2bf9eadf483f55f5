"""Bottleneck features: a trained layer's activations for a dataset, written
as npz that ``npz:`` data reads back, and a small head trained on them
(netspec.interpret.features, ``netspec features``)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from trained_mnist import mnist, run_cli

from netspec.builder import layer_outputs
from netspec.data import load_data
from netspec.diagnostics import NetspecError
from netspec.interpret.features import extract_features, write_features
from netspec.interpret.trained import open_trained
from netspec.pipeline import load

HEAD = """\
name: head
input: [784]
layers:
  - dense: {units: 32, activation: relu}
  - dense: {units: 10}
  - softmax
train:
  optimizer: {name: adam, lr: 0.003}
  batch_size: 64
  epochs: 2
"""


@pytest.fixture(scope="module")
def features_file(probe, tmp_path_factory):
    spec, run = probe
    path = tmp_path_factory.mktemp("features") / "flat.npz"
    status = run_cli(["features", spec, "--checkpoint", run, "--layer", "flatten_1", "--no-download",
                      "-o", path])
    assert status == 0
    return path


def test_extract_features_equals_the_layer_output_batch_by_batch(probe):
    spec, run = probe
    trained = open_trained(str(spec), str(run))
    x = mnist().val.x[:70]
    features = extract_features(trained.model, x, "max_pool2d_2", batch_size=32)  # 3 batches, the last padded
    assert features.shape == (70, 7, 7, 16) and features.dtype == np.float32
    direct = np.asarray(layer_outputs(trained.model, jnp.asarray(x), ["max_pool2d_2"])["max_pool2d_2"])
    assert np.allclose(features, direct, atol=1e-5)


def test_features_command_writes_every_split_with_labels_and_class_names(features_file):
    data = mnist()
    with np.load(features_file) as stored:
        assert sorted(stored.files) == ["class_names", "features_train", "features_val", "labels_train",
                                        "labels_val", "layer"]
        assert stored["features_train"].shape == (len(data.train), 784)
        assert stored["features_val"].shape == (len(data.val), 784)
        assert np.array_equal(stored["labels_val"], data.val.y)  # the run's own split, in order
        assert list(stored["class_names"]) == [str(d) for d in range(10)]
        assert str(stored["layer"]) == "flatten_1"
        assert (stored["features_train"] >= 0).all()  # flattened relu maps


def test_npz_data_feeds_the_features_to_a_small_dense_head(features_file):
    from netspec.train import fit

    dataset = load_data(f"npz:{features_file}", input_shape=(784,))
    assert dataset.class_names == [str(d) for d in range(10)] and len(dataset.val) == len(mnist().val)
    run = fit(load(HEAD), dataset, save=False, quiet=True)
    assert run.history[-1]["val_accuracy"] > 0.9  # the conv base's features separate the digits


def test_features_refuses_to_overwrite_without_force(probe, features_file, monkeypatch, capsys):
    spec, run = probe
    before = features_file.stat().st_mtime_ns
    argv = ["features", spec, "--checkpoint", run, "--layer", "flatten_1", "--no-download", "-o", features_file]
    assert run_cli(argv) == 1
    assert "already exists" in capsys.readouterr().err and features_file.stat().st_mtime_ns == before
    assert run_cli(argv + ["--layer", "flaten_1"]) == 1
    assert "did you mean 'flatten_1'?" in capsys.readouterr().err
    assert run_cli(argv + ["--force", "--layer", "conv2"]) == 0
    with np.load(features_file) as stored:
        assert stored["features_val"].shape == (len(mnist().val), 14, 14, 16)


def test_write_features_wants_npz(tmp_path):
    with pytest.raises(NetspecError, match="written as .npz"):
        write_features(tmp_path / "f.csv", {}, class_names=None, layer="x")
