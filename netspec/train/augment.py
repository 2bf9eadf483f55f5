"""Data augmentation inside the jitted train step: random flips and one
random affine transform (shift, rotation, zoom, shear) per example.

The parameters follow Keras' ``ImageDataGenerator`` (``width_shift_range``
→ ``shift``, ``rotation_range`` → ``rotation``, ...). :class:`AugmentSpec`
is pure data in :mod:`netspec.spec.train` (the ``train:`` schema);
JAX is imported only inside the functions that build or run transforms.

Coordinates are (row, column) with the origin at the image centre. An
output pixel ``p`` samples the input at ``A·p + t`` (bilinear, ``order=1``)
with ``A = rotation · shear · zoom`` and ``t = rotation · shift``, the
composition Keras uses. A positive angle turns the content counter-clockwise
(``angle=90`` on a square image is ``np.rot90``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from netspec.spec.train import AugmentSpec, Fill

if TYPE_CHECKING:
    import jax

def affine(
    image: jax.Array,
    matrix: jax.Array,
    translation: jax.Array,
    *,
    fill: Fill = "nearest",
    fill_value: float = 0.0,
) -> jax.Array:
    """Resample ``image`` ``(H, W, C)``: output pixel ``p`` takes the input at
    ``matrix @ (p - centre) + centre + translation`` (bilinear). ``matrix`` is
    ``(2, 2)``, ``translation`` ``(2,)`` in pixels (rows, columns).

    >>> import jax.numpy as jnp
    >>> image = jnp.arange(9.0).reshape(3, 3, 1)
    >>> affine(image, jnp.eye(2), jnp.array([0.0, 1.0]), fill="constant")[..., 0].tolist()
    [[1.0, 2.0, 0.0], [4.0, 5.0, 0.0], [7.0, 8.0, 0.0]]
    """
    import jax
    import jax.numpy as jnp
    from jax.scipy.ndimage import map_coordinates

    height, width = image.shape[0], image.shape[1]
    centre = jnp.array([(height - 1) / 2, (width - 1) / 2], dtype=jnp.float32)
    rows, cols = jnp.meshgrid(
        jnp.arange(height, dtype=jnp.float32), jnp.arange(width, dtype=jnp.float32), indexing="ij"
    )
    grid = jnp.stack([rows, cols]) - centre[:, None, None]
    source = jnp.einsum("ij,jhw->ihw", matrix.astype(jnp.float32), grid)
    source = source + (centre + translation.astype(jnp.float32))[:, None, None]

    def plane(values: jax.Array) -> jax.Array:
        return map_coordinates(values, [source[0], source[1]], order=1, mode=fill, cval=fill_value)

    resampled = jax.vmap(plane, in_axes=2, out_axes=2)(image.astype(jnp.float32))
    return resampled.astype(image.dtype)


def rotation_matrix(angle: jax.Array) -> jax.Array:
    """(2, 2) rotation of (row, column) coordinates by ``angle`` degrees, counter-clockwise on screen."""
    import jax.numpy as jnp

    theta = jnp.deg2rad(angle)
    return jnp.array([[jnp.cos(theta), jnp.sin(theta)], [-jnp.sin(theta), jnp.cos(theta)]])


def transform_matrix(
    angle: jax.Array, shear: jax.Array, zoom_rows: jax.Array, zoom_cols: jax.Array
) -> jax.Array:
    """``rotation(angle) · shear(shear) · zoom`` as a (2, 2) map of (row, column); angles in degrees."""
    import jax.numpy as jnp

    phi = jnp.deg2rad(shear)
    shearing = jnp.array([[1.0, -jnp.sin(phi)], [0.0, jnp.cos(phi)]])
    return rotation_matrix(angle) @ shearing @ jnp.diag(jnp.stack([zoom_rows, zoom_cols]))


def affine_parameters(
    draws: jax.Array, spec: AugmentSpec, height: int, width: int
) -> tuple[jax.Array, jax.Array]:
    """(matrix, translation) of one transform from ``draws``: six numbers in
    [-1, 1] scaling the ranges of angle, shear, zoom (rows, columns) and shift
    (rows, columns)."""
    import jax.numpy as jnp

    angle, shear = draws[0] * spec.rotation, draws[1] * spec.shear
    zoom = 1.0 + draws[2:4] * spec.zoom
    matrix = transform_matrix(angle, shear, zoom[0], zoom[1])
    shift = draws[4:6] * jnp.array([spec.shift[0] * height, spec.shift[1] * width])
    return matrix, rotation_matrix(angle) @ shift


def make_augment(spec: AugmentSpec) -> Callable[[jax.Array, jax.Array], jax.Array]:
    """``augment(key, images)`` for images ``(B, H, W, C)``: a fresh random
    transform per example, pure ``jnp`` (jit- and vmap-safe), same shape and
    dtype out. The identity function when ``spec`` asks for nothing.

    >>> import jax, jax.numpy as jnp
    >>> augment = make_augment(AugmentSpec(flip_horizontal=True, rotation=10))
    >>> jax.jit(augment)(jax.random.key(0), jnp.zeros((4, 8, 8, 1))).shape
    (4, 8, 8, 1)
    """
    if not spec.active:
        return lambda key, images: images

    import jax
    import jax.numpy as jnp

    def one(draws: jax.Array, image: jax.Array) -> jax.Array:
        if spec.flip_horizontal:
            image = jnp.where(draws[6] < 0, image[:, ::-1], image)
        if spec.flip_vertical:
            image = jnp.where(draws[7] < 0, image[::-1], image)
        if spec.geometric:
            matrix, translation = affine_parameters(draws, spec, image.shape[0], image.shape[1])
            image = affine(image, matrix, translation, fill=spec.fill, fill_value=spec.fill_value)
        return image

    def augment(key: jax.Array, images: jax.Array) -> jax.Array:
        # One draw for the whole batch: per-example random calls multiply XLA's compile time.
        draws = jax.random.uniform(key, (images.shape[0], 8), minval=-1.0, maxval=1.0)
        return jax.vmap(one)(draws, images)

    return augment
