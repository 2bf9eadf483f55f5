"""Receptive-field geometry: size, effective stride and effective padding.

Araujo, Norris & Sim, "Computing Receptive Fields of Convolutional Neural
Networks" (Distill, 2019), forward form. Per spatial axis of the network
input, every node has

* ``size`` r — input cells one output cell depends on;
* ``stride`` j — input cells between neighbouring output cells;
* ``padding`` p — how far the first output cell's field starts before input
  cell 0 (padding cells it covers, in input cells),

so output cell ``i`` sees input cells ``[i·j − p, i·j − p + r − 1]`` and its
field's centre is ``i·j − p + (r − 1)/2``. A window op of dilated extent
``k``, stride ``s`` and low pad ``q`` (the pads ``jax.lax`` applies, see
:func:`netspec.infer.shapes.window_pads`) maps ``(r, j, p)`` to
``(r + (k − 1)·j, j·s, p + q·j)``; ``zero_pad`` adds its low pad ``q·j`` to
p; element-wise ops keep all three.

A merge (add, multiply, concat) keeps the input with the largest field, as
Google's ``receptive_field`` library does, and is *aligned* when all its
inputs have the same effective stride and the same centre offset
``(r − 1)/2 − p``; otherwise the merged cells mix input regions that are
shifted or scaled against each other and :func:`geometry_warnings` says so.
``concat`` with ``pad: zero`` shifts each padded input by its low pad first.

Flatten and global_pool see the whole input: ``r = r + (W − 1)·j``, p kept;
everything after them (dense ...) keeps that.

For a 1-D network the numbers read as time: an output at step t sees
``p`` steps back and ``r − 1 − p`` steps ahead of its own position ``t·j``;
a causal stack looks ``r − 1`` steps back and none ahead.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from netspec.diagnostics import Diagnostic, warning
from netspec.infer import shapes
from netspec.infer.facts import Analysis
from netspec.infer.rules import concat_pads
from netspec.ir import ConcatAttrs, Graph, Node
from netspec.ops import has

WHOLE = ("flatten", "global_pool")


@dataclass(frozen=True)
class AxisField:
    """The receptive field of a node along one spatial axis of the network input."""

    size: int
    stride: int
    padding: int

    @property
    def center_offset(self) -> Fraction:
        """Centre of output cell 0's field, in input cells: ``(r − 1)/2 − p``."""
        return Fraction(self.size - 1, 2) - self.padding

    def center(self, index: int) -> Fraction:
        """Centre of output cell ``index``'s field (input coordinates; may be half a cell)."""
        return index * self.stride + self.center_offset

    def window(self, index: int) -> tuple[int, int]:
        """First and last input cell (inclusive) output cell ``index`` sees; negatives are padding."""
        start = index * self.stride - self.padding
        return start, start + self.size - 1

    @property
    def lookback(self) -> int:
        """Cells before its own position ``i·j`` that an output sees (time steps back, in 1-D)."""
        return self.padding

    @property
    def lookahead(self) -> int:
        """Cells after its own position that an output sees (0 for a causal stack)."""
        return self.size - 1 - self.padding

    def to_dict(self) -> dict:
        return {"size": self.size, "stride": self.stride, "padding": self.padding,
                "lookback": self.lookback, "lookahead": self.lookahead}


Field = tuple[AxisField, ...]  # one per spatial axis of the network input


@dataclass(frozen=True)
class Geometry:
    """Per node, the field on each axis; ``misaligned`` lists merges whose inputs disagree."""

    fields: dict[str, Field]
    misaligned: tuple[tuple[str, str], ...]  # (merge node name, what differs)

    def __getitem__(self, name: str) -> Field:
        return self.fields[name]


def _window(node: Node, field: Field, input_shape: tuple[int, ...]) -> Field:
    kernel, strides, dilation, _ = shapes.window_geometry(node.attrs)
    if len(kernel) != len(field):
        return field
    pads = shapes.window_pads(node.attrs, input_shape)
    return tuple(AxisField(axis.size + (shapes.effective_kernel(k, d) - 1) * axis.stride, axis.stride * s,
                           axis.padding + low * axis.stride)
                 for axis, k, s, d, (low, _high) in zip(field, kernel, strides, dilation, pads))


def _shifted(field: Field, pads) -> Field:
    return tuple(AxisField(axis.size, axis.stride, axis.padding + low * axis.stride)
                 for axis, (low, _high) in zip(field, pads))


def _whole(field: Field, input_shape: tuple[int, ...]) -> Field:
    spatial = input_shape[:-1]
    if len(spatial) != len(field):  # already flat
        return field
    return tuple(AxisField(shapes.whole_span(axis.size, axis.stride, length), axis.stride, axis.padding)
                 for axis, length in zip(field, spatial))


