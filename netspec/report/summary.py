"""The static report of a network: per layer and in total (pure Python).

:func:`summarize` turns an :class:`~netspec.infer.facts.Analysis` into a
:class:`Summary`, which renders as a fixed-width table (``str()``), Markdown
or JSON. ``Summary.to_dict()`` is the stable JSON contract::

    {name, input_shape, output_shape, total_params, trainable_params,
     non_trainable_params, macs, receptive_field, param_bytes,
     activation_bytes, warnings: [diagnostic dicts],
     layers: [{name, type, output_shape, params, trainable_params,
               non_trainable_params, macs, receptive_field, inputs}]}

Memory is float32: ``param_bytes = 4 · total params``; ``activation_bytes =
4 · Σ elements of every node's output`` (the input included), per example.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from netspec.diagnostics import Diagnostic, NetspecError
from netspec.infer.facts import Analysis
from netspec.infer.shapes import format_extent
from netspec.ir import Node

BYTES_PER_VALUE = 4  # float32


def human_count(count: int) -> str:
    """A count with an SI suffix (powers of 1000), as MACs are quoted.

    >>> human_count(1_813_552_128), human_count(416_520), human_count(840)
    ('1.8 G', '416.5 K', '840')
    """
    for suffix, scale in (("T", 10**12), ("G", 10**9), ("M", 10**6), ("K", 10**3)):
        if count >= scale:
            return f"{count / scale:.1f} {suffix}"
    return str(count)


def human_bytes(size: int) -> str:
    """A byte count in binary units.

    >>> human_bytes(246_824), human_bytes(553_432_081 * 4), human_bytes(12)
    ('241.04 KiB', '2.06 GiB', '12 B')
    """
    for suffix, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.2f} {suffix}"
    return f"{size} B"


def _padding_label(padding) -> str:
    if isinstance(padding, str):
        return padding
    if all(low == high == padding[0][0] for low, high in padding):
        return f"P={padding[0][0]}"
    return "P=" + ",".join(f"({low},{high})" for low, high in padding)


def _window_label(kernel, strides, padding, dilation=None) -> str:
    label = format_extent(kernel)
    if any(s != 1 for s in strides):
        label += "/" + (str(strides[0]) if len(set(strides)) == 1 else format_extent(strides))
    if dilation and any(d != 1 for d in dilation):
        label += " D=" + (str(dilation[0]) if len(set(dilation)) == 1 else format_extent(dilation))
    return f"{label} {_padding_label(padding)}"


def _activation_label(activation) -> str:
    if activation is None or activation.name == "linear":
        return ""
    alpha = f" {activation.alpha:g}" if activation.alpha is not None else ""
    return f" {activation.name}{alpha}"


def type_label(node: Node) -> str:
    """The op with its key hyper-parameters, e.g. ``conv 3×3/2 K=64 same relu``."""
    a = node.attrs
    if node.op == "conv":
        groups = f" groups={a.groups}" if a.groups != 1 else ""
        window = _window_label(a.kernel, a.strides, a.padding, a.dilation)
        return f"conv {window.replace(' ', f' K={a.filters} ', 1)}{groups}{_activation_label(a.activation)}"
    if node.op == "separable_conv":
        window = _window_label(a.kernel, a.strides, a.padding, a.dilation)
        return f"separable {window.replace(' ', f' K={a.filters} ', 1)}{_activation_label(a.activation)}"
    if node.op == "depthwise_conv":
        multiplier = f" ×{a.depth_multiplier}" if a.depth_multiplier != 1 else ""
        window = _window_label(a.kernel, a.strides, a.padding, a.dilation)
        return f"depthwise {window}{multiplier}{_activation_label(a.activation)}"
    if node.op == "pool":
        return f"{a.mode}pool {_window_label(a.window, a.strides, a.padding)}"
    if node.op == "global_pool":
        return f"global {a.mode}pool"
    if node.op == "dense":
        return f"dense {a.units}{_activation_label(a.activation)}"
    if node.op == "dropout":
        return f"dropout {a.rate:g}"
    if node.op == "lrn":
        return f"lrn {a.size}"
    if node.op == "zero_pad":
        return f"zero_pad {_padding_label(a.padding)}"
    if node.op == "activation":
        return _activation_label(a.activation).strip() or "linear"
    if node.op == "concat" and a.pad == "zero":
        return "concat pad=zero"
    return node.op


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

    @property
    def params(self) -> int:
        return self.trainable_params + self.non_trainable_params

    def to_dict(self) -> dict:
        return {
            "name": self.name, "type": self.type, "output_shape": list(self.output_shape),
            "params": self.params, "trainable_params": self.trainable_params,
            "non_trainable_params": self.non_trainable_params, "macs": self.macs,
            "receptive_field": list(self.receptive_field), "inputs": list(self.inputs),
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

    @property
    def total_params(self) -> int:
        return self.trainable_params + self.non_trainable_params

    @property
    def param_bytes(self) -> int:
        return self.total_params * BYTES_PER_VALUE

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "input_shape": list(self.input_shape),
            "output_shape": list(self.output_shape),
            "total_params": self.total_params,
            "trainable_params": self.trainable_params,
            "non_trainable_params": self.non_trainable_params,
            "macs": self.macs,
            "receptive_field": list(self.receptive_field),
            "param_bytes": self.param_bytes,
            "activation_bytes": self.activation_bytes,
            "warnings": [d.to_dict() for d in self.warnings],
            "layers": [row.to_dict() for row in self.layers],
        }

    def json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    def _cells(self) -> list[list[str]]:
        return [
            [row.name, row.label, str(row.output_shape), f"{row.params:,}", human_count(row.macs),
             format_extent(row.receptive_field), _inputs_cell(row)]
            for row in self.layers
        ]

    def _totals(self) -> list[tuple[str, str]]:
        return [
            ("Total params", f"{self.total_params:,} ({human_bytes(self.param_bytes)})"),
            ("Trainable params", f"{self.trainable_params:,}"),
            ("Non-trainable params", f"{self.non_trainable_params:,}"),
            ("MACs", f"{human_count(self.macs)} ({self.macs:,}) per example"),
            ("Activation memory", f"{human_bytes(self.activation_bytes)} per example"),
            ("Output shape", str(self.output_shape)),
            ("Receptive field", format_extent(self.receptive_field) or "-"),
        ]

    def table(self) -> str:
        """A fixed-width table (numbers right-aligned) followed by the totals."""
        header = ["Layer", "Type", "Output shape", "Params", "MACs", "RF", "Inputs"]
        rows = self._cells()
        widths = [max(len(line[i]) for line in [header, *rows]) for i in range(len(header))]
        right = {3, 4}

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
        header = ["Layer", "Type", "Output shape", "Params", "MACs", "RF", "Inputs"]
        out = [f"### {self.name}", "", "| " + " | ".join(header) + " |",
               "|" + "|".join(["---", "---", "---", "---:", "---:", "---", "---"]) + "|"]
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


def summarize(analysis: Analysis) -> Summary:
    """The report of an error-free analysis; raises NetspecError if it has errors
    (a partial analysis has no output to report)."""
    if analysis.errors:
        raise NetspecError(analysis.diagnostics)
    graph = analysis.graph
    frozen = _frozen(graph)
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
            branches=bool(node.inputs) and node.inputs != (previous,), frozen=is_frozen))
        previous = node.name
    output = analysis.output
    return Summary(
        name=graph.name, input_shape=graph.input_shape, output_shape=output.output_shape,
        trainable_params=sum(row.trainable_params for row in rows),
        non_trainable_params=sum(row.non_trainable_params for row in rows),
        macs=analysis.macs, receptive_field=output.receptive_field,
        activation_bytes=BYTES_PER_VALUE * sum(f.activation_size for f in analysis.layers.values()),
        warnings=tuple(d for d in analysis.diagnostics if not d.is_error), layers=tuple(rows))
