"""Input standardisation: statistics from the training split only, saved and restored exactly."""

from __future__ import annotations

import json

import numpy as np
import pytest

from netspec.data.standardize import MODES, Standardizer


@pytest.fixture
def images() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.uniform(0.0, 1.0, size=(64, 5, 5, 3)).astype(np.float32) * np.array(
        [1.0, 2.0, 4.0], np.float32
    )


def test_per_pixel_matches_the_lecture_recipe(images):
    standardizer = Standardizer.fit(images, "per_pixel")
    expected = (images - images.mean(axis=0)) / images.std(axis=0)
    np.testing.assert_allclose(standardizer.apply(images), expected, rtol=1e-5, atol=1e-5)
    assert standardizer.shift.shape == (5, 5, 3)
    out = standardizer.apply(images)
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=0), 1.0, atol=1e-4)


def test_per_channel_uses_one_mean_and_spread_per_channel(images):
    standardizer = Standardizer.fit(images, "per_channel")
    assert standardizer.shift.shape == (3,) and standardizer.divisor.shape == (3,)
    out = standardizer.apply(images)
    np.testing.assert_allclose(out.reshape(-1, 3).mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(out.reshape(-1, 3).std(axis=0), 1.0, atol=1e-4)
    np.testing.assert_allclose(standardizer.shift, [0.5, 1.0, 2.0], atol=0.06)


def test_scale_maps_the_training_range_to_unit_interval_per_channel():
    series = np.stack([np.linspace(-10, 30, 50), np.linspace(100, 200, 50)], axis=-1)[None].repeat(4, 0)
    standardizer = Standardizer.fit(series, "scale")
    out = standardizer.apply(series)
    np.testing.assert_allclose(out.min(axis=(0, 1)), 0.0, atol=1e-6)
    np.testing.assert_allclose(out.max(axis=(0, 1)), 1.0, atol=1e-6)


def test_none_is_the_identity(images):
    standardizer = Standardizer.fit(images, "none")
    assert standardizer.apply(images) is images
    assert Standardizer.from_dict(standardizer.to_dict()).apply(images) is images


def test_constant_positions_are_centred_not_blown_up():
    train = np.zeros((10, 4), np.float32)
    train[:, 1] = np.arange(10)
    standardizer = Standardizer.fit(train, "per_pixel")
    unseen = np.array([[0.5, 4.5, 0.0, 0.0]], np.float32)
    out = standardizer.apply(unseen)
    assert out[0, 0] == pytest.approx(0.5)  # the always-zero position: only centred (divisor 1)
    assert out[0, 1] == pytest.approx(0.0, abs=1e-6)


def test_statistics_come_from_the_training_split_only(images):
    train, val = images[:48], images[48:] + 10.0
    standardizer = Standardizer.fit(train, "per_channel")
    np.testing.assert_allclose(
        standardizer.apply(val), (val - train.reshape(-1, 3).mean(0)) / train.reshape(-1, 3).std(0), rtol=1e-5
    )


@pytest.mark.parametrize("mode", MODES)
def test_round_trips_through_json(images, mode):
    standardizer = Standardizer.fit(images, mode)
    restored = Standardizer.from_dict(json.loads(json.dumps(standardizer.to_dict())))
    assert restored.mode == mode
    np.testing.assert_array_equal(restored.apply(images), standardizer.apply(images))


def test_apply_works_on_jax_arrays(images):
    import jax.numpy as jnp

    standardizer = Standardizer.fit(images, "per_pixel")
    np.testing.assert_allclose(
        np.asarray(standardizer.apply(jnp.asarray(images))), standardizer.apply(images), rtol=1e-6, atol=1e-6
    )


def test_bad_modes_and_empty_splits_are_refused(images):
    with pytest.raises(ValueError, match="per_pixel"):
        Standardizer.fit(images, "per_image")
    with pytest.raises(ValueError, match="empty"):
        Standardizer.fit(images[:0], "per_channel")
    with pytest.raises(ValueError):
        Standardizer.from_dict({"mode": "zscore"})
