"""Opening a session: a fresh run, a resumed run, or a trained run for
``eval`` / ``predict``.

A fresh run writes its folder's fixed files first (the spec, ``run.json``
with the resolved settings, the standardisation statistics, the class
names); resuming reads them back, so the resumed run uses the same settings,
statistics and data order — only ``epochs`` (and things that do not change
the batch order, such as the learning rate) may be overridden.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from netspec.data.provenance import record
from netspec.data.standardize import Standardizer
from netspec.diagnostics import NetspecError, error, render
from netspec.ir import Graph
from netspec.spec.train import TrainSpec
from netspec.train import agreement, multihost, rundir
from netspec.train.adapt import adapt_normalization, layers_to_adapt
from netspec.train.resolved_spec import resolved_spec_text
from netspec.train.rundir import read_run, run_folder_of
from netspec.train.session import BEST, FIXED_ON_RESUME, LAST, Session, settings
from netspec.train.transfer import initialize_from
from netspec.version import __version__


def _spec_text(graph: Graph, spec_text: str | None) -> str | None:
    if spec_text is not None:
        return spec_text
    if graph.source_path and Path(graph.source_path).is_file():
        return Path(graph.source_path).read_text(encoding="utf-8")
    return None


def _check_data(graph: Graph, dataset, session: Session, display) -> None:
    from netspec.data import check_compatible

    found = check_compatible(dataset, graph.input_shape, session.output_shape,
                             spec_name=graph.name, loss=session.loss_name)
    errors = [d for d in found if d.is_error]
    if errors:
        raise NetspecError(found)
    if found and display is not None:
        display.message(render(found))
    preprocess = next((node.attrs.mode for node in graph.nodes if node.op == "preprocess"), None)
    if preprocess and display is not None and len(dataset.train) and float(dataset.train.x.max()) > 1.5:
        display.message(f"warning: preprocess: {preprocess} expects images in [0, 1] (as netspec's data "
                        f"sources give them), but the training data goes up to {float(dataset.train.x.max()):g}")


def open_session(graph: Graph, dataset, *, out=None, resume=None, overrides: dict[str, Any],
                 data_source: str | None = None, data_options: dict[str, Any] | None = None,
                 save: bool = True, display=None,
                 spec_text: str | None = None) -> Session:
    """A session ready to train ``graph`` on ``dataset`` (see the module docstring)."""
    run: dict[str, Any] | None = None
    if multihost.is_multiprocess():
        agreement.check_same_data(dataset)
    if resume is not None:
        directory: Path | None = Path(resume)
        run = read_run(directory)
        base = TrainSpec.model_validate(run["train"])
        train = settings(graph, overrides, base)
        changed = [key for key in FIXED_ON_RESUME if getattr(train, key) != getattr(base, key)]
        if changed:
            raise NetspecError([error(
                "resume-changed", f"a resumed run keeps its {' and '.join(changed)} "
                f"({', '.join(f'{k}={getattr(base, k)}' for k in changed)}): they fix the order of the batches",
                hint="drop those options, or start a new run with --out")])
        if run.get("train_examples") not in (None, len(dataset.train)):
            raise NetspecError([error(
                "resume-data", f"the run was trained on {run['train_examples']:,} examples, "
                f"but the data given now has {len(dataset.train):,}",
                hint=f"resume with the same data (--data {run.get('data')}) and --val-split")])
        standardizer = Standardizer.from_dict(rundir.read_json(directory / rundir.STANDARDIZE))
    else:
        train = settings(graph, overrides)
        directory = None
        standardizer = Standardizer.fit(dataset.train.x, train.standardize)
    if len(dataset.train) < train.batch_size:
        raise NetspecError([error(
            "data-too-small",
            f"the training split has {len(dataset.train)} examples, fewer than one batch ({train.batch_size})",
            hint=f"use --batch-size {max(1, len(dataset.train))} or more data")])

    session = Session(graph, train, task=dataset.task, standardizer=standardizer,
                      train_examples=len(dataset.train), directory=None, display=display)
    session.dataset = dataset
    _check_data(graph, dataset, session, display)
    session.check_monitor()
    if resume is None and graph.meta.get("base", {}).get("weights"):  # base: {weights: ...} (netspec.resolve.compose)
        from netspec.train.pretrained import import_base_state

        state, report = import_base_state(session.model_state, session.logits_graph, graph.meta["base"])
        session.model_state = session.placement.replicate(state)
        if display is not None:
            display.message(report.totals() + f" from {report.file} (base network)")
    if resume is None and train.init_from:  # before the run folder exists: a mismatch leaves nothing behind
        state = initialize_from(session.logits_graph, session.model_state, train.init_from)
        session.model_state = session.placement.replicate(state)
    _describe_transfer(session, display)
    if resume is None:  # a resumed run's checkpoint holds the statistics it adapted
        adapted = adapt_normalization(session, dataset.train.x)
        if adapted is not None:
            session.model_state = session.placement.replicate(adapted)
            if display is not None:
                names = ", ".join(node.name for node in layers_to_adapt(session.logits_graph))
                display.message(f"adapted {names} to the training split ({len(dataset.train):,} examples)")

    if resume is not None:
        session.directory = directory
        if (directory / rundir.CHECKPOINTS / LAST).exists() or any(
                (directory / rundir.CHECKPOINTS).glob(f".{LAST}.old-*")):
            session.load_state(LAST)
        run["train"] = train.model_dump(mode="json")
        if session.placement.is_primary:
            rundir.write_json(directory / rundir.RUN, run)
    elif save:
        directory = _create_folder(out, graph, session.placement)
        session.directory = directory
        if not session.placement.is_primary:  # process 0 writes the run folder
            return session
        text = _spec_text(graph, spec_text)
        if text is not None:
            (directory / rundir.SPEC).write_text(text, encoding="utf-8")
            (directory / rundir.RESOLVED_SPEC).write_text(
                resolved_spec_text(text, train, loss=session.loss_name, data=data_source or train.data),
                encoding="utf-8")
        monitor, mode = session.monitor()
        rundir.write_json(directory / rundir.RUN, {
            "spec": graph.name,
            "spec_path": graph.source_path,
            "data": data_source or train.data,
            "data_options": dict(data_options or {}),
            "dataset": dataset.describe(),
            "notes": list(dataset.notes),
            "train_examples": len(dataset.train),
            "loss": session.loss_name,
            "head": session.head,
            "devices": session.placement.device_count,
            "processes": session.placement.process_count,
            "netspec": __version__,
            "train": train.model_dump(mode="json"),
            "data_record": record(dataset, data_source or train.data),
            "best_checkpoint": {"monitor": monitor, "mode": mode},
        })
        rundir.write_json(directory / rundir.STANDARDIZE, standardizer.to_dict())
        if dataset.class_names is not None:
            rundir.write_json(directory / rundir.CLASSES, list(dataset.class_names))
    return session


def _create_folder(out, graph: Graph, placement) -> Path:
    """A new run folder; in a multi-process run process 0 creates it and tells the others."""
    def create() -> Path:
        return rundir.create(out if out is not None else rundir.default_directory(graph.name))

    if placement.process_count == 1:
        return create()
    return Path(agreement.on_primary(lambda: str(create())))


def _describe_transfer(session: Session, display) -> None:
    if display is None:
        return
    for source in session.train.init_from:
        layers = ", ".join(source.layers) if source.layers else "every layer both networks have"
        display.message(f"init_from {source.checkpoint or source.weights}: {layers}")
    if session.frozen:
        from netspec.pipeline import analysis_of

        facts = analysis_of(session.graph).layers
        count = sum(facts[name].params for name in session.frozen)
        display.message(f"frozen: {', '.join(session.frozen)} ({count:,} parameters)")


def restore(path: str | Path, graph: Graph | None = None, *, which: str | None = None) -> Session:
    """A session holding a trained run's weights, for evaluation and prediction.

    ``path`` is a run folder (its best checkpoint is used, else the last) or
    one of its ``checkpoints/<name>`` folders. ``graph`` defaults to the
    run's own ``spec.yaml``.
    """
    from netspec.pipeline import load

    path = Path(path)
    directory = run_folder_of(path)
    if which is None:
        which = path.name if path != directory else (
            BEST if (directory / rundir.CHECKPOINTS / BEST).exists() else LAST)
    run = read_run(directory)
    if graph is None:
        spec = directory / rundir.SPEC
        if not spec.is_file():
            raise NetspecError([error("no-spec", f"{directory} has no {rundir.SPEC}; pass the SPEC explicitly")])
        graph = load(str(spec))
    train = TrainSpec.model_validate({**run["train"], "loss": run.get("loss")})
    standardizer = Standardizer.from_dict(rundir.read_json(directory / rundir.STANDARDIZE))
    task = "regression" if run.get("loss") == "mse" else "classification"
    session = Session(graph, train, task=task, standardizer=standardizer,
                      train_examples=int(run.get("train_examples") or train.batch_size), directory=directory)
    session.load_state(which, with_position=False)
    session.run_info = run
    classes = directory / rundir.CLASSES
    session.class_names = rundir.read_json(classes) if classes.is_file() else None
    return session
