"""netspec's own runs as a weights source: a run folder (its best checkpoint,
else its last) or one of its ``checkpoints/<name>`` folders, grouped by the
layer names of the run's spec. Read through :func:`netspec.train.pretrained.read_source`
(it needs the training code's checkpoints, so it is not among the readers of :mod:`netspec.weights`)."""

from __future__ import annotations

from pathlib import Path

from netspec.diagnostics import NetspecError, error
from netspec.weights.convert import KERAS_ROLES
from netspec.weights.file import FileLayer, WeightsFile


def read_run(path: Path) -> WeightsFile:
    from netspec.pipeline import load
    from netspec.train import checkpoint, rundir
    from netspec.train.modules import module_paths
    from netspec.train.rundir import run_folder_of

    folder = run_folder_of(path.resolve())
    spec = folder / rundir.SPEC
    # the spec where it was trained from first: a base: path in it is relative to that folder
    original = rundir.read_json(folder / rundir.RUN).get("spec_path")
    if original and Path(original).is_file():
        spec = Path(original)
    if not spec.is_file():
        raise NetspecError([error("no-spec", f"{folder} has no {rundir.SPEC}, so its layers cannot be named")])
    graph = load(str(spec))
    chosen = path.resolve()
    if chosen == folder:
        best = folder / rundir.CHECKPOINTS / "best"
        chosen = best if best.exists() else folder / rundir.CHECKPOINTS / "last"
    arrays, _ = checkpoint.load(chosen)
    layers = []
    for name, attributes in module_paths(graph).items():
        if graph.node(name).op not in KERAS_ROLES:  # dropout keeps only RNG state
            continue
        prefix = "model/" + "/".join(attributes) + "/"
        found = {key[len(prefix):]: value for key, value in arrays.items() if key.startswith(prefix)}
        if found:
            layers.append(FileLayer(name, found))
    ops = {node.name: node.op for node in graph.nodes}
    return WeightsFile(str(path), "netspec-run", "netspec", layers, ops=ops)
