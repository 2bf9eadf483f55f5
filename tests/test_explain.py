"""Saliency and occlusion maps of a trained MNIST net: what they measure, and
that they point at the digit (netspec.interpret.explain, ``netspec explain``)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image
from trained_mnist import mnist, run_cli, save_digit

from netspec.diagnostics import NetspecError
from netspec.interpret.explain import Scorer, _starts, occlusion, overlay_png, saliency


@pytest.fixture(scope="module")
def images():
    data = mnist()
    return data.val.x[:200], data.val.y[:200]


def test_saliency_mass_lies_on_the_digit(trained, images):
    x, _ = images
    heat = saliency(trained.logits_model, x)
    assert heat.shape == (200, 28, 28) and (heat >= 0).all()
    ink = x[..., 0] > 0
    share = (heat * ink).sum(axis=(1, 2)) / heat.sum(axis=(1, 2))
    assert ink.mean() < 0.25  # the digit covers under a quarter of the image...
    assert share.mean() > 0.5 and np.median(share) > 0.5  # ...but holds most of the saliency
    per_pixel_on_ink = (heat * ink).sum() / ink.sum()
    per_pixel_off_ink = (heat * ~ink).sum() / (~ink).sum()
    assert per_pixel_on_ink > 4 * per_pixel_off_ink


def test_saliency_is_the_gradient_of_the_pre_softmax_score(trained, images):
    x, _ = images
    image = x[3]
    heat = saliency(trained.logits_model, image, class_index=5)
    # Central differences of logit 5 against single pixels (the net is piecewise linear: exact up to float error).
    logits = Scorer(trained.logits_model).logits
    state = Scorer(trained.logits_model).state
    brightest = np.unravel_index(np.argsort(heat, axis=None)[-3:], heat.shape)
    for row, column in zip(*brightest):
        step = np.zeros_like(image)
        step[row, column, 0] = 1e-2
        change = logits(state, jnp.asarray(np.stack([image + step, image - step])))[:, 5]
        assert abs(float(change[0] - change[1]) / 2e-2) == pytest.approx(heat[row, column], rel=0.05, abs=1e-4)
    # The full model ends in softmax; given the spec, saliency removes it and agrees exactly.
    assert np.allclose(saliency(trained.model, image, 5, graph=trained.graph), heat, atol=1e-6)
    through_softmax = saliency(trained.model, image, 5)
    assert not np.allclose(through_softmax, heat, atol=1e-3)


def test_saliency_of_a_batch_equals_one_image_at_a_time_and_defaults_to_the_predicted_class(trained, images):
    x, _ = images
    batch = saliency(trained.logits_model, x[:4], batch_size=3)
    for i in range(4):
        predicted = int(np.argmax(trained.logits_model(jnp.asarray(x[i:i + 1]))[0]))
        assert np.allclose(batch[i], saliency(trained.logits_model, x[i], predicted), atol=1e-6)



def test_saliency_of_a_batch_takes_one_class_per_image(trained, images):
    x, _ = images
    classes = np.array([3, 1, 4, 1])
    batch = saliency(trained.logits_model, x[:4], classes, batch_size=3)
    for i in range(4):
        assert np.allclose(batch[i], saliency(trained.logits_model, x[i], int(classes[i])), atol=1e-6)
    with pytest.raises(NetspecError, match="3 class indices for 4 images"):
        saliency(trained.logits_model, x[:4], classes[:3])
    with pytest.raises(NetspecError, match="class index must be in 0..9, but got 12"):
        saliency(trained.logits_model, x[:4], np.array([1, 2, 12, 3]))


def test_occluding_the_strokes_lowers_the_class_probability_more_than_the_background(trained, images):
    x, y = images
    stroke_wins = 0
    for image, label in zip(x[:10], y[:10]):
        heat = occlusion(trained.logits_model, image, int(label))
        assert heat.shape == (28, 28)
        stroke = image[..., 0] > 0.2
        stroke_wins += heat[stroke].mean() > heat[~stroke].mean()
    assert stroke_wins >= 8


def test_occlusion_with_a_whole_image_patch_is_the_drop_to_the_filled_image(trained, images):
    x, _ = images
    image = x[0]
    heat = occlusion(trained.logits_model, image, 2, patch=28, fill="black")
    probabilities = jax.nn.softmax(trained.logits_model(jnp.asarray(np.stack([image, np.zeros_like(image)]))))
    expected = float(probabilities[0, 2] - probabilities[1, 2])
    assert np.allclose(heat, expected, atol=1e-6)


def test_patch_positions_cover_the_whole_image():
    assert _starts(28, 4, 2) == list(range(0, 25, 2))
    assert _starts(28, 6, 4) == [0, 4, 8, 12, 16, 20, 22]
    assert _starts(5, 5, 3) == [0]


def test_bad_arguments_are_diagnostics(trained, images):
    x, _ = images
    with pytest.raises(NetspecError, match="class index must be in 0..9"):
        saliency(trained.logits_model, x[0], 10)
    with pytest.raises(NetspecError, match="patch must be in 1..28"):
        occlusion(trained.logits_model, x[0], patch=40)
    with pytest.raises(NetspecError, match="fill must be"):
        occlusion(trained.logits_model, x[0], fill="purple")
    with pytest.raises(NetspecError, match="one image"):
        occlusion(trained.logits_model, x[:2])


def test_overlay_png_draws_image_map_and_overlay(tmp_path, images):
    x, _ = images
    path = overlay_png(x[0], np.random.default_rng(0).random((28, 28)), tmp_path / "deep" / "heat.png", title="t")
    with Image.open(path) as picture:
        assert picture.format == "PNG" and picture.size == (1050, 380)
        pixels = np.asarray(picture.convert("RGB"))
    assert pixels.std() > 20  # not a blank canvas


def test_explain_command_writes_both_maps(probe, tmp_path, monkeypatch, capsys):
    spec, run = probe
    image, label = save_digit(tmp_path / "digit.png", 0)
    monkeypatch.chdir(tmp_path)
    assert run_cli(["explain", spec, image, "--checkpoint", run, "--method", "saliency"]) == 0
    assert f"predicted '{label}'" in capsys.readouterr().out
    assert run_cli(["explain", spec, image, "--checkpoint", run, "--method", "occlusion", "--class", "3",
                    "-o", "occluded.png"]) == 0
    for name in ("digit-saliency.png", "occluded.png"):
        with Image.open(tmp_path / name) as picture:
            assert picture.size == (1050, 380)
    assert run_cli(["explain", spec, image, "--checkpoint", run, "--class", "seven", "--force"]) == 1
    assert "no class named 'seven'" in capsys.readouterr().err


def test_a_single_sigmoid_unit_is_a_two_class_score():
    from netspec import build
    from netspec.pipeline import load

    graph = load("name: binary\ninput: [6, 6, 3]\nlayers: [flatten, {dense: {units: 1, name: z}}, sigmoid]\n")
    model = build(graph, seed=0)
    image = np.random.default_rng(0).random((6, 6, 3)).astype(np.float32)
    scorer = Scorer(model, graph=graph)
    z = float(layer_z(model, image))
    assert np.allclose(scorer.probabilities(scorer.state, image[None])[0], [1 - _sigmoid(z), _sigmoid(z)], atol=1e-6)
    one, zero = saliency(model, image, 1, graph=graph), saliency(model, image, 0, graph=graph)
    kernel = np.asarray(model.z.kernel[...]).reshape(6, 6, 3)
    assert np.allclose(one, np.abs(kernel).max(axis=-1) / 2, atol=1e-6) and np.allclose(zero, one)


def layer_z(model, image):
    from netspec.builder import layer_outputs

    return layer_outputs(model, jnp.asarray(image[None]), ["z"])["z"][0, 0]


def _sigmoid(z: float) -> float:
    return 1 / (1 + np.exp(-z))
