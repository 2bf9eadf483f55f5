"""The static report of a network: per layer and in total (pure Python).

:func:`summarize` turns an :class:`~netspec.infer.facts.Analysis` into a
:class:`Summary`, which renders as a fixed-width table (``str()``), Markdown
or JSON. ``Summary.to_dict()`` is the stable JSON contract, documented in
docs/summary-json.md and described by the JSON Schema of
:mod:`netspec.report.schema` (``netspec schema --summary``)::

    {schema_version, name, input_shape, output_shape, total_params,
     trainable_params, non_trainable_params, macs, flops, receptive_field,
     geometry: [{size, stride, padding} per axis], param_bytes,
     activation_bytes, training_memory: {...} | null, scale,
     warnings: [diagnostic dicts],
     layers: [{name, type, output_shape, params, trainable_params,
               non_trainable_params, macs, flops, receptive_field,
               geometry, inputs, training_memory: {...} | null}]}

Memory is float32: ``param_bytes = 4 · total params``; ``activation_bytes =
4 · Σ elements of every node's output`` (the input included), per example.
FLOPs are 2 per MAC (:mod:`netspec.infer.flops`); geometry is the receptive
field's size, effective stride and effective padding (:mod:`netspec.infer.geometry`);
training memory is the estimate of :mod:`netspec.infer.memory`, present when a
batch size is given.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from netspec.diagnostics import Diagnostic, NetspecError
from netspec.infer.facts import Analysis
from netspec.infer.flops import FLOPS_PER_MAC
from netspec.infer.geometry import AxisField, geometry
from netspec.infer.memory import BYTES_PER_VALUE, LayerMemory, MemoryEstimate, estimate
from netspec.ir import Node
from netspec.ops import OPS, format_extent
from netspec.spec.train import TrainSpec
from netspec.spec.units import human_bytes, human_count

__all__ = ["BYTES_PER_VALUE", "LayerRow", "Summary", "human_bytes", "human_count", "summarize", "type_label"]
SCHEMA_VERSION = 1  # of to_dict(); bumped only when a key changes meaning or disappears


def type_label(node: Node) -> str:
    """The op with its key hyper-parameters, e.g. ``conv 3×3/2 K=64 same relu`` (the op table's label)."""
    return OPS[node.op].label(node.attrs)


@dataclass(frozen=True)
class LayerRow:
    """One line of the report; shapes exclude the batch dimension."""

    name: str
    type: str  # the op
    label: str  # the op with its key hyper-parameters
    output_shape: tuple[int, ...]
    trainable_params: int
    non_trainable_params: int
    macs: int
    receptive_field: tuple[int, ...]
    inputs: tuple[str, ...]
    branches: bool  # inputs are not just the previous row: show them
    frozen: bool = False  # train.freeze keeps its weights: they count as non-trainable
    geometry: tuple[AxisField, ...] = ()  # per spatial axis of the network input
    memory: LayerMemory | None = None  # when a batch size was given

    @property
    def params(self) -> int:
        return self.trainable_params + self.non_trainable_params

    @property
    def flops(self) -> int:
        return FLOPS_PER_MAC * self.macs

    def to_dict(self) -> dict:
        return {
            "name": self.name, "type": self.type, "output_shape": list(self.output_shape),
            "params": self.params, "trainable_params": self.trainable_params,
            "non_trainable_params": self.non_trainable_params, "macs": self.macs, "flops": self.flops,
            "receptive_field": list(self.receptive_field), "geometry": [axis.to_dict() for axis in self.geometry],
            "inputs": list(self.inputs), "training_memory": self.memory.to_dict() if self.memory else None,
        }


def _inputs_cell(row: LayerRow) -> str:
    """``← a, b`` for DAG rows; inputs from the row's own block are shortened
    to ``…/local_name`` so deep block paths do not swamp the table."""
    if not row.branches:
        return ""
    block = row.name.rpartition("/")[0] + "/"
    shown = [f"…/{name[len(block):]}" if block != "/" and name.startswith(block) else name
             for name in row.inputs]
    return "← " + ", ".join(shown)


@dataclass(frozen=True)
class Summary:
    """Per-layer facts and totals of one network (see the module docstring)."""

    name: str
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    trainable_params: int
    non_trainable_params: int
    macs: int
    receptive_field: tuple[int, ...]
    activation_bytes: int
    warnings: tuple[Diagnostic, ...]
    layers: tuple[LayerRow, ...]
    geometry: tuple[AxisField, ...] = ()  # of the output node, per axis
    memory: MemoryEstimate | None = None  # when a batch size was given
    scale: str | None = None  # the named scale the network was resolved at
    base: str | None = None  # where the layers from the spec's base: network come from

    @property
    def flops(self) -> int:
        return FLOPS_PER_MAC * self.macs

    @property
    def total_params(self) -> int:
        return self.trainable_params + self.non_trainable_params

    @property
    def param_bytes(self) -> int:
        return self.total_params * BYTES_PER_VALUE

    def to_dict(self) -> dict:
        return {
            "schema_version": SCHEMA_VERSION,
            "name": self.name,
            "scale": self.scale,
            "input_shape": list(self.input_shape),
            "output_shape": list(self.output_shape),
            "total_params": self.total_params,
            "trainable_params": self.trainable_params,
            "non_trainable_params": self.non_trainable_params,
            "macs": self.macs,
            "flops": self.flops,
            "receptive_field": list(self.receptive_field),
            "geometry": [axis.to_dict() for axis in self.geometry],
            "param_bytes": self.param_bytes,
            "activation_bytes": self.activation_bytes,
            "training_memory": self.memory.to_dict() if self.memory else None,
            "warnings": [d.to_dict() for d in self.warnings],
            "layers": [row.to_dict() for row in self.layers],
        }

    def json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    def _header(self) -> list[str]:
        memory = ["Train mem"] if self.memory else []
        return ["Layer", "Type", "Output shape", "Params", "MACs", "FLOPs", *memory, "Stride", "Pad", "RF",
                "Inputs"]

    def _cells(self) -> list[list[str]]:
        return [
            [row.name, row.label, str(row.output_shape), f"{row.params:,}", human_count(row.macs),
             human_count(row.flops), *([human_bytes(row.memory.total_bytes)] if self.memory else []),
             format_extent([axis.stride for axis in row.geometry]),
             format_extent([axis.padding for axis in row.geometry]),
             format_extent(row.receptive_field), _inputs_cell(row)]
            for row in self.layers
        ]

    def _totals(self) -> list[tuple[str, str]]:
        return [
            ("Total params", f"{self.total_params:,} ({human_bytes(self.param_bytes)})"),
            ("Trainable params", f"{self.trainable_params:,}"),
            ("Non-trainable params", f"{self.non_trainable_params:,}"),
            ("MACs", f"{human_count(self.macs)} ({self.macs:,}) per example"),
            ("FLOPs", f"{human_count(self.flops)} ({self.flops:,}) per example, 2 per MAC"),
            ("Activation memory", f"{human_bytes(self.activation_bytes)} per example"),
            *self._memory_totals(),
            ("Output shape", str(self.output_shape)),
            ("Receptive field", (format_extent(self.receptive_field) or "-") + self._geometry_total()),
            *([("Scale", self.scale)] if self.scale else []),
            *([("Base", self.base)] if self.base else []),
        ]

    def _geometry_total(self) -> str:
        if not self.geometry:
            return ""
        text = (f", effective stride {format_extent([a.stride for a in self.geometry])}, "
                f"effective padding {format_extent([a.padding for a in self.geometry])}")
        if len(self.geometry) == 1 and len(self.input_shape) == 2:  # a sequence: say it in time steps
            (axis,) = self.geometry
            text += f"; each output sees {axis.lookback} steps back and {axis.lookahead} ahead"
        return text

    def _memory_totals(self) -> list[tuple[str, str]]:
        m = self.memory
        if m is None:
            return []
        return [(f"Train memory (batch {m.batch_size}, {m.optimizer})",
                 f"{human_bytes(m.peak_bytes)} estimated peak = weights {human_bytes(m.param_bytes)} + gradients "
                 f"{human_bytes(m.gradient_bytes)} + optimizer state {human_bytes(m.optimizer_bytes)} + kept "
                 f"activations {human_bytes(m.activation_bytes)} + batch {human_bytes(m.batch_bytes)} + backward workspace "
                 f"{human_bytes(m.workspace_bytes)}")]

    def table(self) -> str:
        """A fixed-width table (numbers right-aligned) followed by the totals."""
        header = self._header()
        rows = self._cells()
        widths = [max(len(line[i]) for line in [header, *rows]) for i in range(len(header))]
        right = set(range(3, len(header) - 4))

        def line(cells: list[str]) -> str:
            parts = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))]
            return "  ".join(parts).rstrip()

        rule = "─" * len(line(header))
        out = [f'Model "{self.name}"  input {self.input_shape}', rule, line(header), rule]
        out += [line(cells) for cells in rows]
        out.append(rule)
        label_width = max(len(label) for label, _ in self._totals())
        out += [f"{label + ':':<{label_width + 1}} {value}" for label, value in self._totals()]
        return "\n".join(out)

    def markdown(self) -> str:
        """A GitHub-flavoured Markdown table, the totals and any warnings."""
        header = self._header()
        aligns = ["---"] * 3 + ["---:"] * (len(header) - 7) + ["---"] * 4
        out = [f"### {self.name}", "", "| " + " | ".join(header) + " |", "|" + "|".join(aligns) + "|"]
        for cells in self._cells():
            escaped = [f"`{c}`" if i == 0 else c.replace("|", "\\|") for i, c in enumerate(cells)]
            out.append("| " + " | ".join(escaped) + " |")
        out.append("")
        out += [f"- **{label}:** {value}" for label, value in self._totals()]
        if self.warnings:
            out += ["", "**Warnings**", ""]
            out += [f"- {d.span}: {d.message}" if d.span else f"- {d.message}" for d in self.warnings]
        return "\n".join(out)

    def __str__(self) -> str:
        return self.table()


