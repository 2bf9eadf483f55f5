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
from netspec.train import agreement, fingerprint, multihost, rundir
from netspec.train.adapt import adapt_normalization, layers_to_adapt
from netspec.train.plan import Plan, Resumed
from netspec.train.resolved_spec import resolved_spec_text
from netspec.train.run_lock import claim_new, lock_existing
from netspec.train.rundir import read_run, read_run_file, recorded_settings, run_folder_of
from netspec.train.session import BEST, LAST, Session
from netspec.train.transfer import initialize_from
from netspec.version import __version__


def _spec_text(graph: Graph, spec_text: str | None) -> str | None:
    if spec_text is not None:
        return spec_text
    if graph.source_path and Path(graph.source_path).is_file():
        return Path(graph.source_path).read_text(encoding="utf-8")
    return None


def check_data(graph: Graph, dataset, session: Session, display) -> None:
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


def open_session(graph: Graph, dataset, plan: Plan, *, out=None,
                 data_source: str | None = None, data_options: dict[str, Any] | None = None,
                 save: bool = True, display=None,
                 spec_text: str | None = None, allow_changes: bool = False) -> Session:
    """A session ready to train ``graph`` on ``dataset`` as ``plan`` says (see the module docstring)."""
    if multihost.is_multiprocess():
        agreement.check_same_data(dataset)
    train, resumed = plan.train, plan.resumed
    changes = _resume_changes(graph, dataset, resumed, train, allow_changes) if resumed is not None else {}
    standardizer = (read_standardizer(resumed.directory) if resumed is not None
                    else Standardizer.fit(dataset.train.x, train.standardize))
    _check_one_batch_fits(dataset, train)
    session = Session(graph, train, task=dataset.task, standardizer=standardizer,
                      train_examples=len(dataset.train), directory=None, display=display)
    session.dataset = dataset
    check_data(graph, dataset, session, display)
    session.check_monitor()
    if resumed is None:  # a resumed run's checkpoint holds its weights and the statistics it adapted
        _import_initial_weights(session, graph, display)
    _describe_transfer(session, display)
    if resumed is None:
        _adapt_to_training_split(session, dataset, display)
    try:
        if resumed is not None:
            _continue_folder(session, graph, resumed, changes)
        elif save:
            _start_folder(session, graph, dataset, out=out, data_source=data_source, data_options=data_options,
                          spec_text=spec_text)
    except BaseException as exc:
        if session.lock is not None:  # a failed start must not keep the folder locked in this process
            session.lock.release()
        if isinstance(exc, OSError):  # a full disk or a read-only folder while writing the run's files
            raise NetspecError([error("run-folder-unwritable", f"cannot write the run folder {session.directory}: "
                                      f"{exc.strerror or exc}", hint="pick a writable place with --out")]) from None
        raise
    return session


def _resume_changes(graph: Graph, dataset, resumed: Resumed, train: TrainSpec,
                    allow_changes: bool) -> dict[str, list]:
    """The settings that differ from the run's; a diagnostic when the network, the settings
    (without ``allow_changes``) or the number of training examples differ."""
    run = resumed.run
    changes = fingerprint.setting_changes(resumed.recorded.model_dump(mode="json"), train.model_dump(mode="json"))
    problems = [problem for problem in (fingerprint.network_problem(graph, run.get("fingerprints") or {}),
                                        fingerprint.settings_problem(changes, allow_changes)) if problem]
    if problems:
        raise NetspecError(problems)
    if run.get("train_examples") not in (None, len(dataset.train)):
        raise NetspecError([error(
            "resume-data", f"the run was trained on {run['train_examples']:,} examples, "
            f"but the data given now has {len(dataset.train):,}",
            hint=f"resume with the same data (--data {run.get('data')}) and --val-split")])
    return changes


def _check_one_batch_fits(dataset, train: TrainSpec) -> None:
    if len(dataset.train) < (train.batch_size if train.drop_last else 1):  # drop_last: false trains on a part
        raise NetspecError([error(
            "data-too-small",
            f"the training split has {len(dataset.train)} examples, fewer than one batch ({train.batch_size})",
            hint=f"use --batch-size {max(1, len(dataset.train))}, drop_last: false, or more data")])


def _import_initial_weights(session: Session, graph: Graph, display) -> None:
    """A new run's pretrained weights: the base network's (``base: {weights:}``), then ``init_from``'s;
    before the run folder exists, so a mismatch leaves nothing behind."""
    if graph.meta.get("base", {}).get("weights"):  # base: {weights: ...} (netspec.resolve.compose)
        from netspec.train.pretrained import import_base_state

        state, report = import_base_state(session.model_state, session.logits_graph, graph.meta["base"])
        session.model_state = session.placement.replicate(state)
        if display is not None:
            display.message(report.totals() + f" from {report.file} (base network)")
    if session.train.init_from:
        state = initialize_from(session.logits_graph, session.model_state, session.train.init_from)
        session.model_state = session.placement.replicate(state)


