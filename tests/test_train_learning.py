"""The zoo's training targets: the nets learn, end to end through the CLI.

The lectures' CIFAR-10 convnet trains on ``npz:`` data and the cats-vs-dogs
net on a ``folder:`` tree, both generated here (small, learnable, fast);
the causal TCN learns a noisy sine far better than a naive forecast; LeNet-5
reaches 97% on the embedded real MNIST images (slow: about a minute).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT

from netspec import cli


@pytest.fixture(autouse=True)
def shared_compile_cache(monkeypatch, tmp_path_factory):
    monkeypatch.setenv("NETSPEC_JAX_CACHE", str(tmp_path_factory.getbasetemp() / "jax-cache-learning"))


def example(name: str, tmp_path: Path, input_shape: list[int] | None = None) -> Path:
    """An example spec; with ``input_shape``, the same layers on smaller inputs (a fast variant)."""
    text = (ROOT / "examples" / f"{name}.yaml").read_text()
    if input_shape is not None:
        text, count = re.subn(r"(?m)^input: \[.*\]$", f"input: {input_shape}", text)
        assert count == 1
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return path


def history(run: Path) -> list[dict]:
    return json.loads((run / "history.json").read_text())


def colour_classes(count: int, size: int, classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images (count, size, size, 3): each class a fixed colour and blob position, plus noise."""
    rng = np.random.default_rng(seed)
    palette = np.random.default_rng(99).uniform(40, 215, size=(classes, 3))
    labels = np.arange(count) % classes
    images = rng.normal(0, 25, size=(count, size, size, 3)) + palette[labels][:, None, None, :]
    rows = (labels * 7) % (size - size // 4)
    for index, (label, row) in enumerate(zip(labels, rows)):
        images[index, row:row + size // 4, (label * 5) % (size // 2):][..., label % 3] += 60
    return np.clip(images, 0, 255).astype(np.uint8), labels.astype(np.int64)


@pytest.mark.parametrize("size", [pytest.param(16, id="16x16"), pytest.param(32, id="32x32", marks=pytest.mark.slow)])
def test_the_lectures_cifar10_net_trains_on_npz_data(tmp_path, size):
    x, y = colour_classes(480, size, 10, seed=0)
    x_test, y_test = colour_classes(100, size, 10, seed=1)
    np.savez(tmp_path / "cifar_like.npz", x_train=x, y_train=y, x_test=x_test, y_test=y_test,
             class_names=np.array(["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                                   "ship", "truck"]))
    spec = example("cifar10_convnet", tmp_path, None if size == 32 else [size, size, 3])
    out = tmp_path / "run"
    # the lecture's recipe: SGD(lr=0.01, momentum=0.9, decay=lr/epochs), every kernel under maxnorm(3)
    status = cli.main(["train", str(spec), "--data", f"npz:{tmp_path / 'cifar_like.npz'}", "--out", str(out),
                       "--epochs", "3", "--quiet", "--max-norm", "3", "--schedule", "inverse_time",
                       "--set", "schedule.decay_rate=0.0004", "--set", "schedule.decay_steps=1"])
    assert status == 0
    rows = history(out)
    assert rows[-1]["loss"] < rows[0]["loss"]
    assert rows[-1]["val_accuracy"] >= 0.6  # chance is 0.1
    assert json.loads((out / "run.json").read_text())["test"]["accuracy"] >= 0.6
    assert json.loads((out / "classes.json").read_text())[3] == "cat"


def stripes(horizontal: bool, size: int, rng) -> np.ndarray:
    """uint8 (size, size, 3): random-colour stripes of random period, horizontal ("cats") or vertical."""
    period = int(rng.integers(6, 12))
    line = ((np.arange(size) + rng.integers(0, period)) % period < period // 2).astype(np.float64)
    pattern = np.tile(line[:, None], (1, size)) if horizontal else np.tile(line[None, :], (size, 1))
    image = pattern[..., None] * rng.uniform(80, 255, size=3) + rng.normal(0, 20, size=(size, size, 3))
    return np.clip(image, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("size", [pytest.param(48, id="48x48"), pytest.param(150, id="150x150", marks=pytest.mark.slow)])
def test_the_cats_vs_dogs_net_trains_on_an_image_folder_with_augmentation(tmp_path, size):
    from PIL import Image

    rng = np.random.default_rng(0)
    for split, count in (("train", 40), ("validation", 12)):
        for name, horizontal in (("cats", True), ("dogs", False)):
            folder = tmp_path / "data" / split / name
            folder.mkdir(parents=True)
            for index in range(count):
                Image.fromarray(stripes(horizontal, 64, rng)).save(folder / f"{name}.{index}.jpg")
    spec = example("cats_vs_dogs", tmp_path, None if size == 150 else [size, size, 3])
    out = tmp_path / "run"
    status = cli.main(["train", str(spec), "--data", f"folder:{tmp_path / 'data'}", "--out", str(out),
                       "--epochs", "6", "--quiet", "--set", "augment={flip_horizontal: true, zoom: 0.1}"])
    assert status == 0
    rows = history(out)
    assert json.loads((out / "classes.json").read_text()) == ["cats", "dogs"]
    assert json.loads((out / "run.json").read_text())["loss"] == "binary_cross_entropy"
    assert max(row["val_accuracy"] for row in rows) >= 0.8


def test_the_causal_tcn_forecasts_a_noisy_sine_far_better_than_a_naive_forecast(tmp_path):
    from netspec.data import load_data

    out = tmp_path / "run"
    status = cli.main(["train", str(ROOT / "specs" / "tcn.yaml"), "--data", "synthetic:sine:3000", "--out",
                       str(out), "--epochs", "8", "--quiet"])
    assert status == 0
    rows = history(out)
    assert rows[0]["accuracy"] is None  # regression: no accuracy column
    data = load_data("synthetic:sine:3000", input_shape=(64, 1), output_shape=(64, 1), val_split=0.1)
    # naive forecast: tomorrow is like today (the value one step before each target)
    persistence = float(np.mean((data.val.x - data.val.y) ** 2))
    assert rows[-1]["val_loss"] < 0.5 * persistence


@pytest.mark.slow
def test_lenet_reaches_97_percent_on_the_embedded_mnist_images(tmp_path):
    out = tmp_path / "run"
    status = cli.main(["train", str(ROOT / "specs" / "lenet.yaml"), "--data", "mnist", "--no-download",
                       "--out", str(out), "--quiet", "--optimizer", "sgd", "--lr", "0.05", "--momentum", "0.9",
                       "--batch-size", "64", "--schedule", "cosine", "--epochs", "10"])
    assert status == 0
    assert history(out)[-1]["val_accuracy"] >= 0.97
    notes = json.loads((out / "run.json").read_text())["notes"]
    assert any("10,000 real images" in note for note in notes)


# The four canonical MNIST files (60,000 training images), laid beside the checkout for developers
# and CI; absent elsewhere, where the embedded-split test above still runs.
SHARED_MNIST = ROOT.parent / "shared" / "data" / "mnist"


@pytest.mark.slow
@pytest.mark.skipif(not (SHARED_MNIST / "train-images-idx3-ubyte.gz").exists(),
                    reason="the full MNIST files are not beside this checkout (../shared/data/mnist)")
def test_lenet_learns_the_full_mnist_training_set_in_one_epoch(tmp_path, monkeypatch):
    monkeypatch.setenv("NETSPEC_DATA", str(SHARED_MNIST.parent))
    out = tmp_path / "run"
    status = cli.main(["train", str(ROOT / "specs" / "lenet.yaml"), "--data", "mnist", "--no-download",
                       "--out", str(out), "--quiet", "--optimizer", "sgd", "--lr", "0.05", "--momentum", "0.9",
                       "--batch-size", "64", "--epochs", "1"])
    assert status == 0
    run = json.loads((out / "run.json").read_text())
    assert not any("embedded" in note for note in run["notes"])  # the real training set, not the fallback
    assert history(out)[-1]["val_accuracy"] >= 0.975  # 6,000 held-out training images after one epoch
