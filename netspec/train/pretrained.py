"""Putting a file's weights into a built model (imports JAX).

``import_weights(model, graph, PATH)`` reads the file (:func:`read_source`:
:func:`netspec.weights.read_weights` for files, :mod:`netspec.train.run_weights`
for netspec run folders), matches it (:mod:`netspec.weights.match`), checks
every converted array against the model's own shapes, and only then writes
the arrays in: a failed import changes nothing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from netspec.diagnostics import NetspecError, error
from netspec.ir import Graph
from netspec.weights.file import WeightsFile
from netspec.weights.match import ImportReport, match
from netspec.weights.read import read_weights


def read_source(path: str | Path) -> WeightsFile:
    """The layers and arrays of a weights file, or of a netspec run folder (its best checkpoint,
    else its last) or one of its ``checkpoints/<name>`` folders."""
    if Path(path).is_dir():
        from netspec.train.run_weights import read_run

        return read_run(Path(path))
    return read_weights(path)


def _flat_state(model) -> dict[str, np.ndarray]:
    from flax import nnx

    from netspec.train import checkpoint

    return checkpoint.flatten({"model": nnx.state(model)})


def layer_shapes(flat: dict[str, np.ndarray], graph: Graph) -> dict[str, dict[str, tuple[int, ...]]]:
    """``{layer: {key inside its module: shape}}`` for the weighted layers of ``graph``."""
    from netspec.train.modules import module_paths

    shapes = {}
    for name, attributes in module_paths(graph).items():
        prefix = "model/" + "/".join(attributes) + "/"
        shapes[name] = {key[len(prefix):]: tuple(value.shape) for key, value in flat.items()
                        if key.startswith(prefix)}
    return shapes


def check_report(report: ImportReport, *, partial: bool) -> None:
    """Raise the report's problems unless ``partial``; a partial load that loads nothing still fails."""
    if not report.loaded:
        raise NetspecError(report.problems() + [error(
            "weights-nothing", f"no layer of the spec took weights from {report.file}",
            hint="is it the file of another network? `netspec weights inspect FILE` lists its layers")])
    if not report.complete and not partial:
        skipped = len(report.rows) - len(report.loaded)
        raise NetspecError(report.problems() + [error(
            "weights-partial", f"{report.file} fits {len(report.loaded)}/{len(report.rows)} layers of the spec "
                               f"({skipped} not loaded, {len(report.unexpected)} unexpected in the file); "
                               "nothing was loaded",
            hint="fix the spec or the file, map names with --map FILE_LAYER=SPEC_LAYER, "
                 "or accept a partial load with --partial (the report lists what is skipped)")])


def import_state(model_state, graph: Graph, path: str | Path, *, mapping: dict[str, str] | None = None,
                 partial: bool = False, only: set[str] | None = None):
    """``(state, report)``: ``model_state`` (``nnx.state`` of ``graph``'s network) with the file's
    weights in. Raises a diagnostic per problem (unless ``partial``), before changing anything."""
    from netspec.train import checkpoint
    from netspec.train.modules import module_paths

    flat = checkpoint.flatten({"model": model_state})
    report = match(read_source(path), graph, mapping, layer_shapes(flat, graph), only=only)
    check_report(report, partial=partial)
    paths = module_paths(graph)
    for name, arrays in report.arrays.items():
        base = "model/" + "/".join(paths[name]) + "/"
        for key, value in arrays.items():
            flat[base + key] = value.astype(flat[base + key].dtype)
    return checkpoint.unflatten_like({"model": model_state}, flat, where=str(path))["model"], report


def import_weights(model, graph: Graph, path: str | Path, *, mapping: dict[str, str] | None = None,
                   partial: bool = False) -> ImportReport:
    """Load the weights file at ``path`` into ``model`` (built from ``graph``); returns the report."""
    from flax import nnx

    state, report = import_state(nnx.state(model), graph, path, mapping=mapping, partial=partial)
    nnx.update(model, state)
    return report


def import_base_state(model_state, graph: Graph, base: dict | None):
    """``(state, report or None)``: the weights of a spec's ``base:`` (``graph.meta["base"]``, see
    :mod:`netspec.resolve.compose`) loaded into exactly the base's layers, when it names weights."""
    if not base or not base.get("weights"):
        return model_state, None
    path = base["weights"]
    if path == "imagenet":
        from netspec.weights.published import published_weights

        path = published_weights(base["network"], top=base["top"])
    return import_state(model_state, graph, path, only=set(base["layers"]))
