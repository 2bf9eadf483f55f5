"""The ``train:`` section of a spec: how a network is trained.

Every key has a default, so ``train:`` may be omitted or partial; every key
can be overridden from the command line (``netspec train --lr 0.1``). Loose
forms that people type are accepted and made canonical here, once:
``optimizer: adam`` means ``optimizer: {name: adam}``, ``schedule: cosine``
means ``schedule: {name: cosine}``, ``metrics: [accuracy, top_k: 5]`` is
stored as ``["accuracy", "top_5_accuracy"]``, and Keras' loss names
(``categorical_crossentropy``, ``mean_squared_error``) map to netspec's.

This module is on the static path: it must not import JAX.

>>> spec = TrainSpec.model_validate({"optimizer": "adam", "metrics": ["accuracy", {"top_k": 5}]})
>>> spec.optimizer.name, spec.optimizer.learning_rate, spec.metrics
('adam', 0.001, ['accuracy', 'top_5_accuracy'])
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

LossName = Literal["cross_entropy", "binary_cross_entropy", "mse"]

LOSS_ALIASES = {
    "cross_entropy": "cross_entropy",
    "crossentropy": "cross_entropy",
    "categorical_crossentropy": "cross_entropy",
    "categorical_cross_entropy": "cross_entropy",
    "sparse_categorical_crossentropy": "cross_entropy",
    "softmax_cross_entropy": "cross_entropy",
    "binary_cross_entropy": "binary_cross_entropy",
    "binary_crossentropy": "binary_cross_entropy",
    "bce": "binary_cross_entropy",
    "mse": "mse",
    "mean_squared_error": "mse",
}

# Keras' defaults, because the lectures' models were trained with them.
DEFAULT_LEARNING_RATE = {"sgd": 0.01, "adam": 0.001, "adamw": 0.001, "rmsprop": 0.001, "adagrad": 0.001}
DEFAULT_EPSILON = 1e-7
DEFAULT_ADAMW_WEIGHT_DECAY = 0.004


# Bounds that keep every setting inside what the training code can represent:
# step counts fit int32 (optax schedules), seeds fit uint32 (numpy and JAX keys),
# and periods in epochs stay far below where epochs * steps overflows.
MAX_STEPS = 2**31 - 1
MAX_SEED = 2**32 - 1
MAX_EPOCHS = 1_000_000


class _Strict(BaseModel):
    # inf and nan are not settings: `lr: .inf` or `--set schedule.warmup_epochs=1e999` are refused here
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


class _Forbid(BaseModel):  # no validate_assignment: these are read-only
    model_config = ConfigDict(extra="forbid")


class FreezeSpec(_Forbid):
    """Which layers keep their weights during training. A name, a pattern or a
    list of them is shorthand for ``{layers: [...]}``."""

    layers: list[str] = Field(default_factory=list, description="layer names or glob patterns (block1/*)")
    up_to: str | None = Field(None, description="this layer (or block: up to its last layer) and every layer "
                                                "before it in the spec")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"layers": [value]}
        if isinstance(value, list):
            return {"layers": value}
        return value


class InitFromSpec(_Forbid):
    """Copy weights from a trained run into layers of the same name, or from a
    pretrained weights file (Keras, PyTorch, safetensors; see docs/weights.md)."""

    checkpoint: str | None = Field(None, description="run folder (its best checkpoint) or one of its "
                                                     "checkpoints/<name>")
    spec: str | None = Field(None, description="spec of that run (default: the run's spec.yaml)")
    layers: list[str] | None = Field(
        None, description="layer names or glob patterns to copy (default: every layer with weights in both)")
    weights: str | None = Field(None, description="a pretrained weights file (.h5, .weights.h5, .keras, .pth, "
                                                  ".safetensors), matched by layer name or order")
    map: dict[str, str] = Field(default_factory=dict, description="weights: file layer name -> spec layer name")
    partial: bool = Field(False, description="weights: accept a partial load (skipped layers are listed)")

    @model_validator(mode="after")
    def _one_source(self) -> InitFromSpec:
        if (self.checkpoint is None) == (self.weights is None):
            raise ValueError("init_from needs exactly one of checkpoint: (a netspec run) or weights: (a file)")
        if self.weights is not None and (self.spec is not None or self.layers is not None):
            raise ValueError("spec: and layers: apply to checkpoint:, not to weights: (use map: and partial:)")
        return self


def init_from_list(value: Any) -> Any:
    """``init_from:`` as a list: one mapping is shorthand for a list of one."""
    if value is None:
        return []
    return [value] if isinstance(value, dict) else value


Fill = Literal["nearest", "constant", "reflect", "wrap"]


class AugmentSpec(BaseModel):
    """Random transforms per training example; all off by default.

    >>> AugmentSpec(shift=0.1).shift
    (0.1, 0.1)
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    flip_horizontal: bool = False
    flip_vertical: bool = False
    shift: tuple[float, float] = Field(
        (0.0, 0.0), description="fraction of height and width (one number: both), drawn from ±shift"
    )
    rotation: float = Field(0.0, ge=0.0, le=180.0, description="degrees, drawn from ±rotation")
    zoom: float = Field(0.0, ge=0.0, lt=1.0, description="scale drawn from [1 - zoom, 1 + zoom] per axis")
    shear: float = Field(0.0, ge=0.0, lt=90.0, description="degrees, drawn from ±shear")
    fill: Fill = "nearest"
    fill_value: float = Field(0.0, description="value outside the image when fill is constant")

    @field_validator("shift", mode="before")
    @classmethod
    def _both_axes(cls, value: object) -> object:
        return (value, value) if isinstance(value, (int, float, str)) else value

    @field_validator("shift")
    @classmethod
    def _fraction(cls, value: tuple[float, float]) -> tuple[float, float]:
        if not all(0.0 <= part < 1.0 for part in value):
            raise ValueError(
                f"shift must be at least 0 and below 1 (a fraction of the image), but got {value}"
            )
        return value

    @property
    def geometric(self) -> bool:
        """Whether any affine transform is asked for (flips aside)."""
        return any((*self.shift, self.rotation, self.zoom, self.shear))

    @property
    def active(self) -> bool:
        return self.flip_horizontal or self.flip_vertical or self.geometric


