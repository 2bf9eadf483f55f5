"""`netspec augment-preview` and the training header's augmentation line."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from netspec import cli
from netspec.spec.train import AugmentSpec
from netspec.train.augment_preview import augmented_examples, describe

SPEC = """\
name: aug
input: [8, 8, 1]
layers: [flatten, {dense: {units: 3}}, softmax]
train:
  augment: {flip_horizontal: true}
"""


def test_flip_only_copies_are_the_image_or_its_mirror():
    images = np.random.default_rng(0).random((3, 8, 8, 1)).astype(np.float32)
    drawn = augmented_examples(AugmentSpec(flip_horizontal=True), images, 8)
    assert drawn.shape == (3, 8, 8, 8, 1)
    mirrored = 0
    for index in range(3):
        for copy in drawn[index]:
            same, mirror = np.array_equal(copy, images[index]), np.array_equal(copy, images[index][:, ::-1])
            assert same or mirror
            mirrored += mirror
    assert 0 < mirrored < 24  # both outcomes happen


def test_describe_names_each_augmentation():
    line = describe(AugmentSpec(shift=[0.2, 0.1], zoom=0.1, shear=5, fill="constant", fill_value=0.5))
    assert line == ("augment: shift ±20% of height / ±10% of width, zoom 0.9–1.1, shear ±5°, fill constant 0.5")


def test_preview_command_draws_originals_and_copies(tmp_path, capsys):
    spec = tmp_path / "aug.yaml"
    spec.write_text(SPEC)
    output = tmp_path / "preview.png"
    assert cli.main(["augment-preview", str(spec), "--data", "synthetic:60", "-n", "3", "--copies", "4",
                     "--set", "augment={rotation: 30}", "-o", str(output)]) == 0
    assert "augment: rotation ±30°" in capsys.readouterr().out
    pixels = np.asarray(Image.open(output).convert("RGB")).astype(int)
    green = (np.abs(pixels - [44, 160, 44]).sum(axis=-1) < 40).sum()
    assert green > 3 * 4 * 20  # the three originals are framed in green
    assert cli.main(["augment-preview", str(spec), "--data", "synthetic:60", "-o", str(output)]) == 1
    assert "already exists" in capsys.readouterr().err
    plain = tmp_path / "plain.yaml"
    plain.write_text(SPEC.replace("  augment: {flip_horizontal: true}\n", "  epochs: 1\n"))
    assert cli.main(["augment-preview", str(plain), "--data", "synthetic:60", "-o", str(tmp_path / "p.png")]) == 1
    assert "trains without augmentation" in capsys.readouterr().err


@pytest.mark.parametrize("augment, expected", [(None, "augment: off"),
                                               ("{flip_horizontal: true}", "augment: horizontal flips")])
def test_training_header_says_which_augmentations_are_on(tmp_path, capsys, augment, expected):
    spec = tmp_path / "aug.yaml"
    spec.write_text(SPEC.replace("  augment: {flip_horizontal: true}\n", "  epochs: 1\n"))
    extra = ["--set", f"augment={augment}"] if augment else []
    assert cli.main(["train", str(spec), "--data", "synthetic:60", "--out", str(tmp_path / "run"),
                     "--quiet", "--batch-size", "8", *extra]) == 0
    assert expected in capsys.readouterr().out.splitlines()


@pytest.mark.parametrize(("value", "expected"), [
    ("augment={rotation: 30", "--set augment"),  # unbalanced flow mapping: a YAML error, not a traceback
    ("augment", "--set must be KEY=VALUE"),
    ("augment=[&a [*a, *a], *a]", "--set augment"),  # aliases: refused as in a spec file
])
def test_preview_reads_set_as_train_does(tmp_path, capsys, value, expected):
    spec = tmp_path / "aug.yaml"
    spec.write_text(SPEC)
    output = tmp_path / "preview.png"
    assert cli.main(["augment-preview", str(spec), "--data", "synthetic:60", "--set", value, "-o", str(output)]) == 1
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err
    assert not output.exists()
