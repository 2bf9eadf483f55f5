"""Transfer learning in the ``train:`` section: ``freeze:`` and ``init_from:``.

::

    train:
      freeze: {up_to: conv3}            # conv3 and every layer before it (spec order)
      freeze: {up_to: block4}           # a block's name: every layer up to the block's last one
      freeze: [conv1, "block1/*"]       # layer names or glob patterns (fnmatch: * ? [..])
      freeze: {layers: [fc1], up_to: pool2}
      init_from:                        # one source, or a list of them
        weights: vgg16_notop.h5         # a pretrained weights file (docs/weights.md), or:
        checkpoint: runs/base           # a run folder (its best checkpoint) or checkpoints/<name>
        spec: base.yaml                 # the spec that run was trained from (default: its spec.yaml)
        layers: [conv1, conv2, conv3]   # names or globs (default: every layer with weights
                                        #  whose name both networks share)

Frozen layers get no updates at all: the optimizer only holds the
parameters of the other layers (``nnx.Optimizer(..., wrt=trainable_filter)``),
so their weights stay bit-for-bit what they were; batchnorm layers among them
run in inference mode (their running statistics are used, never updated).
``init_from`` copies weights by layer name before training starts; every
layer whose shapes differ is reported — all of them, each naming the layer
and both shapes — before any step is taken. Paths are relative to the
current folder, like ``--data`` paths.

The spec models (:class:`FreezeSpec`, :class:`InitFromSpec`) are pure data in
:mod:`netspec.spec.train`; which layers a pattern selects is
:mod:`netspec.resolve.select`. The functions here touch a model and import
JAX when called.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netspec.diagnostics import Diagnostic, NetspecError, did_you_mean, error
from netspec.ir import Graph
from netspec.resolve.select import frozen_layers, select
from netspec.spec.train import FreezeSpec, InitFromSpec, init_from_list
from netspec.train.modules import module_paths

__all__ = ["FreezeSpec", "InitFromSpec", "freeze_batchnorm", "frozen_layers", "init_from_list",
           "initialize_from", "module_paths", "select", "trainable_filter"]


@dataclass(frozen=True)
class Under:
    """An NNX filter: variables under any of ``prefixes`` (module attribute paths).
    Hashable, so it can sit in a graph definition that ``jax.jit`` keys on."""

    prefixes: tuple[tuple[str, ...], ...]

    def __call__(self, path, value) -> bool:
        parts = tuple(str(part) for part in path)
        return any(parts[: len(prefix)] == prefix for prefix in self.prefixes)


def trainable_filter(graph: Graph, frozen: list[str]):
    """The NNX filter of the parameters training updates: ``nnx.Param`` outside the frozen layers."""
    from flax import nnx

    if not frozen:
        return nnx.Param
    paths = module_paths(graph)
    return nnx.All(nnx.Param, nnx.Not(Under(tuple(paths[name] for name in frozen if name in paths))))


def freeze_batchnorm(model, graph: Graph, frozen: list[str]) -> None:
    """Put the frozen batchnorm layers of ``model`` in inference mode (call after ``model.train()``)."""
    from netspec.builder import layer_module

    for name in frozen:
        if graph.node(name).op == "batchnorm":
            layer_module(model, name).eval()


def _flat_model(model_state) -> dict:
    from netspec.train import checkpoint

    return checkpoint.flatten({"model": model_state})


def initialize_from(graph: Graph, model_state, sources: list[InitFromSpec]):
    """``model_state`` (of the network ``graph`` builds) with the weights of each
    source copied in, layer by layer; raises one diagnostic per mismatch (a layer
    the source lacks, a weight of a different shape) before changing anything."""
    from netspec.train import checkpoint

    paths = module_paths(graph)
    problems: list[Diagnostic] = []
    copied: dict[str, Any] = {}
    for source in sources:  # weights files first; each raises before changing anything
        if source.weights is None:
            continue
        from netspec.train.pretrained import import_state

        model_state, report = import_state(model_state, graph, source.weights, mapping=source.map or None,
                                           partial=source.partial)
        print(report, file=sys.stderr)
    target = _flat_model(model_state)
    for source in [s for s in sources if s.checkpoint is not None]:
        found, more = _copies(graph, paths, target, source)
        copied.update(found)
        problems += more
    if problems:
        raise NetspecError(problems)
    target.update(copied)
    return checkpoint.unflatten_like({"model": model_state}, target, where="init_from")["model"]


def _copies(graph: Graph, paths: dict, target: dict, source: InitFromSpec) -> tuple[dict, list[Diagnostic]]:
    """The arrays ``source`` provides for ``target`` keys, and every problem found."""
    assert source.checkpoint is not None  # weights: sources are imported by netspec.train.pretrained
    where = f"init_from {source.checkpoint}"
    source_graph, arrays = _source_run(source, where)
    source_paths = module_paths(source_graph)
    names, problems = _layers_to_copy(graph, paths, source, source_graph, source_paths, where)
    found: dict = {}
    for name in names:
        if name not in source_paths:
            problems.append(error("init-from-missing", f"{where}: layer '{name}' has no weights in "
                                                       f"'{source_graph.name}'",
                                  hint=did_you_mean(name, source_paths) or "copy only layers both networks have"))
            continue
        arrays_found, mismatches = _layer_arrays(name, paths[name], source_paths[name], target, arrays,
                                                 (graph.name, source_graph.name), where)
        found.update(arrays_found)
        problems += mismatches
    return found, problems


def _source_run(source: InitFromSpec, where: str) -> tuple[Graph, dict]:
    """The graph of the run ``source`` names (its spec) and the arrays of its checkpoint (best, else last)."""
    from netspec.pipeline import load
    from netspec.train import checkpoint
    from netspec.train.rundir import run_folder_of

    assert source.checkpoint is not None
    folder = run_folder_of(Path(source.checkpoint).resolve())  # orbax wants absolute paths
    spec = Path(source.spec) if source.spec else folder / "spec.yaml"
    if not spec.is_file():
        raise NetspecError([error("no-spec", f"{where}: no spec file {spec}",
                                  hint="name the spec that run was trained from: init_from: {spec: FILE}")])
    source_graph = load(str(spec))
    path = Path(source.checkpoint).resolve()
    if path == folder:
        best = folder / "checkpoints" / "best"
        path = best if best.exists() else folder / "checkpoints" / "last"
    arrays, _ = checkpoint.load(path)
    return source_graph, arrays


def _layers_to_copy(graph: Graph, paths: dict, source: InitFromSpec, source_graph: Graph, source_paths: dict,
                    where: str) -> tuple[list[str], list[Diagnostic]]:
    """The layers ``init_from: layers:`` selects (default: every weighted layer both networks name)."""
    if source.layers is not None:
        names, problems = select(graph, source.layers, key="train.init_from.layers")
        return [name for name in names if name in paths], problems
    names = [name for name in paths if name in source_paths]
    if names:
        return names, []
    return names, [error("init-from-nothing", f"{where}: no layer with weights has a name "
                                              f"in both '{graph.name}' and '{source_graph.name}'",
                         hint="list the layers to copy: init_from: {layers: [...]}")]


def _layer_arrays(name: str, mine_path, theirs_path, target: dict, arrays: dict, networks: tuple[str, str],
                  where: str) -> tuple[dict, list[Diagnostic]]:
    """One layer's arrays from the checkpoint, for the ``target`` keys under its module path."""
    mine = "model/" + "/".join(mine_path) + "/"
    theirs = "model/" + "/".join(theirs_path) + "/"
    found: dict = {}
    problems: list[Diagnostic] = []
    for key in [k for k in target if k.startswith(mine)]:
        stored = arrays.get(theirs + key[len(mine):])
        if stored is None:
            problems.append(error("init-from-missing", f"{where}: layer '{name}' has no "
                                                       f"'{key[len(mine):]}' in the checkpoint"))
        elif stored.shape != target[key].shape:
            problems.append(error(
                "init-from-shape",
                f"{where}: layer '{name}' {key[len(mine):]} has shape {tuple(target[key].shape)} in "
                f"'{networks[0]}' but {tuple(stored.shape)} in '{networks[1]}'",
                hint="copy only layers of the same shape (init_from: {layers: [...]}), or rename the new one"))
        else:
            found[key] = stored
    return found, problems
