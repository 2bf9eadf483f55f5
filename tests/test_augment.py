"""Augmentation: exact identity and flips, geometry of shifts and rotations, jit/vmap, randomness."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from pydantic import ValidationError

from netspec.train.augment import AugmentSpec, affine, make_augment, rotation_matrix, transform_matrix


@pytest.fixture
def batch() -> jnp.ndarray:
    rng = np.random.default_rng(0)
    return jnp.asarray(rng.uniform(size=(16, 9, 9, 3)).astype(np.float32))


def test_nothing_asked_is_the_exact_identity(batch):
    augment = make_augment(AugmentSpec())
    assert augment(jax.random.key(0), batch) is batch
    # zero ranges through the affine path are exact too
    np.testing.assert_array_equal(
        np.asarray(affine(batch[0], jnp.eye(2), jnp.zeros(2))), np.asarray(batch[0])
    )


def test_flips_are_exact_and_chosen_per_example(batch):
    images = np.asarray(batch)
    out = np.asarray(make_augment(AugmentSpec(flip_horizontal=True))(jax.random.key(1), batch))
    flipped = [np.array_equal(o, x[:, ::-1]) for o, x in zip(out, images)]
    kept = [np.array_equal(o, x) for o, x in zip(out, images)]
    assert all(f or k for f, k in zip(flipped, kept)) and any(flipped) and any(kept)
    out = np.asarray(make_augment(AugmentSpec(flip_vertical=True))(jax.random.key(2), batch))
    assert all(np.array_equal(o, x) or np.array_equal(o, x[::-1]) for o, x in zip(out, images))


def test_integer_shift_moves_content_by_that_many_pixels():
    image = np.zeros((10, 10, 1), np.float32)
    image[4, 4] = 1.0
    moved = np.asarray(affine(jnp.asarray(image), jnp.eye(2), jnp.array([-2.0, 3.0]), fill="constant"))
    assert np.argwhere(moved[..., 0] == 1.0).tolist() == [[6, 1]]
    assert moved.sum() == pytest.approx(1.0)


def test_rotation_by_90_degrees_matches_rot90():
    image = np.random.default_rng(3).uniform(size=(12, 12, 2)).astype(np.float32)
    rotated = np.asarray(affine(jnp.asarray(image), rotation_matrix(90.0), jnp.zeros(2)))
    np.testing.assert_allclose(rotated, np.rot90(image), atol=1e-5)


def test_zoom_and_shear_matrix_compose_like_keras():
    matrix = np.asarray(transform_matrix(0.0, 0.0, 2.0, 0.5))
    np.testing.assert_allclose(matrix, [[2.0, 0.0], [0.0, 0.5]], atol=1e-7)
    shear = np.asarray(transform_matrix(0.0, 30.0, 1.0, 1.0))
    np.testing.assert_allclose(shear, [[1.0, -0.5], [0.0, np.cos(np.pi / 6)]], atol=1e-6)


def test_constant_fill_uses_the_fill_value():
    image = jnp.ones((6, 6, 1))
    moved = np.asarray(affine(image, jnp.eye(2), jnp.array([0.0, 3.0]), fill="constant", fill_value=-1.0))
    assert (moved[:, :3] == 1.0).all() and (moved[:, 3:] == -1.0).all()
    nearest = np.asarray(affine(image, jnp.eye(2), jnp.array([0.0, 3.0]), fill="nearest"))
    assert (nearest == 1.0).all()


FULL = AugmentSpec(flip_horizontal=True, shift=0.2, rotation=30, zoom=0.2, shear=10, fill="reflect")


def test_full_augmentation_keeps_shape_and_dtype_and_differs_per_example(batch):
    same_image = jnp.broadcast_to(batch[:1], batch.shape)
    out = jax.jit(make_augment(FULL))(jax.random.key(4), same_image)
    assert out.shape == batch.shape and out.dtype == batch.dtype
    differences = [float(jnp.abs(out[i] - out[0]).max()) for i in range(1, len(out))]
    assert min(differences) > 1e-3
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0  # bilinear never leaves the input range


def test_same_key_same_result_and_jit_matches_eager(batch):
    augment = make_augment(FULL)
    eager = augment(jax.random.key(5), batch)
    jitted = jax.jit(augment)(jax.random.key(5), batch)
    np.testing.assert_allclose(np.asarray(eager), np.asarray(jitted), atol=1e-6)
    assert not np.allclose(np.asarray(eager), np.asarray(augment(jax.random.key(6), batch)))


def test_works_under_vmap_over_groups_of_batches(batch):
    augment = make_augment(FULL)
    groups = batch.reshape(4, 4, 9, 9, 3)
    keys = jax.random.split(jax.random.key(7), 4)
    out = jax.jit(jax.vmap(augment))(keys, groups)
    assert out.shape == groups.shape
    np.testing.assert_allclose(
        np.asarray(out[2]), np.asarray(jax.jit(augment)(keys[2], groups[2])), atol=1e-6
    )


def test_spec_validates_ranges_and_rejects_unknown_keys():
    assert AugmentSpec(shift=0.1).shift == (0.1, 0.1)
    assert AugmentSpec(shift=[0.1, 0.2]).shift == (0.1, 0.2)
    assert not AugmentSpec().active and AugmentSpec(flip_vertical=True).active
    for bad in ({"rotaton": 10}, {"shift": 1.5}, {"zoom": -0.1}, {"rotation": 400}, {"fill": "mirror"}):
        with pytest.raises(ValidationError):
            AugmentSpec(**bad)
