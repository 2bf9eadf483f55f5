"""Pairing a file's layers with a spec's weighted layers, and the import report.

Rules, in order:

1. an explicit ``map`` (file layer name -> spec layer name) pairs those layers;
2. by name: a spec layer answers to its full name (``conv2/conv_block_1/conv2_block1_1_conv``),
   that name with ``/`` as ``_``, and its local name (``conv2_block1_1_conv``, the last
   part) when that is unique in the spec — so templates that name their layers
   ``"conv${stage}_block${block}_1_conv"`` match Keras Applications files. Names decide
   when they pair every layer of one side, or half of the smaller side, or when the
   file records no layer order;
3. otherwise by order: the n-th layer with weights of the file goes to the n-th of the
   spec (Keras' own rule for its application files; PyTorch's module order).

Every spec layer ends up loaded, missing (no file layer), or mismatched (both
shapes named); every file layer no spec layer took is unexpected. Any of
those is an error unless a partial load is asked for, and even then the
report lists them: a partial load is never silent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from netspec.diagnostics import Diagnostic, NetspecError, did_you_mean, error
from netspec.ir import Graph, Node
from netspec.weights.convert import KERAS_ROLES, ConversionError, convert, flatten_source_shape
from netspec.weights.file import FileLayer, WeightsFile

LOADED, MISSING, MISMATCH = "loaded", "missing", "mismatch"


@dataclass
class Row:
    """One spec layer's outcome (``status``: loaded / missing / mismatch)."""

    layer: str
    op: str
    status: str
    source: str | None = None
    detail: str = ""
    params: int = 0


@dataclass
class ImportReport:
    """What an import did, layer by layer; ``str()`` is the printed table."""

    file: str
    format: str
    mode: str
    rows: list[Row]
    unexpected: list[FileLayer] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    arrays: dict[str, dict[str, np.ndarray]] = field(default_factory=dict, repr=False)
    extra_expected: bool = False  # a base network's import: file layers past its last layer are fine

    @property
    def loaded(self) -> list[Row]:
        return [row for row in self.rows if row.status == LOADED]

    @property
    def complete(self) -> bool:
        return (self.extra_expected or not self.unexpected) and len(self.loaded) == len(self.rows)

    @property
    def parameters(self) -> int:
        return sum(row.params for row in self.loaded)

    def totals(self) -> str:
        text = f"{len(self.loaded)}/{len(self.rows)} layers, {self.parameters:,} parameters loaded"
        skipped = len(self.rows) - len(self.loaded)
        if skipped or self.unexpected:
            text += f" ({skipped} not loaded, {len(self.unexpected)} unexpected in the file)"
        return text

    def __str__(self) -> str:
        lines = [f"weights {self.file} ({self.format}), matched by {self.mode}"]
        lines += [f"  note: {note}" for note in self.notes]
        width = max([len(row.layer) for row in self.rows] + [5])
        for row in self.rows:
            source = f" <- {row.source}" if row.source and row.source != row.layer else ""
            detail = f": {row.detail}" if row.detail else ""
            lines.append(f"  {row.status:<8} {row.layer:<{width}}{source}{detail}".rstrip())
        for layer in self.unexpected:
            shapes = ", ".join(f"{k} {tuple(v.shape)}" for k, v in layer.arrays.items())
            lines.append(f"  {'unexpected':<8} {layer.name} (in the file only: {shapes})")
        lines.append(self.totals())
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {
            "file": self.file, "format": self.format, "mode": self.mode, "notes": self.notes,
            "layers": [{"layer": r.layer, "op": r.op, "status": r.status, "source": r.source,
                        "detail": r.detail, "params": r.params} for r in self.rows],
            "unexpected": [layer.name for layer in self.unexpected],
            "loaded": len(self.loaded), "total": len(self.rows), "parameters": self.parameters,
        }

    def problems(self) -> list[Diagnostic]:
        """One error per layer not loaded and per unexpected file layer."""
        found = []
        for row in self.rows:
            if row.status == MISSING:
                found.append(error("weights-missing", f"layer '{row.layer}' ({row.op}) has no weights in "
                                                      f"{self.file}", hint=row.detail or None))
            elif row.status == MISMATCH:
                found.append(error("weights-shape", f"layer '{row.layer}' <- '{row.source}': {row.detail}"))
        for layer in [] if self.extra_expected else self.unexpected:
            found.append(error("weights-unexpected", f"{self.file} has weights for '{layer.name}', "
                                                     f"which no layer of the spec takes"))
        return found


def weighted_nodes(graph: Graph) -> list[Node]:
    """The layers of ``graph`` that hold weights, in spec order."""
    return [node for node in graph.nodes if node.op in KERAS_ROLES]


def spec_aliases(nodes: list[Node]) -> dict[str, Node]:
    """Every name a spec layer answers to (rule 2 of the module docstring), unique ones only."""
    seen: dict[str, list[Node]] = {}
    for node in nodes:
        names = {node.name, node.name.replace("/", "_"), node.local_name}
        for name in names:
            seen.setdefault(name, []).append(node)
    exact = {node.name: node for node in nodes}
    return {name: found[0] for name, found in seen.items() if len(found) == 1 or name in exact} | exact


