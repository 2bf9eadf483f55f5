"""The ``train:`` section schema: defaults, shorthands, aliases, overrides, errors."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from netspec.spec.train import TrainSpec, canonical_metric, with_overrides


def test_defaults_are_keras_like():
    spec = TrainSpec()
    assert spec.loss is None  # chosen from the output layer at train time
    assert spec.optimizer.name == "sgd" and spec.optimizer.learning_rate == 0.01
    assert spec.batch_size == 32 and spec.epochs == 10 and spec.seed == 0
    assert spec.metrics == ["accuracy"] and spec.standardize == "none"
    assert spec.schedule.name == "constant" and spec.augment is None and spec.early_stopping is None


@pytest.mark.parametrize(("raw", "expected"), [
    ("accuracy", "accuracy"), ("acc", "accuracy"), ("top_k:5", "top_5_accuracy"),
    ("top_5", "top_5_accuracy"), ({"top_k": 3}, "top_3_accuracy"), ("top_5_accuracy", "top_5_accuracy"),
])
def test_metric_forms(raw, expected):
    assert canonical_metric(raw) == expected


def test_metrics_list_is_canonical_and_deduplicated():
    spec = TrainSpec.model_validate({"metrics": ["accuracy", {"top_k": 5}, "acc", "top_5"]})
    assert spec.metrics == ["accuracy", "top_5_accuracy"]


def test_unknown_metric_is_rejected_with_the_choices():
    with pytest.raises(ValidationError, match="top_k"):
        TrainSpec.model_validate({"metrics": ["precision"]})


@pytest.mark.parametrize(("alias", "loss"), [
    ("categorical_crossentropy", "cross_entropy"), ("sparse_categorical_crossentropy", "cross_entropy"),
    ("binary_crossentropy", "binary_cross_entropy"), ("mean_squared_error", "mse"), ("MSE", "mse"),
])
def test_keras_loss_names(alias, loss):
    assert TrainSpec.model_validate({"loss": alias}).loss == loss


def test_name_shorthands_for_optimizer_and_schedule():
    spec = TrainSpec.model_validate({"optimizer": "adam", "schedule": "cosine"})
    assert spec.optimizer.name == "adam" and spec.optimizer.learning_rate == 0.001
    assert spec.schedule.name == "cosine"


def test_adamw_has_a_default_weight_decay_and_others_do_not():
    assert TrainSpec.model_validate({"optimizer": "adamw"}).optimizer.decoupled_weight_decay == 0.004
    assert TrainSpec.model_validate({"optimizer": "sgd"}).optimizer.decoupled_weight_decay == 0.0


def test_numbers_written_as_strings_are_coerced():
    # PyYAML loads 1e-3 as the string "1e-3"
    assert TrainSpec.model_validate({"optimizer": {"name": "adam", "lr": "1e-3"}}).optimizer.lr == 0.001


@pytest.mark.parametrize("bad", [
    {"epoch": 3},                                   # typo: extra keys are errors
    {"optimizer": {"name": "adam", "learning_rate": 0.1}},
    {"optimizer": "adamm"},
    {"batch_size": 0},
    {"val_split": 1.0},
    {"schedule": {"name": "step"}},                 # step needs a period
    {"early_stopping": {"monitor": "val_loss", "patience": 0}},
    {"standardize": "per_image"},
    {"augment": {"rotate": 10}},
])
def test_bad_values_are_rejected(bad):
    with pytest.raises(ValidationError):
        TrainSpec.model_validate(bad)


def test_early_stopping_shorthands_and_direction():
    assert TrainSpec.model_validate({"early_stopping": True}).early_stopping.patience == 5
    assert TrainSpec.model_validate({"early_stopping": 3}).early_stopping.patience == 3
    assert TrainSpec.model_validate({"early_stopping": False}).early_stopping is None
    stopping = TrainSpec.model_validate({"early_stopping": {"monitor": "val_accuracy"}}).early_stopping
    assert stopping.direction == "max"
    assert TrainSpec.model_validate({"early_stopping": {}}).early_stopping.direction == "min"


def test_augment_section_uses_the_data_layers_spec():
    spec = TrainSpec.model_validate({"augment": {"flip_horizontal": True, "shift": 0.1, "rotation": 10}})
    assert spec.augment.shift == (0.1, 0.1) and spec.augment.flip_horizontal


def test_overrides_replace_only_what_is_given():
    base = TrainSpec.model_validate({"optimizer": {"name": "sgd", "lr": 0.1, "momentum": 0.9}, "epochs": 5})
    new = with_overrides(base, {"epochs": 2, "optimizer.lr": 0.5, "seed": None})
    assert new.epochs == 2 and new.optimizer.lr == 0.5
    assert new.optimizer.momentum == 0.9 and new.optimizer.name == "sgd"  # kept
    assert base.epochs == 5  # the original is untouched


def test_overrides_create_missing_sections_and_are_validated():
    assert with_overrides(None, {"schedule.name": "cosine"}).schedule.name == "cosine"
    with pytest.raises(ValidationError):
        with_overrides(None, {"batch_size": -1})


def test_round_trip_through_json_keeps_every_setting():
    spec = TrainSpec.model_validate({
        "loss": "mse", "metrics": ["accuracy", "top_k:3"], "optimizer": {"name": "rmsprop", "momentum": 0.5},
        "schedule": {"name": "step", "decay_epochs": 2, "warmup_epochs": 1}, "max_norm": 3,
        "augment": {"zoom": 0.2}, "early_stopping": {"patience": 2}, "standardize": "per_channel"})
    assert TrainSpec.model_validate(spec.model_dump(mode="json")) == spec