def _disagreement(fields: list[Field]) -> str | None:
    """What differs between the inputs of a merge, or None when they are aligned."""
    first = fields[0]
    for other in fields[1:]:
        for axis, (a, b) in enumerate(zip(first, other)):
            where = f" on axis {axis}" if len(first) > 1 else ""
            if a.stride != b.stride:
                return f"effective strides {a.stride} and {b.stride}{where}"
            if a.lookahead == 0 and b.lookahead == 0:
                continue  # causal inputs both end at the output's own step: aligned as WaveNet's residual adds
            if a.center_offset != b.center_offset:
                return (f"field centres {_cells(a.center_offset)} and {_cells(b.center_offset)} "
                        f"input cells from the first output cell{where}")
    return None


def _broadcasts(shape: tuple[int, ...], output: tuple[int, ...]) -> bool:
    """Whether a merge input is stretched over the output's positions (fewer axes, or size 1 where
    the output is larger), so it has one value for every position.

    >>> _broadcasts((1, 1, 8), (7, 7, 8)), _broadcasts((16, 16, 4), (32, 32, 8))
    (True, False)
    """
    return len(shape) < len(output) or any(size == 1 < out for size, out in zip(shape[:-1], output[:-1]))


def _cells(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{float(value):g}"


def _merge(fields: list[Field]) -> Field:
    return tuple(max((field[axis] for field in fields), key=lambda f: f.size) for axis in range(len(fields[0])))


def geometry(analysis: Analysis) -> Geometry:
    """The receptive-field geometry of every node that static inference could infer."""
    graph: Graph = analysis.graph
    fields: dict[str, Field] = {}
    misaligned: list[tuple[str, str]] = []
    for node in graph.nodes:
        facts = analysis.layers.get(node.name)
        if facts is None or any(name not in fields for name in node.inputs):
            continue
        if node.op == "input":
            rank = max(len(graph.input_shape) - 1, 0)
            fields[node.name] = tuple(AxisField(1, 1, 0) for _ in range(rank))
            continue
        inputs = [fields[name] for name in node.inputs]
        if has(node.op, "windowed"):
            field = _window(node, inputs[0], facts.input_shapes[0])
        elif has(node.op, "pads_input"):
            field = _shifted(inputs[0], node.attrs.padding) if len(node.attrs.padding) == len(inputs[0]) \
                else inputs[0]
        elif node.op in WHOLE:
            field = _whole(inputs[0], facts.input_shapes[0])
        elif has(node.op, "merge"):
            if isinstance(node.attrs, ConcatAttrs):
                inputs = [_shifted(field, pads) if len(pads) == len(field) else field
                          for field, pads in zip(inputs, concat_pads(node.attrs, facts.input_shapes))]
            # only inputs with the output's own spatial extent: one that broadcasts (a squeeze-and-excitation
            # gate of shape (C,) or (1, 1, C)) has the same value at every position, so it cannot be offset
            spatial = [field for field, shape in zip(inputs, facts.input_shapes)
                       if len(shape) > 1 and not _broadcasts(shape, facts.output_shape)]
            problem = _disagreement(spatial) if len(spatial) > 1 else None
            if problem is not None:
                misaligned.append((node.name, problem))
            field = _merge(spatial or inputs)  # a broadcast gate is global context, not part of the local field
        else:
            field = inputs[0]
        fields[node.name] = field
    return Geometry(fields, tuple(misaligned))


def geometry_warnings(analysis: Analysis, found: Geometry) -> list[Diagnostic]:
    """A warning at every merge whose inputs are not aligned (Google's ``receptive_field``
    refuses such graphs: "Graph is not aligned")."""
    out = []
    for name, problem in found.misaligned:
        node = analysis.graph.node(name)
        if "misaligned-merge" in node.allow:
            continue
        inputs = ", ".join(f"'{source}'" for source in node.inputs)
        out.append(warning(
            "misaligned-merge",
            f"{node.op} '{name}' merges inputs ({inputs}) that are not aligned: {problem}, so each output cell "
            f"mixes input regions shifted against each other",
            node.span,
            "give the branches the same total stride and centred padding (odd kernels with P: same), or add "
            "allow: [misaligned-merge] if this is intended"))
    return out


def last_feature_map(analysis: Analysis) -> str | None:
    """The last node (in execution order) whose output is still a map wider than one
    cell: the "last convolutional feature map" of Google's table (a global or 7×7
    average pool to 1×1 and the classifier after it are not)."""
    spatial = [name for name, facts in analysis.layers.items()
               if len(facts.output_shape) > 1 and facts.op != "input" and max(facts.output_shape[:-1]) > 1]
    return spatial[-1] if spatial else None
