"""After a shape error: the shape the layer was most likely meant to have, so inference goes on.

``infer`` reports every independent shape error in one run. When a node
fails, it gets a *recovery shape* — what the layer would give once the
usual fix is applied — and its successors are inferred on that guess. An
error at a node that reads a guessed shape directly is a likely follow-on of
the first one and is not reported (poisoned shapes do not cascade); a node
that succeeds on a guessed input gives a real shape again.

The guesses follow the hints netspec prints: a window that does not fit is
padded ``same``; a merge of disagreeing inputs takes the largest one (the
main path of a squeeze-and-excitation or skip connection); a concat sums its
channels; a dense keeps its units.

>>> from netspec.ir import ConvAttrs
>>> recovery_shape("conv", ConvAttrs(8, (5, 5), (1, 1), "valid", (1, 1)), [(3, 3, 4)])
(3, 3, 8)
>>> recovery_shape("multiply", None, [(7, 7, 32), (32,)])
(7, 7, 32)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import fields, replace
from math import prod

from netspec.shapes import ShapeError

Shape = tuple[int, ...]
WINDOWED = ("conv", "depthwise_conv", "separable_conv", "pool")
SAME_SHAPE = ("activation", "batchnorm", "layernorm", "lrn", "dropout")


def recovery_shape(op: str, attrs, shapes_in: Sequence[Shape],
                   shape_of: Callable[[str, object, list[Shape]], Shape] | None = None) -> Shape | None:
    """The shape ``op`` most likely was meant to give on ``shapes_in``, or None when there is no
    sensible guess (its successors are then skipped). ``shape_of`` is the op's shape rule."""
    if not shapes_in:
        return None
    if op in WINDOWED and shape_of is not None:
        return _windowed(op, attrs, list(shapes_in), shape_of)
    if op in ("add", "multiply"):
        return max(shapes_in, key=prod)
    if op == "concat":
        ranks = {len(shape) for shape in shapes_in}
        return shapes_in[0][:-1] + (sum(shape[-1] for shape in shapes_in),) if len(ranks) == 1 else None
    if op == "dense":
        return tuple(shapes_in[0][:-1]) + (attrs.units,)
    if op in SAME_SHAPE:
        return tuple(shapes_in[0])
    return None


def _windowed(op: str, attrs, shapes_in: list[Shape], shape_of) -> Shape | None:
    """The window padded ``same`` (and, if the groups were the problem, without groups)."""
    if len(shapes_in[0]) < 2:  # no spatial axes: nothing to pad
        return None
    names = {field.name for field in fields(attrs)}
    variants = [replace(attrs, padding="same")]
    if "groups" in names:
        variants.append(replace(attrs, padding="same", groups=1))
    for variant in variants:
        try:
            return shape_of(op, variant, shapes_in)
        except (ShapeError, ValueError, TypeError, IndexError):
            continue
    return None
