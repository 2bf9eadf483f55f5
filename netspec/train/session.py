"""A training session: the model, its optimizer and everything needed to
step, evaluate, checkpoint and resume it.

The loop (:mod:`netspec.train.loop`) drives a :class:`Session`; the ``eval``
and ``predict`` commands open one from a run folder with :func:`restore`.
A session's position is ``(epoch, step_in_epoch, global_step)`` plus the
running totals of the unfinished epoch; a checkpoint stores all of it with
the model and optimizer state (dropout RNG included), so a resumed run takes
exactly the steps an uninterrupted one would.
"""

from __future__ import annotations

import math
import time
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from netspec.data.dataset import Dataset
from netspec.data.standardize import Standardizer
from netspec.diagnostics import Diagnostic, NetspecError, did_you_mean, error
from netspec.infer.limits import metric_problems, model_problems
from netspec.ir import Graph
from netspec.spec.train import TrainSpec, with_overrides
from netspec.train import checkpoint, multihost, rundir
from netspec.train.batches import eval_batches, partial_batch_problem, steps_per_epoch
from netspec.train.device_data import ResidentSplit, eval_batch_limit, eval_batch_size
from netspec.train.head import split_output_activation
from netspec.train.losses import apply_head, kernel_penalty, make_loss, make_metrics
from netspec.train.optim import make_optimizer, make_schedule
from netspec.train.run_lock import RunLock
from netspec.train.safe_save import guarded_write, refuse_non_finite
from netspec.train.sharding import check_batch_size
from netspec.train.step import StepConfig, Steps, cast_params, zero_totals
from netspec.train.transfer import freeze_batchnorm, frozen_layers, trainable_filter

LAST, BEST = "last", "best"
PLOT_EVERY_EPOCH_SECONDS = 20.0


def choose_loss(train: TrainSpec, head: str | None, output_shape: tuple[int, ...], task: str | None) -> str:
    """The loss to use: the spec's, else one implied by the output layer and the data.

    softmax -> cross_entropy; one sigmoid unit -> binary_cross_entropy;
    regression data -> mse; one raw unit -> binary_cross_entropy; else cross_entropy.
    """
    if train.loss is not None:
        return train.loss
    if head == "softmax":
        return "cross_entropy"
    if head == "sigmoid" and output_shape[-1:] == (1,):
        return "binary_cross_entropy"
    if task == "regression":
        return "mse"
    return "binary_cross_entropy" if output_shape[-1:] == (1,) else "cross_entropy"


def settings(graph: Graph, overrides: dict[str, Any], base: TrainSpec | None = None) -> TrainSpec:
    """The spec's ``train:`` section (or ``base``) with command-line overrides, validated."""
    from pydantic import ValidationError

    try:
        spec_train = graph.train if isinstance(graph.train, TrainSpec) else None
        return with_overrides(base if base is not None else spec_train, overrides)
    except ValidationError as exc:
        raise NetspecError([_override_problem(problem) for problem in exc.errors()]) from None


def _override_problem(problem: Mapping[str, Any]) -> Diagnostic:
    """One pydantic error of an override as a diagnostic, with did-you-mean for unknown keys."""
    location = problem["loc"]
    hint = None
    if problem["type"] == "extra_forbidden":
        hint = did_you_mean(str(location[-1]), _keys_at(location[:-1])) or (
            f"the keys here are: {', '.join(_keys_at(location[:-1]))}")
    return error("bad-override", f"train.{'.'.join(str(part) for part in location)}: {problem['msg']}",
                 hint=hint)


def _keys_at(location: tuple) -> list[str]:
    """The field names of the train: sub-section at ``location`` (``("optimizer",)`` -> lr, momentum, ...)."""
    from pydantic import BaseModel

    model: type[BaseModel] | None = TrainSpec
    for part in location:
        field = model.model_fields.get(str(part)) if model else None
        candidates = typing.get_args(field.annotation) or (field.annotation,) if field else ()
        model = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)
    return sorted(model.model_fields) if model else []