class OptimizerSpec(_Strict):
    """The Optax optimizer. ``lr`` defaults to Keras' default for ``name``."""

    name: Literal["sgd", "adam", "adamw", "rmsprop", "adagrad"] = Field(
        "sgd", description="sgd | adam | adamw | rmsprop | adagrad")
    lr: float | None = Field(None, gt=0, description="learning rate (the peak, when a schedule is set)")
    momentum: float = Field(0.0, ge=0, lt=1, description="sgd and rmsprop: momentum")
    nesterov: bool = Field(False, description="sgd: Nesterov momentum")
    b1: float = Field(0.9, ge=0, lt=1, description="adam/adamw: decay of the first moment")
    b2: float = Field(0.999, ge=0, lt=1, description="adam/adamw: decay of the second moment")
    rho: float = Field(0.9, ge=0, lt=1, description="rmsprop: decay of the squared-gradient average")
    eps: float = Field(DEFAULT_EPSILON, gt=0, description="numerical stability term (Keras' epsilon)")
    initial_accumulator: float = Field(0.1, ge=0, description="adagrad: initial accumulator value")
    weight_decay: float | None = Field(
        None, ge=0,
        description="decoupled weight decay on kernels (adamw default 0.004, others 0)")

    @property
    def learning_rate(self) -> float:
        return self.lr if self.lr is not None else DEFAULT_LEARNING_RATE[self.name]

    @property
    def decoupled_weight_decay(self) -> float:
        if self.weight_decay is not None:
            return self.weight_decay
        return DEFAULT_ADAMW_WEIGHT_DECAY if self.name == "adamw" else 0.0


class ScheduleSpec(_Strict):
    """The learning-rate schedule, applied per step, after an optional linear warm-up.

    * ``constant``: the optimizer's lr throughout.
    * ``step``: multiply by ``decay_rate`` every ``decay_epochs`` (or ``decay_steps``).
    * ``exponential``: ``lr * decay_rate ** (step / decay_steps)`` (``staircase`` rounds down).
    * ``cosine``: from lr down to ``lr * final_fraction`` over the whole run.
    * ``inverse_time``: ``lr / (1 + decay_rate * step / decay_steps)`` — Keras'
      legacy ``SGD(decay=...)``, as in the lectures' CIFAR-10 net (``decay_steps: 1``).
    """

    name: Literal["constant", "step", "exponential", "cosine", "inverse_time"] = "constant"
    warmup_epochs: float = Field(0, ge=0, le=MAX_EPOCHS, description="linear warm-up from 0, in epochs")
    warmup_steps: int | None = Field(None, ge=0, le=MAX_STEPS,
                                     description="linear warm-up in steps (wins over warmup_epochs)")
    decay_rate: float | None = Field(
        None, gt=0, description="step: 0.1, exponential: 0.96, inverse_time: 1.0 by default")
    decay_epochs: float | None = Field(None, gt=0, le=MAX_EPOCHS, description="decay period in epochs")
    decay_steps: int | None = Field(None, gt=0, le=MAX_STEPS,
                                    description="decay period in steps (wins over decay_epochs)")
    staircase: bool = Field(False, description="exponential: decay in discrete intervals")
    final_fraction: float = Field(0.0, ge=0, le=1, description="cosine: final lr as a fraction of the peak")

    @model_validator(mode="after")
    def _needs_a_period(self) -> ScheduleSpec:
        if self.name == "step" and self.decay_epochs is None and self.decay_steps is None:
            raise ValueError("schedule 'step' needs decay_epochs or decay_steps (how often to decay)")
        return self

    @property
    def rate(self) -> float:
        if self.decay_rate is not None:
            return self.decay_rate
        return {"step": 0.1, "exponential": 0.96, "inverse_time": 1.0}.get(self.name, 1.0)


