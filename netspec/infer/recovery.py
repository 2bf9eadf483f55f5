"""After a shape error: the shape the layer was most likely meant to have, so inference goes on.

``infer`` reports every independent shape error in one run. When a node
fails, it gets a *recovery shape* — what the layer would give once the
usual fix is applied — and its successors are inferred on that guess. An
error at a node that reads a guessed shape directly is a likely follow-on of
the first one and is not reported (poisoned shapes do not cascade); a node
that succeeds on a guessed input gives a real shape again.

The guesses follow the hints netspec prints: a window that does not fit is
padded ``same`` (:func:`window_same`); a merge of disagreeing inputs takes the
largest one, the main path of a squeeze-and-excitation or skip connection
(:func:`largest_input`); a concat sums its channels (:func:`summed_channels`);
a dense keeps its units (:func:`kept_units`); a shape-preserving op keeps its
input (:func:`first_input`). Each op picks its guess in the ``recover`` column
of :data:`netspec.infer.rules.RULES`; ops without one (:func:`no_recovery`)
skip their successors.

Every function takes ``(attrs, shapes_in, shape_of)``, where ``shape_of(attrs,
shapes_in)`` is the op's own shape rule, and returns a shape or None.

>>> from netspec.infer.rules import recovery_shape
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

from netspec.infer.shapes import ShapeError

Shape = tuple[int, ...]
ShapeOf = Callable[[object, list[Shape]], Shape]


def no_recovery(attrs, shapes_in: Sequence[Shape], shape_of: ShapeOf) -> Shape | None:
    """No sensible guess: the node's successors are skipped."""
    return None


def window_same(attrs, shapes_in: Sequence[Shape], shape_of: ShapeOf) -> Shape | None:
    """The window padded ``same`` (and, if the groups were the problem, without groups)."""
    if not shapes_in or len(shapes_in[0]) < 2:  # no spatial axes: nothing to pad
        return None
    names = {field.name for field in fields(attrs)}
    variants = [replace(attrs, padding="same")]
    if "groups" in names:
        variants.append(replace(attrs, padding="same", groups=1))
    for variant in variants:
        try:
            return shape_of(variant, list(shapes_in))
        except (ShapeError, ValueError, TypeError, IndexError):
            continue
    return None


def largest_input(attrs, shapes_in: Sequence[Shape], shape_of: ShapeOf) -> Shape | None:
    """An elementwise merge: the largest input (the main path)."""
    return max(shapes_in, key=prod) if shapes_in else None


def summed_channels(attrs, shapes_in: Sequence[Shape], shape_of: ShapeOf) -> Shape | None:
    """A concat: the first input's spatial size with every input's channels."""
    if not shapes_in or len({len(shape) for shape in shapes_in}) != 1:
        return None
    return shapes_in[0][:-1] + (sum(shape[-1] for shape in shapes_in),)


def kept_units(attrs, shapes_in: Sequence[Shape], shape_of: ShapeOf) -> Shape | None:
    """A dense: its units on the first input's leading axes."""
    return tuple(shapes_in[0][:-1]) + (attrs.units,) if shapes_in else None


def first_input(attrs, shapes_in: Sequence[Shape], shape_of: ShapeOf) -> Shape | None:
    """A shape-preserving op: its (first) input's shape."""
    return tuple(shapes_in[0]) if shapes_in else None