def _frozen(graph) -> set[str]:
    """The layers the spec's ``train.freeze`` selects (a name matching nothing is a diagnostic)."""
    freeze = getattr(graph.train, "freeze", None)
    if freeze is None:
        return set()
    from netspec.resolve.select import frozen_layers

    return set(frozen_layers(graph, freeze))


def summarize(analysis: Analysis, batch_size: int | None = None, optimizer: str | None = None) -> Summary:
    """The report of an error-free analysis; raises NetspecError if it has errors
    (a partial analysis has no output to report). With ``batch_size`` it carries
    the training-memory estimate for that batch and ``optimizer`` (default: the
    spec's train: optimizer, else adam)."""
    if analysis.errors:
        raise NetspecError(analysis.diagnostics)
    graph = analysis.graph
    frozen = _frozen(graph)
    fields = graph.meta.get("geometry") or geometry(analysis)
    memory = _memory(analysis, batch_size, optimizer, frozen) if batch_size is not None else None
    by_layer = {layer.name: layer for layer in memory.layers} if memory else {}
    rows = []
    previous: str | None = None
    for node in graph.nodes:
        facts = analysis.layers[node.name]
        trainable, fixed = facts.trainable_params, facts.non_trainable_params
        is_frozen = node.name in frozen and facts.params > 0  # a pool has nothing to freeze
        if is_frozen:  # Keras' convention: a frozen layer's weights are non-trainable
            trainable, fixed = 0, trainable + fixed
        rows.append(LayerRow(
            name=node.name, type=node.op, label=type_label(node) + (" (frozen)" if is_frozen else ""),
            output_shape=facts.output_shape, trainable_params=trainable, non_trainable_params=fixed,
            macs=facts.macs, receptive_field=facts.receptive_field, inputs=node.inputs,
            branches=bool(node.inputs) and node.inputs != (previous,), frozen=is_frozen,
            geometry=fields.fields.get(node.name, ()), memory=by_layer.get(node.name)))
        previous = node.name
    output = analysis.output
    return Summary(
        name=graph.name, input_shape=graph.input_shape, output_shape=output.output_shape,
        trainable_params=sum(row.trainable_params for row in rows),
        non_trainable_params=sum(row.non_trainable_params for row in rows),
        macs=analysis.macs, receptive_field=output.receptive_field,
        activation_bytes=BYTES_PER_VALUE * sum(f.activation_size for f in analysis.layers.values()),
        warnings=tuple(d for d in analysis.diagnostics if not d.is_error), layers=tuple(rows),
        geometry=fields.fields.get(graph.output, ()), memory=memory, scale=_scale_name(graph),
        base=_base_line(analysis))


def _scale_name(graph) -> str | None:
    return graph.meta.get("scale_name")


def _base_line(analysis: Analysis) -> str | None:
    """``vgg16 up to block5_pool: 19 layers (first ... last), 14,714,688 params, weights: imagenet``."""
    base = analysis.graph.meta.get("base")
    if not base:
        return None
    layers = [name for name in base["layers"] if name in analysis.layers]
    params = sum(analysis.layers[name].params for name in layers)
    weights = Path(base["weights"]).name if base.get("weights") else "none (initialised at random)"
    return (f"{base['network']} up to {base['up_to']}: {len(layers)} layers ({layers[0]} … {layers[-1]}), "
            f"{params:,} params, weights: {weights}")


def _memory(analysis: Analysis, batch_size: int, optimizer: str | None, frozen: set[str]) -> MemoryEstimate:
    train = cast("TrainSpec | None", analysis.graph.train)
    name = optimizer or (train.optimizer.name if train is not None else "adam")
    momentum = train.optimizer.momentum if train is not None and train.optimizer.name == name else 0.0
    return estimate(analysis, batch_size, name, momentum, frozenset(frozen))