class Session:
    """Model + optimizer state, position and history of one run (see the module docstring)."""

    def __init__(self, graph: Graph, train: TrainSpec, *, task: str | None, standardizer: Standardizer,
                 train_examples: int, directory: Path | None, display=None):
        from netspec.pipeline import analysis_of

        self.graph = graph
        self.train = train
        self.directory = directory
        self.display = display
        self.standardizer = standardizer
        self.logits_graph, self.head = split_output_activation(graph)
        self.output_shape = analysis_of(graph).output.output_shape
        self.loss_name = choose_loss(train, self.head, self.output_shape, task)
        self.placement = multihost.placement()
        self._check_it_fits(analysis_of(graph), train_examples)
        self.steps_per_epoch = max(1, steps_per_epoch(train_examples, train.batch_size, train.drop_last))
        self.train_examples = train_examples
        self.eval_batch_limit = eval_batch_limit(analysis_of(graph), train.batch_size, self.placement.devices)
        self.resident: ResidentSplit | None = None  # the training split on the devices, once placed
        self.keep_on_device = True  # False: host batches even when the split fits (benchmarks compare)
        self.frozen = frozen_layers(graph, train.freeze)
        self._build_steps()
        self._start_position()
        self.dataset: Dataset | None = None
        self.lock: RunLock | None = None  # while this session trains into a folder
        # Set by resume.restore for a trained run: its run.json and class names.
        self.run_info: dict[str, Any] = {}
        self.class_names: list[str] | None = None

    def _check_it_fits(self, analysis, train_examples: int) -> None:
        """The batch (and a partial last one) splits across the devices, the metrics suit the output,
        the model fits in memory."""
        train = self.train
        problems = check_batch_size(train.batch_size, self.placement.device_count)
        partial = None if train.drop_last else partial_batch_problem(
            train_examples, train.batch_size, self.placement.device_count)
        if partial is not None:
            problems.append(error("partial-batch-devices", f"drop_last: false: {partial}",
                                  hint="keep drop_last: true (the default), or choose a batch size "
                                       "whose remainder divides over the devices"))
        problems += metric_problems(train.metrics, self.output_shape, self.loss_name)
        problems += model_problems(analysis, batch_size=train.batch_size)
        if problems:
            raise NetspecError(problems)

    def _build_steps(self) -> None:
        """The model, its optimizer (and LR schedule) and the jitted steps, with their state placed."""
        from flax import nnx

        from netspec.builder import build

        train = self.train
        model = build(self.logits_graph, seed=train.seed, lowering=train.lowering)
        if train.precision == "bfloat16":  # before the optimizer, whose state follows the parameters
            cast_params(model, jnp.bfloat16)
        self.schedule = make_schedule(train, self.steps_per_epoch)  # the optimizer's, shown in the history
        optimizer = nnx.Optimizer(model, make_optimizer(train, self.steps_per_epoch, self.schedule),
                                  wrt=trainable_filter(self.logits_graph, self.frozen))
        metrics = make_metrics(train.metrics, self.loss_name)
        self.config = self._step_config(metrics)
        self.steps = Steps(model, optimizer, self.config)
        self.model_state = self.placement.replicate(self.steps.model_state)
        self.opt_state = self.placement.replicate(self.steps.opt_state)
        self.metric_names = list(metrics)
        self.totals = self.placement.replicate(zero_totals(self.metric_names))

    def _step_config(self, metrics) -> StepConfig:
        """What a step does besides the gradient: loss, metrics, input standardisation,
        augmentation, penalties, the output head and frozen batchnorms."""
        train, standardizer = self.train, self.standardizer
        return StepConfig(
            loss=make_loss(self.loss_name, self.head),
            metrics=metrics,
            normalize=standardizer.apply if standardizer.mode != "none" else None,
            augment=_make_augment(train),
            augment_key=jax.random.fold_in(jax.random.key(train.seed), 1),
            penalty=(lambda params: kernel_penalty(params, train.l1, train.l2)) if (train.l1 or train.l2) else None,
            head=apply_head(self.head) if self.head else None,
            prepare_train=(lambda model: freeze_batchnorm(model, self.logits_graph, self.frozen))
            if self.frozen else None,
            compute_dtype=None if train.precision == "float32" else jnp.bfloat16,
        )

    def _start_position(self) -> None:
        """Epoch 0, step 0: no history, no best epoch, no checkpoint yet."""
        self.epoch = 0
        self.step_in_epoch = 0
        self.global_step = 0
        self.epoch_seconds = 0.0
        # The first step of a process compiles; throughput leaves it out.
        self.compiled = False
        self.untimed_steps, self.untimed_seconds = 0, 0.0
        self.history: list[dict[str, Any]] = []
        self.best: dict[str, Any] = {"monitor": None, "value": None, "epoch": None}
        self.wait = 0
        self.has_checkpoint = False

    # --- stepping -----------------------------------------------------------

    def train_step(self, xb, yb) -> None:
        started = time.monotonic()
        self.model_state, self.opt_state, self.totals = self.steps.train(
            self.model_state, self.opt_state, self.totals, xb, yb)
        self.step_in_epoch += 1
        self.global_step += 1
        if not self.compiled:
            jax.block_until_ready(self.totals)
            self.compiled = True
            self.untimed_steps += 1
            self.untimed_seconds += time.monotonic() - started

    def train_feed(self, order: np.ndarray, start_step: int = 0):
        """``(batches, put)`` for one epoch in ``order`` from ``start_step``: for the Prefetcher.

        Indices gathered on the devices from the resident training split when it fits there
        (:mod:`netspec.train.device_data`), else host batches put on the devices."""
        split, train = self.dataset.train, self.train
        if self.keep_on_device and self.resident is None and ResidentSplit.fits(self.placement, split.x, split.y):
            self.resident = ResidentSplit(self.placement, split.x, split.y)
        if self.keep_on_device and self.resident is not None:
            return (self.resident.indices(order, train.batch_size, start_step, train.drop_last),
                    self.resident.gather)
        return (self.placement.train_batches(split.x, split.y, order, train.batch_size, start_step=start_step,
                                             drop_last=train.drop_last),
                self.placement.shard_batch)

    def throughput(self, seconds: float, steps: int | None = None) -> float | None:
        """Training images per second over ``steps`` (default: so far this epoch) taking
        ``seconds``, leaving out the step that compiled."""
        timed_steps = (self.step_in_epoch if steps is None else steps) - self.untimed_steps
        timed_seconds = seconds - self.untimed_seconds
        if timed_steps <= 0 or timed_seconds <= 0:
            return None
        return round(timed_steps * self.train.batch_size / timed_seconds, 1)

    def running_means(self) -> dict[str, float]:
        """Mean loss and metrics over the steps of this epoch so far (waits for the device)."""
        return self._means(self.totals)

    def _means(self, totals) -> dict[str, float]:
        """Sums on the device -> means per example, ``loss`` first, then the metrics in spec order."""
        sums = {k: float(v) for k, v in jax.device_get(totals).items()}
        count = max(sums["count"], 1.0)
        return {k: sums[k] / count for k in ("loss", *self.metric_names)}

    def evaluate(self, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
        """Mean loss and metrics over ``(x, y)``, every example counted once."""
        totals = self.placement.replicate(zero_totals(self.metric_names))
        size = eval_batch_size(self.eval_batch_limit, self.train.batch_size, len(x))
        for xb, yb, mask in self.placement.eval_batches(x, y, size):
            totals = self.steps.evaluate(self.model_state, totals, *self.placement.shard_batch((xb, yb, mask)))
        return self._means(totals)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The spec's outputs for raw inputs ``x`` ``(N, *input_shape)`` -> ``(N, *output_shape)``."""
        size = eval_batch_size(self.eval_batch_limit, self.train.batch_size, len(x))
        outputs = []
        for xb, _, mask in eval_batches(np.asarray(x, np.float32), np.zeros(len(x), np.int32), size):
            batch = self.placement.shard_batch(self.placement.local_part(xb))
            outputs.append(self.placement.to_host(self.steps.predict(self.model_state, batch))[mask > 0])
        return np.concatenate(outputs) if outputs else np.zeros((0, *self.output_shape), np.float32)

    def class_probabilities(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities ``(N, ..., C)`` (``(N, ..., 1)``: of class 1) for a classifier,
        whether or not the spec ends in softmax/sigmoid."""
        outputs = self.predict(x)
        if self.head is not None or self.loss_name == "mse":
            return outputs
        if self.loss_name == "binary_cross_entropy":
            return 1.0 / (1.0 + np.exp(-outputs))
        shifted = np.exp(outputs - outputs.max(axis=-1, keepdims=True))
        return shifted / shifted.sum(axis=-1, keepdims=True)

    # --- epochs ---------------------------------------------------------------

    def finish_epoch(self) -> dict[str, Any]:
        """Close the epoch: its row of metrics (validation included). Resets the totals."""
        means = self.running_means()
        row: dict[str, Any] = {"epoch": self.epoch + 1, "loss": means.get("loss"),
                               "accuracy": means.get("accuracy"), "val_loss": None, "val_accuracy": None}
        dataset = self.dataset
        if dataset is not None and dataset.val is not None and len(dataset.val):
            val = self.evaluate(dataset.val.x, dataset.val.y)
            row["val_loss"], row["val_accuracy"] = val.get("loss"), val.get("accuracy")
            for name in self.metric_names:
                if name != "accuracy":
                    row[name], row[f"val_{name}"] = means.get(name), val.get(name)
        else:
            for name in self.metric_names:
                if name != "accuracy":
                    row[name] = means.get(name)
        row["lr"] = float(self.schedule(max(0, self.global_step - 1)))
        row["time"] = round(self.epoch_seconds, 3)
        row["images_per_s"] = self.throughput(self.epoch_seconds, self.steps_per_epoch)
        self.epoch += 1
        self.step_in_epoch = 0
        self.epoch_seconds = 0.0
        self.untimed_steps, self.untimed_seconds = 0, 0.0
        self.totals = self.placement.replicate(zero_totals(self.metric_names))
        self.history.append(row)
        return row

    def monitor(self) -> tuple[str, str]:
        """(metric, "min"|"max") deciding the best checkpoint and early stopping."""
        stopping = self.train.early_stopping
        has_val = self.dataset is not None and self.dataset.val is not None and len(self.dataset.val) > 0
        if stopping is not None:
            return stopping.monitor, stopping.direction
        return ("val_loss" if has_val else "loss"), "min"

    def check_monitor(self) -> None:
        """Before training: the monitored metric must be one the history will hold."""
        name, _ = self.monitor()
        has_val = self.dataset is not None and self.dataset.val is not None and len(self.dataset.val) > 0
        keys = ["loss"] + self.metric_names
        available = keys + ([f"val_{k}" for k in keys] if has_val else [])
        if name not in available:
            hint = did_you_mean(name, available)
            if name.startswith("val_") and not has_val:
                hint = "there is no validation split: set val_split above 0 or monitor 'loss'"
            raise NetspecError([error(
                "bad-monitor", f"early_stopping.monitor must be one of {', '.join(available)}, but got '{name}'",
                hint=hint)])

    def end_of_epoch_bookkeeping(self, row: dict[str, Any]) -> bool:
        """Track the best epoch, save checkpoints and history; True when early stopping says stop."""
        name, direction = self.monitor()
        value = row.get(name)
        stopping = self.train.early_stopping
        min_delta = stopping.min_delta if stopping is not None else 0.0
        improved = value is not None and math.isfinite(value) and (  # NaN never becomes best
            self.best["value"] is None
            or (value < self.best["value"] - min_delta if direction == "min"
                else value > self.best["value"] + min_delta))
        if improved:
            if self.directory is not None and self.display is not None and not self.display.quiet:
                before = "" if self.best["value"] is None else f" from {self.best['value']:.4f}"
                self.display.message(f"{name} improved{before} to {value:.4f} "
                                     f"({'lowest' if direction == 'min' else 'highest'} so far): "
                                     f"saved checkpoints/best (epoch {row['epoch']})")
            self.best = {"monitor": name, "value": value, "epoch": row["epoch"]}
            self.wait = 0
        else:
            self.wait += 1
        if self.directory is not None:
            # Redraw the curves each epoch only when epochs are long enough for a plot to be cheap.
            self.save_last(reason="epoch", plot=row["time"] >= PLOT_EVERY_EPOCH_SECONDS)
            if improved:
                self._save(BEST, reason="best")
        return stopping is not None and self.wait >= stopping.patience

    # --- persistence ------------------------------------------------------------

    def _arrays(self) -> dict[str, np.ndarray]:
        return checkpoint.flatten({"model": self.model_state, "optimizer": self.opt_state})

    def _meta(self, reason: str) -> dict[str, Any]:
        return {
            "reason": reason,
            "epoch": self.epoch,
            "step_in_epoch": self.step_in_epoch,
            "global_step": self.global_step,
            "epoch_seconds": self.epoch_seconds,
            "totals": {k: float(v) for k, v in jax.device_get(self.totals).items()},
            "history": self.history,
            "best": self.best,
            "wait": self.wait,
            "saved": time.strftime("%Y-%m-%d %H:%M:%S"),
        }

    def _save(self, which: str, reason: str) -> None:
        if self.directory is None:
            return
        arrays = self._arrays()
        with guarded_write(self.directory, self.has_checkpoint):
            refuse_non_finite(arrays, self.directory, self.epoch, self.has_checkpoint)
        if self.placement.process_count > 1:
            from netspec.train import multihost_checkpoint

            # A collective: its failure is usually a lost process, which the loop names;
            # guarded_write would call it a disk error.
            multihost_checkpoint.save(self.directory / rundir.CHECKPOINTS / which, arrays,
                                      self._meta(reason), token=f"{which}-{self.global_step}")
            return
        with guarded_write(self.directory, self.has_checkpoint):
            checkpoint.save(self.directory / rundir.CHECKPOINTS / which, arrays, self._meta(reason))

    def save_last(self, reason: str, *, plot: bool = False) -> None:
        self._save(LAST, reason)
        self.has_checkpoint = self.directory is not None
        self.write_history(plot=plot)

    def write_history(self, *, plot: bool = True) -> None:
        """The history files; the plot (slowest) only when asked, e.g. when training ends."""
        if self.directory is not None and self.placement.is_primary:
            with guarded_write(self.directory, self.has_checkpoint):
                rundir.write_history(self.directory, self.history, plot=plot,
                                     marks=self.curve_marks(self.directory))

    def curve_marks(self, directory: Path) -> dict[str, Any]:
        """What curves.png shows besides the curves: a title, the best epoch, the test point."""
        run = directory / rundir.RUN
        info = rundir.read_json(run) if run.is_file() else {}
        data = (info.get("data_record") or {}).get("name") or info.get("data") or ""
        title = (f"{self.graph.name} on {data}: {self.loss_name}, {self.train.optimizer.name} "
                 f"lr {self.train.optimizer.learning_rate:g}, batch {self.train.batch_size}")
        best = self.best if self.best.get("epoch") is not None else None
        return {"title": title, "best": best, "test": info.get("test")}

    def load_state(self, which: str = LAST, *, with_position: bool = True) -> dict[str, Any]:
        """Load ``checkpoints/<which>`` into this session; returns its meta."""
        assert self.directory is not None, "only a session with a run folder has checkpoints"
        arrays, meta = checkpoint.load(self.directory / rundir.CHECKPOINTS / which)
        template = {"model": self.model_state, "optimizer": self.opt_state}
        restored = checkpoint.unflatten_like(template, arrays, where=f"checkpoint {which}")
        self.model_state = self.placement.replicate(restored["model"])
        self.opt_state = self.placement.replicate(restored["optimizer"])
        if with_position:
            self.epoch = int(meta["epoch"])
            self.step_in_epoch = int(meta["step_in_epoch"])
            self.global_step = int(meta["global_step"])
            self.epoch_seconds = float(meta.get("epoch_seconds", 0.0))
            totals = {k: jnp.asarray(v, jnp.float32) for k, v in meta["totals"].items()}
            self.totals = self.placement.replicate(totals)
            self.history = list(meta["history"])
            self.best = dict(meta["best"])
            self.wait = int(meta["wait"])
            self.has_checkpoint = True
        return meta

    def restore_best(self) -> None:
        """Put the best checkpoint's weights in place (early_stopping.restore_best)."""
        if self.directory is not None and (self.directory / rundir.CHECKPOINTS / BEST).exists():
            self.load_state(BEST, with_position=False)

    def evaluate_checkpoint(self, which: str, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
        """:meth:`evaluate` with the weights of ``checkpoints/<which>``; the session's own
        weights and optimizer state are put back afterwards."""
        kept = self.model_state, self.opt_state
        try:
            self.load_state(which, with_position=False)
            return self.evaluate(x, y)
        finally:
            self.model_state, self.opt_state = kept

    def record_test(self, test: dict[str, float], *, checkpoint: dict[str, Any] | None = None,
                    last: dict[str, float] | None = None) -> None:
        """``run.json``: ``test`` (figures of the checkpoint eval reads), ``test_checkpoint``
        (which one) and ``test_last`` (the final weights', when they differ)."""
        if self.directory is None or not self.placement.is_primary:
            return
        path = self.directory / rundir.RUN
        run = rundir.read_json(path)
        run["test"] = test
        if checkpoint is not None:
            run["test_checkpoint"] = checkpoint
        if last is not None:
            run["test_last"] = last
        rundir.write_json(path, run)


def _make_augment(train: TrainSpec):
    if train.augment is None:
        return None
    from netspec.train.augment import make_augment

    return make_augment(train.augment)
