"""examples/transfer_vgg16: the lectures' VGG16 recipe end to end, with the small
VGG-style network and a random-weight Keras-layout file, on a tiny folder dataset."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from netspec.cli import main

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "transfer_vgg16"


def _folder_dataset(root: Path) -> Path:
    """cats (dark, warm) and dogs (bright, cool): 10 PNGs each, 32x32 RGB."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for label, base in (("cats", (90, 50, 30)), ("dogs", (140, 170, 210))):
        (root / label).mkdir(parents=True)
        for index in range(10):
            pixels = np.clip(np.array(base) + rng.normal(0, 25, (32, 32, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(root / label / f"{index}.png")
    return root


@pytest.fixture()
def workdir(tmp_path, monkeypatch):
    for name in ("vgg_tiny.yaml", "features.yaml", "head.yaml", "finetune.yaml", "make_tiny_weights.py"):
        shutil.copy(EXAMPLE / name, tmp_path / name)
    from importlib import util

    spec = util.spec_from_file_location("make_tiny_weights", EXAMPLE / "make_tiny_weights.py")
    module = util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.write(tmp_path / "vgg_tiny_notop.h5")
    _folder_dataset(tmp_path / "pets")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_recipe_runs_end_to_end(workdir, capsys):
    import h5py
    from flax import nnx

    import netspec
    from netspec.builder import layer_module
    from netspec.train.transfer import initialize_from

    # 1. the base with its pretrained weights, as a run (the weights its base: names)
    assert main(["weights", "import", "features.yaml", "--out", "runs/features"]) == 0
    out = capsys.readouterr().out
    assert "4/4 layers, 4,296 parameters loaded" in out
    for layer in ("block1_conv1", "block1_conv2", "block2_conv1", "block2_conv2"):
        assert f"loaded   {layer}" in out
    # 2. bottleneck features of the folder dataset
    assert main(["features", "features.yaml", "--checkpoint", "runs/features", "--layer", "features",
                 "--data", "folder:pets", "-o", "feats.npz"]) == 0
    with np.load("feats.npz") as features:
        assert features["features_train"].shape == (18, 1024)
    # 3. the head on the features
    assert main(["train", "head.yaml", "--data", "npz:feats.npz", "--out", "runs/head", "--epochs", "1"]) == 0
    # before fine-tuning, the whole network is exactly base file + head run
    graph = netspec.load("finetune.yaml")
    model = netspec.build(graph)  # base: {weights:} is loaded by build
    nnx.update(model, initialize_from(graph, nnx.state(model), graph.train.init_from))
    with h5py.File("vgg_tiny_notop.h5") as handle:
        np.testing.assert_array_equal(layer_module(model, "block2_conv1").kernel[...],
                                      handle["block2_conv1/block2_conv1/kernel:0"][...])
    head = netspec.build("head.yaml", weights="runs/head")
    np.testing.assert_array_equal(layer_module(model, "head_fc").kernel[...], layer_module(head, "head_fc").kernel[...])
    # 4. the whole network: base weights from the file, head from runs/head, block 1 frozen, SGD 1e-4 / 0.9
    assert main(["train", "finetune.yaml", "--data", "folder:pets", "--out", "runs/finetune", "--epochs", "1"]) == 0
    captured = capsys.readouterr()
    assert "4/4 layers, 4,296 parameters loaded" in captured.out + captured.err
    history = json.loads((workdir / "runs/finetune/history.json").read_text())
    assert len(history) == 1 and np.isfinite(history[0]["loss"])
    tuned = netspec.build("finetune.yaml", weights="runs/finetune")
    np.testing.assert_array_equal(layer_module(tuned, "block1_conv1").kernel[...],  # frozen: bit for bit
                                  layer_module(model, "block1_conv1").kernel[...])
