"""The epoch loop and :func:`fit`, the notebook-friendly entry point.

One epoch: a seeded permutation of the training split (a function of
``(seed, epoch)``), full batches prefetched to the devices on a background
thread, the jitted train step, a live progress bar, then the validation
split, one printed row, the history files and the checkpoints. Stops early
on: the last epoch, early stopping, ``max_steps``, Ctrl-C (first press:
checkpoint and stop; second: abort) and a non-finite loss (diagnostic; the
last good checkpoint is kept).
"""

from __future__ import annotations

import math
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jax
import numpy as np

from netspec.diagnostics import NetspecError, error
from netspec.ir import Graph
from netspec.spec.train import TrainSpec
from netspec.train import rundir
from netspec.train.batches import Prefetcher, epoch_order, eval_batches
from netspec.train.plan import Plan, plan_run
from netspec.train.progress import Display
from netspec.train.resume import open_session
from netspec.train.session import Session

REFRESH_SECONDS = 0.5  # how often the bar (and the NaN check) reads the running totals


@dataclass
class Run:
    """What :func:`fit` returns.

    ``history`` holds one dict per completed epoch (the rows of
    ``history.json``); ``stopped`` says why training ended: ``"completed"``,
    ``"early_stopping"``, ``"max_steps"`` or ``"interrupted"``.
    ``predict(x)`` maps ``(B, *input_shape)`` raw inputs to the spec's
    outputs (probabilities when it ends in softmax/sigmoid).
    """

    directory: Path | None
    history: list[dict[str, Any]]
    stopped: str
    train: TrainSpec
    test: dict[str, float] | None
    session: Session
    signal: int | None = None  # the signal that interrupted the run (SIGINT, SIGTERM, SIGHUP)

    @property
    def model(self):
        """The trained ``nnx.Module`` (eval mode). It returns logits: the spec's
        final softmax/sigmoid, if any, is applied by :meth:`predict`."""
        return self.session.steps.model(self.session.model_state)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.session.predict(x)

    def evaluate(self, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
        return self.session.evaluate(x, y)


# SIGTERM (schedulers, `timeout`, `kill`) and SIGHUP (a closed terminal) stop a run like Ctrl-C.
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


class _Interrupt:
    """The first Ctrl-C (or SIGTERM/SIGHUP) asks the loop to stop after the current step
    and save a checkpoint; a second one aborts."""

    def __init__(self, display: Display):
        self.requested = False
        self.signal: int | None = None
        self._display = display
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _Interrupt:
        if threading.current_thread() is threading.main_thread():
            for number in STOP_SIGNALS:
                self._previous[number] = signal.signal(number, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        self.signal = signum
        name = "interrupt" if signum == signal.SIGINT else signal.Signals(signum).name
        self._display.message(f"\n{name}: finishing this step and saving a checkpoint "
                              "(press Ctrl-C again to abort without saving)")

    def __exit__(self, *exc) -> None:
        for number, previous in self._previous.items():
            signal.signal(number, previous)


def fit(graph: Graph, dataset, *, out: str | Path | None = None, resume: str | Path | None = None,
        max_steps: int | None = None, quiet: bool = False, display: Display | None = None,
        data_source: str | None = None, data_options: dict[str, Any] | None = None, save: bool = True,
        spec_text: str | None = None, allow_changes: bool = False, plan: Plan | None = None,
        **overrides: Any) -> Run:
    """Train ``graph`` on ``dataset`` (a :class:`netspec.data.Dataset`).

    ``overrides`` replace keys of the spec's ``train:`` section: any field
    name (``epochs=3``, ``batch_size=64``, ``seed=1``), ``lr=`` and
    ``optimizer=`` (a name) for the optimizer, or dotted paths
    (``**{"schedule.name": "cosine"}``). ``out`` is the run folder (default
    ``runs/<spec>-<time>``); ``resume`` continues the run in that folder;
    ``save=False`` keeps everything in memory (no folder, no checkpoints).
    ``max_steps`` stops after that many optimizer steps in total (smoke
    tests), checkpointing so the run can be resumed. ``data_source`` and
    ``data_options`` (e.g. ``{"window": 64, "horizon": 1}``) are recorded in
    ``run.json`` so ``--resume``, ``eval`` and ``predict`` reload the same data.
    A resumed run must have the same network and settings (``epochs`` may
    change); ``allow_changes=True`` accepts other overrides and records them
    in ``run.json`` (:mod:`netspec.train.fingerprint`). ``plan`` (from
    :func:`netspec.train.plan.plan_run`) stands for ``resume`` and the overrides
    when the caller has decided the settings already, as ``netspec train`` has.
    """
    if plan is None:
        plan = plan_run(graph, overrides, resume=resume)
    elif overrides or resume is not None:
        raise TypeError("fit: pass either plan= or resume= and overrides, not both")
    display = display or Display(quiet=quiet)
    if jax.process_index() != 0:  # in a multi-process run only process 0 prints
        from netspec.train.multihost import SilentDisplay

        display = SilentDisplay()
    session = open_session(graph, dataset, plan, out=out,
                           data_source=data_source, data_options=data_options, save=save, display=display,
                           spec_text=spec_text, allow_changes=allow_changes)
    try:
        return _fit(session, dataset, display, resumed=plan.resumed is not None, max_steps=max_steps)
    finally:
        if session.lock is not None:
            session.lock.release()


def _fit(session: Session, dataset, display: Display, *, resumed: bool, max_steps: int | None) -> Run:
    _introduce(session, display, resumed=resumed)
    with _Interrupt(display) as interrupt:
        try:
            stopped = _loop(session, display, interrupt, max_steps)
        except jax.errors.JaxRuntimeError as exc:
            if jax.process_count() == 1:
                raise
            from netspec.train.multihost import explain_failed_collective

            raise (explain_failed_collective(exc) or exc) from None
    session.write_history(plot=True)
    test = None
    if stopped in ("completed", "early_stopping"):
        if session.train.early_stopping is not None and session.train.early_stopping.restore_best:
            session.restore_best()
        if dataset.test is not None and len(dataset.test):
            test = _final_test(session, dataset.test, display)
            session.write_history(plot=True)  # again, with the test point
    _final_message(session, display, stopped)
    return Run(session.directory, session.history, stopped, session.train, test, session, interrupt.signal)


def _loop(session: Session, display: Display, interrupt: _Interrupt, max_steps: int | None) -> str:
    train = session.train
    count = len(session.dataset.train.x)
    steps = session.steps_per_epoch
    while session.epoch < train.epochs:
        epoch = session.epoch
        display.start_epoch(epoch + 1, train.epochs, steps, done=session.step_in_epoch)
        started = time.monotonic() - session.epoch_seconds
        order = epoch_order(train.seed, epoch, count)
        batches, put = session.train_feed(order, start_step=session.step_in_epoch)
        last_refresh = time.monotonic()
        stop_reason = None
        try:
            with Prefetcher(batches, put=put) as prefetched:
                for xb, yb in prefetched:
                    session.train_step(xb, yb)
                    now = time.monotonic()
                    if session.placement.refresh_due(now - last_refresh, session.global_step, REFRESH_SECONDS):
                        last_refresh = now
                        live: dict[str, float | None] = dict(session.running_means())
                        _check_finite(session, live, display)
                        live["images_per_s"] = session.throughput(now - started)
                        display.update(session.step_in_epoch, live)
                    if session.placement.stop_together(interrupt.requested, session.global_step):
                        stop_reason = "interrupted"
                    elif max_steps is not None and session.global_step >= max_steps:
                        stop_reason = "max_steps"
                    if stop_reason:
                        break
        finally:
            display.end_epoch()
        jax.block_until_ready(session.totals)
        session.epoch_seconds = time.monotonic() - started
        if stop_reason is not None and session.step_in_epoch < steps:
            _check_finite(session, session.running_means(), display)
            session.save_last(reason=stop_reason)
            return stop_reason
        row = session.finish_epoch()
        _check_finite(session, row, display)
        display.row(row, train.epochs)
        early_stop = session.end_of_epoch_bookkeeping(row)
        if stop_reason is not None:
            return stop_reason
        if early_stop:
            return "early_stopping"
    return "completed"


def _check_finite(session: Session, means: dict[str, Any], display: Display) -> None:
    """Stop with a diagnostic when the loss is NaN/Inf; no checkpoint of that state is written."""
    loss = means.get("loss")
    if loss is None or math.isfinite(loss):
        return
    display.end_epoch()
    session.write_history()
    lr = session.train.optimizer.learning_rate
    where = (f"the last good checkpoint is kept in {session.directory / rundir.CHECKPOINTS / 'last'}"
             if session.directory is not None and session.has_checkpoint else "no checkpoint had been saved yet")
    raise NetspecError([error(
        "non-finite-loss",
        f"the training loss became {loss} in epoch {means.get('epoch', session.epoch + 1)} "
        f"(by step {session.global_step}); "
        f"training stopped; {where}",
        hint=f"lower the learning rate (now {lr:g}, e.g. --lr {lr / 10:g}), set clip_norm in train:, "
             "or standardise the inputs (standardize: per_channel)")])


def _introduce(session: Session, display: Display, *, resumed: bool) -> None:
    from netspec.pipeline import analysis_of

    dataset, train = session.dataset, session.train
    params = analysis_of(session.graph).total_params
    display.message(f"{session.graph.name}: {params:,} parameters, loss {session.loss_name}, "
                    f"{train.optimizer.name} lr {train.optimizer.learning_rate:g}, batch {train.batch_size}, "
                    f"{train.epochs} epochs on {device_summary()}")
    display.message(f"data {dataset.describe()}")
    display.message(_data_origin(dataset))
    if len(session.graph.input_shape) != 3:  # sequences and vectors are not images
        display.rate_name = "samples/s"
    if len(session.graph.input_shape) == 3 or train.augment is not None:
        from netspec.train.augment_preview import describe

        display.message(describe(train.augment))
    for note in dataset.notes:
        display.message(f"note: {note}")
    if resumed:
        if session.epoch >= train.epochs:
            display.message(f"this run already completed {session.epoch} epochs; "
                            f"pass --epochs N (N > {session.epoch}) to train longer")
        else:
            display.message(f"resuming at epoch {session.epoch + 1}, step {session.step_in_epoch} "
                            f"(global step {session.global_step})")


def _final_test(session: Session, test_split, display: Display) -> dict[str, float]:
    """Test figures of the checkpoint ``netspec eval`` reads (the best one, when saved),
    and of the final weights too when those differ, each line saying which it is."""
    from netspec.train.session import BEST

    x, y = test_split.x, test_split.y
    best_epoch = session.best.get("epoch")
    has_best = session.directory is not None and (session.directory / rundir.CHECKPOINTS / BEST).exists()
    restored = session.train.early_stopping is not None and session.train.early_stopping.restore_best
    if not has_best:
        test = session.evaluate(x, y)
        display.message(f"test (final weights, epoch {session.epoch}): " + _show_all(test))
        session.record_test(test, checkpoint={"name": "last", "epoch": session.epoch})
        return test
    last = None if restored or best_epoch == session.epoch else session.evaluate(x, y)
    test = session.evaluate_checkpoint(BEST, x, y) if last is not None else session.evaluate(x, y)
    name, _ = session.monitor()
    display.message(f"test (checkpoints/best, epoch {best_epoch}, best {name}; what netspec eval reports): "
                    + _show_all(test))
    if last is not None:
        display.message(f"test (last weights, epoch {session.epoch}): " + _show_all(last))
    session.record_test(test, checkpoint={"name": BEST, "epoch": best_epoch}, last=last)
    return test


def _data_origin(dataset) -> str:
    """Where the data came from: the resolved files or folder, and NETSPEC_DATA when it is set."""
    import os

    where = ", ".join(dataset.origin) if dataset.origin else "generated in memory (no files)"
    env = os.environ.get("NETSPEC_DATA")
    return f"data read from {where}" + (f" (NETSPEC_DATA={env})" if env else "")


def _show_all(metrics: dict[str, float]) -> str:
    return "  ".join(_show(k, v) for k, v in metrics.items())


def _show(key: str, value: float) -> str:
    from netspec.train.progress import format_value

    return f"{key} {format_value(key, value)}"


def _final_message(session: Session, display: Display, stopped: str) -> None:
    where = session.directory
    if stopped == "interrupted":
        display.message(f"interrupted at epoch {session.epoch + 1}, step {session.step_in_epoch}; "
                        f"checkpoint saved. Continue with: netspec train --resume {where}")
    elif stopped == "max_steps":
        display.message(f"stopped after {session.global_step} steps (--max-steps); "
                        f"continue with: netspec train --resume {where}")
    elif stopped == "early_stopping":
        best = session.best
        display.message(f"early stopping after epoch {session.epoch}: {best['monitor']} has not improved "
                        f"since epoch {best['epoch']} ({best['value']:.4f})")
    if where is not None:
        display.message(f"run folder: {where}")


def device_summary() -> str:
    """``"1 cpu device"``, ``"4 gpu devices"``, ``"2 processes × 2 cpu devices"``: what the batch is sharded over."""
    devices = jax.local_devices()
    kind = devices[0].platform
    local = f"{len(devices)} {kind} device{'s' if len(devices) != 1 else ''}"
    return local if jax.process_count() == 1 else f"{jax.process_count()} processes × {local}"


__all__ = ["Run", "fit", "device_summary", "eval_batches"]