def pair_layers(weights: WeightsFile, nodes: list[Node], mapping: dict[str, str] | None,
                ) -> tuple[str, list[tuple[Node, FileLayer | None]], list[FileLayer]]:
    """``(mode, [(spec layer, file layer or None)], unexpected file layers)``."""
    by_name = {node.name: node for node in nodes}
    if mapping:
        problems = []
        for source, target in mapping.items():
            if weights.layer(source) is None:
                problems.append(error("weights-map", f"map: the file has no layer '{source}'",
                                      hint=did_you_mean(source, [layer.name for layer in weights.layers])))
            if target not in by_name:
                problems.append(error("weights-map", f"map: the spec has no layer with weights named '{target}'",
                                      hint=did_you_mean(target, by_name)))
        if problems:
            raise NetspecError(problems)
    aliases = spec_aliases(nodes)
    chosen: dict[str, FileLayer] = {}
    for layer in weights.layers:
        mapped = (mapping or {}).get(layer.name)
        node = by_name.get(mapped) if mapped else aliases.get(layer.name)
        if node is not None and node.name not in chosen:
            chosen[node.name] = layer
    smaller = min(len(nodes), len(weights.layers))
    by_names = bool(chosen) and (len(chosen) in (len(nodes), len(weights.layers))
                                 or 2 * len(chosen) >= smaller or not weights.ordered or bool(mapping))
    if by_names or not weights.ordered:
        taken = {id(layer) for layer in chosen.values()}
        return ("name" if not mapping else "map and name",
                [(node, chosen.get(node.name)) for node in nodes],
                [layer for layer in weights.layers if id(layer) not in taken])
    pairs = [(node, weights.layers[i] if i < len(weights.layers) else None) for i, node in enumerate(nodes)]
    return "order", pairs, weights.layers[len(nodes):]


def guided_pairs(weights: WeightsFile, nodes: list[Node], fits) -> tuple[list, list[FileLayer]]:
    """Order matching for a file whose order is only approximate: each spec layer takes the
    first remaining file layer that ``fits(node, layer)``, else the first remaining one."""
    remaining = list(weights.layers)
    pairs = []
    for node in nodes:
        chosen = next((layer for layer in remaining if fits(node, layer)), remaining[0] if remaining else None)
        if chosen is not None:
            remaining.remove(chosen)
        pairs.append((node, chosen))
    return pairs, remaining


def match(weights: WeightsFile, graph: Graph, mapping: dict[str, str] | None = None,
          targets: dict[str, dict[str, tuple[int, ...]]] | None = None,
          only: set[str] | None = None) -> ImportReport:
    """The import report of ``weights`` into ``graph``, holding the converted arrays of each
    loaded layer (``report.arrays[layer][key]``). ``targets`` gives each layer's array shapes
    in the built network (``{layer: {key: shape}}``); without it they are not checked.
    ``only`` limits the import to those spec layers (a base network's): file layers left
    over are then listed but expected."""
    from netspec.pipeline import analysis_of

    nodes = [node for node in weighted_nodes(graph) if only is None or node.name in only]
    mode, pairs, unexpected = pair_layers(weights, nodes, mapping)
    shapes = {name: facts.output_shape for name, facts in analysis_of(graph).layers.items()}

    done: dict[tuple[str, int], tuple[dict, str]] = {}  # guided matching tries each pair once

    def converted(node: Node, layer: FileLayer) -> tuple[dict, str]:
        key = (node.name, id(layer))
        if key not in done:
            try:
                arrays = convert(layer, weights.layout, node, flatten_shape=flatten_source_shape(
                    graph, node, shapes) if weights.layout == "torch" else None)
                done[key] = arrays, _shape_problem(arrays, (targets or {}).get(node.name))
            except ConversionError as exc:
                done[key] = {}, str(exc)
        return done[key]

    if mode == "order" and weights.guided:
        pairs, unexpected = guided_pairs(weights, nodes, lambda node, layer: not converted(node, layer)[1])
        mode = "order (shape-guided)"
    report = ImportReport(weights.path, weights.format, mode, [], unexpected, list(weights.notes),
                          extra_expected=only is not None)
    if mode == "name" and not weights.ordered:
        report.notes.append("the file does not record its layer order, so only names can match")
    for node, layer in pairs:
        if layer is None:
            hint = "the file has no layer of this name" if mode == "name" else "the file has fewer layers"
            report.rows.append(Row(node.name, node.op, MISSING, detail=hint))
            continue
        arrays, problem = converted(node, layer)
        done.pop((node.name, id(layer)), None)  # keep no converted copy longer than needed
        if problem:
            report.rows.append(Row(node.name, node.op, MISMATCH, layer.name, problem))
            continue
        report.rows.append(Row(node.name, node.op, LOADED, layer.name,
                               params=sum(int(np.prod(a.shape)) for a in arrays.values())))
        report.arrays[node.name] = arrays
    if weights.layout == "torch" and any(row.status == MISMATCH for row in report.rows):
        report.notes.append("file shapes are shown converted to netspec's layout (kernels (*K, in, out), "
                            "dense (in, out))")
    return report


def _shape_problem(arrays: dict[str, np.ndarray], wanted: dict[str, tuple[int, ...]] | None) -> str:
    """'' when ``arrays`` has exactly the keys and shapes ``wanted`` names, else what differs."""
    if wanted is None:
        return ""
    differences = []
    for key, shape in wanted.items():
        if key not in arrays:
            differences.append(f"{key} missing from the file (spec {shape})")
        elif tuple(arrays[key].shape) != tuple(shape):
            differences.append(f"{key} is {tuple(arrays[key].shape)} in the file, {tuple(shape)} in the spec")
    differences += [f"{key} {tuple(arrays[key].shape)} is in the file only" for key in arrays if key not in wanted]
    return "; ".join(differences)