class EarlyStoppingSpec(_Strict):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs."""

    monitor: str = Field("val_loss", description="val_loss | val_accuracy | loss | accuracy | any history key")
    patience: int = Field(5, ge=1, le=MAX_EPOCHS, description="epochs without improvement before stopping")
    min_delta: float = Field(0.0, ge=0, description="smallest change that counts as an improvement")
    mode: Literal["auto", "min", "max"] = Field("auto", description="auto: max for accuracies, min otherwise")
    restore_best: bool = Field(False, description="load the best checkpoint's weights when stopping")

    @property
    def direction(self) -> Literal["min", "max"]:
        if self.mode != "auto":
            return self.mode
        return "max" if "accuracy" in self.monitor else "min"


_TOP_K = re.compile(r"^top_?(?:k[:_ ]?)?(\d+)(?:_accuracy)?$")


def canonical_metric(raw: Any) -> str:
    """``accuracy``/``acc`` -> ``accuracy``; ``top_k:5``, ``top_5``, ``{top_k: 5}`` -> ``top_5_accuracy``."""
    if isinstance(raw, dict) and set(raw) == {"top_k"}:
        raw = f"top_k:{raw['top_k']}"
    if not isinstance(raw, str):
        raise ValueError(f"a metric is 'accuracy' or 'top_k: N', but got {raw!r}")
    word = raw.strip().lower()
    if word in ("accuracy", "acc"):
        return "accuracy"
    match = _TOP_K.match(word)
    if match and 1 <= len(match.group(1)) <= 6 and int(match.group(1)) >= 1:
        return f"top_{int(match.group(1))}_accuracy"
    raise ValueError(f"unknown metric {raw!r}; metrics are 'accuracy' and 'top_k: N' (e.g. top_k: 5)")


class TrainSpec(_Strict):
    """How to train the network (DESIGN.md §4). Every key is optional."""

    loss: LossName | None = Field(
        None,
        description="cross_entropy | binary_cross_entropy | mse; default: from the output layer "
                    "(softmax -> cross_entropy, 1 sigmoid unit -> binary_cross_entropy, else from the data)")
    metrics: list[str] = Field(
        default_factory=lambda: ["accuracy"], description="accuracy, top_k: N (classification only)")
    optimizer: OptimizerSpec = Field(default_factory=OptimizerSpec, description="name or {name, lr, ...}")
    schedule: ScheduleSpec = Field(default_factory=ScheduleSpec, description="name or {name, ...}")
    l1: float = Field(0.0, ge=0, description="L1 penalty on kernels, added to the loss")
    l2: float = Field(0.0, ge=0, description="L2 penalty (sum of squares) on kernels, added to the loss")
    max_norm: float | None = Field(
        None, gt=0, description="after each update, rescale each unit's kernel to norm <= max_norm (Keras MaxNorm)")
    clip_norm: float | None = Field(None, gt=0, description="clip gradients to this global norm")
    batch_size: int = Field(32, ge=1, le=MAX_STEPS, description="examples per step (split across devices)")
    drop_last: bool = Field(
        True, description="true: each epoch trains on full batches only, the last len % batch_size examples "
                          "(a different few each epoch) wait for a later epoch; false: they form a smaller last batch")
    epochs: int = Field(10, ge=1, le=MAX_EPOCHS, description="passes over the training split")
    seed: int = Field(0, ge=0, le=MAX_SEED, description="seeds initialisation, data order, dropout and augmentation")
    standardize: Literal["none", "per_pixel", "per_channel", "scale"] = Field(
        "none",
        description="per_pixel / per_channel: subtract the mean, divide by the std; scale: min-max to [0, 1]; "
                    "statistics from the training split, saved in the run")
    augment: AugmentSpec | None = Field(None, description="random flips/shifts/rotation/zoom/shear per example")
    early_stopping: EarlyStoppingSpec | None = Field(None, description="stop when a monitored metric stalls")
    val_split: float = Field(0.1, ge=0, lt=1, description="fraction held out for validation when the data has none")
    data: str | None = Field(None, description="default --data source: mnist, cifar10, folder:PATH, npz:PATH, ...")
    freeze: FreezeSpec | None = Field(
        None, description="layers whose weights stay fixed: names, glob patterns (block1/*) or {up_to: LAYER}")
    lowering: Literal["auto", "lax", "im2col", "im2col-grad", "shifts"] = Field(
        "auto", description="how convs and pools are lowered: auto (a rule table per backend), lax (XLA's "
                            "conv/reduce_window), im2col (convs by slices + matmul), im2col-grad (XLA's conv, "
                            "the kernel gradient by im2col) or shifts (forward by shifted multiply-adds, "
                            "gradients as im2col-grad's); all but lax pool tiling windows by strided slices; "
                            "same maths and weights")
    precision: Literal["float32", "mixed", "bfloat16"] = Field(
        "float32", description="float32; mixed: compute in bfloat16, keep parameters and optimizer state in "
                               "float32; bfloat16: compute, parameters and optimizer state in bfloat16 "
                               "(batchnorm statistics stay float32). float32 is the default: bfloat16 "
                               "measured slower on CPU")
    init_from: list[InitFromSpec] = Field(
        default_factory=list,
        description="copy weights of same-named layers from trained runs before training: "
                    "{checkpoint: DIR, spec: FILE, layers: [...]} or a list of them")

    @field_validator("loss", mode="before")
    @classmethod
    def _loss_alias(cls, value: Any) -> Any:
        if isinstance(value, str):
            return LOSS_ALIASES.get(value.strip().lower(), value)
        return value

    @field_validator("metrics", mode="before")
    @classmethod
    def _canonical_metrics(cls, value: Any) -> Any:
        if isinstance(value, (str, dict)):
            value = [value]
        if not isinstance(value, list):
            return value
        names = [canonical_metric(item) for item in value]
        return list(dict.fromkeys(names))  # keep order, drop repeats

    @field_validator("init_from", mode="before")
    @classmethod
    def _one_source(cls, value: Any) -> Any:
        return init_from_list(value)

    @field_validator("optimizer", "schedule", mode="before")
    @classmethod
    def _name_shorthand(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value

    @field_validator("early_stopping", mode="before")
    @classmethod
    def _early_stopping_shorthand(cls, value: Any) -> Any:
        if value is True:
            return {}
        if value is False:
            return None
        if isinstance(value, int):
            return {"patience": value}
        return value

    @field_validator("standardize", mode="before")
    @classmethod
    def _standardize_shorthand(cls, value: Any) -> Any:
        if value is None or value is False:
            return "none"
        return value


# Short names for keys of a sub-section: the keywords of ``netspec.train.fit`` (``lr=0.1``) and,
# dashed, the flags of ``netspec train`` (``--lr 0.1``). The one alias table of the train: overrides.
SHORT_NAMES = {
    "lr": "optimizer.lr",
    "optimizer": "optimizer.name",
    "momentum": "optimizer.momentum",
    "weight_decay": "optimizer.weight_decay",
    "schedule": "schedule.name",
}


def override_path(key: str, value: Any = None) -> str:
    """The dotted path an override key names: a short name's path, else the key itself.
    A mapping value replaces a whole section (``optimizer={"name": "adam"}``), so it keeps its key.

    >>> override_path("lr"), override_path("optimizer", {"name": "adam"}), override_path("schedule.name")
    ('optimizer.lr', 'optimizer', 'schedule.name')
    """
    return key if isinstance(value, dict) else SHORT_NAMES.get(key, key)


def with_overrides(spec: TrainSpec | None, overrides: dict[str, Any]) -> TrainSpec:
    """A copy of ``spec`` (or the defaults) with ``overrides`` applied and validated.

    Keys are field names, short names (:data:`SHORT_NAMES`: ``lr``), or dotted
    paths into a sub-section (``"optimizer.lr"``); ``None`` values mean "not
    given" and are skipped. A bad value raises pydantic's ``ValidationError``.

    >>> with_overrides(None, {"epochs": 3, "lr": 0.1}).optimizer.learning_rate
    0.1
    """
    data = spec.model_dump(exclude_unset=True) if spec is not None else {}
    for short, value in overrides.items():
        key = override_path(short, value)
        if value is None:
            continue
        target = data
        *parents, leaf = key.split(".")
        for parent in parents:
            section = target.get(parent)
            target[parent] = section = dict(section) if isinstance(section, dict) else {}
            target = section
        target[leaf] = value
    return TrainSpec.model_validate(data)