def _adapt_to_training_split(session: Session, dataset, display) -> None:
    """A new run's normalization layers adapted to the training split (Keras' ``adapt``)."""
    adapted = adapt_normalization(session, dataset.train.x)
    if adapted is not None:
        session.model_state = session.placement.replicate(adapted)
        if display is not None:
            names = ", ".join(node.name for node in layers_to_adapt(session.logits_graph))
            display.message(f"adapted {names} to the training split ({len(dataset.train):,} examples)")


def _continue_folder(session: Session, graph: Graph, resumed: Resumed, changes: dict[str, list]) -> None:
    """Lock the resumed run's folder, load its last checkpoint and record the settings it goes on with."""
    directory, run, train = resumed.directory, resumed.run, session.train
    primary = session.placement.is_primary  # in a multi-process run only process 0 writes (and locks) the folder
    session.directory = directory
    if primary:
        session.lock = lock_existing(directory)
    if (directory / rundir.CHECKPOINTS / LAST).exists() or any(
            (directory / rundir.CHECKPOINTS).glob(f".{LAST}.old-*")):
        session.load_state(LAST)
        if primary:
            session.write_history(plot=False)  # the checkpoint's history wins over a lagging history.json
    if changes:  # keep what the earlier part ran with
        run.setdefault("setting_changes", []).append(
            fingerprint.change_entry(changes, session.epoch, session.global_step))
    run["train"] = train.model_dump(mode="json")
    run.setdefault("fingerprints", fingerprint.record(graph, run["train"]))["settings"] = \
        fingerprint.digest(run["train"])
    if primary:
        rundir.write_json(directory / rundir.RUN, run)


def _start_folder(session: Session, graph: Graph, dataset, *, out, data_source: str | None,
                  data_options: dict[str, Any] | None, spec_text: str | None) -> None:
    """Claim a new run folder and write its fixed files (process 0 only, in a multi-process run)."""
    directory = _create_folder(out, graph, session)
    session.directory = directory
    if not session.placement.is_primary:
        return
    train = session.train
    text = _spec_text(graph, spec_text)
    if text is not None:
        (directory / rundir.SPEC).write_text(text, encoding="utf-8")
        (directory / rundir.RESOLVED_SPEC).write_text(
            resolved_spec_text(text, train, loss=session.loss_name, data=data_source or train.data),
            encoding="utf-8")
    rundir.write_json(directory / rundir.RUN, _new_run_record(session, graph, dataset, data_source, data_options))
    rundir.write_json(directory / rundir.STANDARDIZE, session.standardizer.to_dict())
    if dataset.class_names is not None:
        rundir.write_json(directory / rundir.CLASSES, list(dataset.class_names))


def _new_run_record(session: Session, graph: Graph, dataset, data_source: str | None,
                    data_options: dict[str, Any] | None) -> dict[str, Any]:
    """A new run's ``run.json``."""
    train = session.train
    monitor, mode = session.monitor()
    return {
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
        "fingerprints": fingerprint.record(graph, train.model_dump(mode="json")),
    }


def _create_folder(out, graph: Graph, session: Session) -> Path:
    """A new run folder, claimed (and locked) by this process; in a multi-process run process 0
    creates and claims it and tells the others."""
    def create() -> Path:
        directory, session.lock = _claim_new_folder(out, graph.name)
        return directory

    if session.placement.process_count == 1:
        return create()
    return Path(agreement.on_primary(lambda: str(create())))


def read_standardizer(directory: Path) -> Standardizer:
    """The run's input statistics, or a diagnostic when ``standardize.json`` is damaged."""
    path = Path(directory) / rundir.STANDARDIZE
    try:
        return Standardizer.from_dict(read_run_file(path, rundir.STANDARDIZE))
    except NetspecError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise NetspecError([error("bad-run-file", f"{path} is not a standardize.json written by netspec ({exc})",
                                  hint="restore the file, or start a new run")]) from None


def _claim_new_folder(out, spec_name: str):
    """(folder, lock) of a new run folder: ``out``, or the first free default name
    (another process may claim a timestamped name between the check and the claim)."""
    if out is not None:
        directory = rundir.create(out)
        return directory, claim_new(directory)
    for _ in range(100):
        try:
            directory = rundir.create(rundir.default_directory(spec_name))
            return directory, claim_new(directory)
        except NetspecError:
            continue
    raise NetspecError([error("run-folder-exists", "could not claim a new run folder under runs/",
                              hint="pick a folder with --out")])


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
    train = recorded_settings(run, directory, loss=run.get("loss"))
    standardizer = read_standardizer(directory)
    task = "regression" if run.get("loss") == "mse" else "classification"
    session = Session(graph, train, task=task, standardizer=standardizer,
                      train_examples=int(run.get("train_examples") or train.batch_size), directory=directory)
    session.load_state(which, with_position=False)
    session.run_info = run
    classes = directory / rundir.CLASSES
    session.class_names = rundir.read_json(classes) if classes.is_file() else None
    return session
