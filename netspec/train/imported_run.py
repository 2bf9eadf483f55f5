"""``netspec weights import``: a run folder holding imported weights, which every
command taking ``--checkpoint`` (eval, predict, features, explain, filters,
activations) and ``train: init_from:`` accept like a trained run.

The folder is written only after the import succeeded, so a failed import
leaves nothing behind. It holds ``spec.yaml``, ``run.json`` (``"imported":``
the file and the report's totals), ``standardize.json`` (none: the
network's own ``preprocess:`` is part of the graph), ``weights.json`` (the
full import report) and ``checkpoints/best`` = ``checkpoints/last``.
"""

from __future__ import annotations

from pathlib import Path

from netspec.ir import Graph
from netspec.version import __version__
from netspec.weights.match import ImportReport


def write_imported_run(graph: Graph, weights: str | Path, out: str | Path, *,
                       mapping: dict[str, str] | None = None, partial: bool = False,
                       spec_text: str | None = None, base: dict | None = None) -> tuple[Path, ImportReport]:
    """Import ``weights`` into ``graph``'s network and save it as a run at ``out``; with ``base``
    (``graph.meta["base"]``) and no ``weights``, the weights its ``base:`` names."""
    from netspec.data.standardize import Standardizer
    from netspec.train import rundir
    from netspec.train.pretrained import import_base_state, import_state
    from netspec.train.session import BEST, LAST, Session, settings

    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):  # checked before the (slow) import
        rundir.create(out)  # raises run-folder-exists
    train = settings(graph, {})
    standardizer = Standardizer("none")
    session = Session(graph, train, task="classification", standardizer=standardizer,
                      train_examples=train.batch_size, directory=None)
    if weights is None:
        state, report = import_base_state(session.model_state, session.logits_graph, base)
        weights = report.file
    else:
        state, report = import_state(session.model_state, session.logits_graph, weights,
                                     mapping=mapping, partial=partial)
    session.model_state = session.placement.replicate(state)
    directory = rundir.create(out)
    session.directory = directory
    if spec_text is None and graph.source_path and Path(graph.source_path).is_file():
        spec_text = Path(graph.source_path).read_text(encoding="utf-8")
    if spec_text is not None:
        (directory / rundir.SPEC).write_text(spec_text, encoding="utf-8")
    rundir.write_json(directory / rundir.RUN, {
        "spec": graph.name, "spec_path": graph.source_path, "data": train.data, "data_options": {},
        "notes": [f"weights imported from {weights}"], "train_examples": train.batch_size,
        "loss": session.loss_name, "head": session.head, "devices": session.placement.device_count,
        "netspec": __version__, "train": train.model_dump(mode="json"),
        "imported": {"file": str(weights), "format": report.format, "totals": report.totals()},
    })
    rundir.write_json(directory / rundir.STANDARDIZE, standardizer.to_dict())
    rundir.write_json(directory / "weights.json", report.to_dict())
    session._save(LAST, reason="imported")
    session._save(BEST, reason="imported")
    return directory, report
