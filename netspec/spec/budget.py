"""The ``budget:`` section of a spec: limits a network must stay within (CI gates).

::

    budget:
      max_params: 25M                 # counts: integers or SI suffixes (K M G T)
      max_trainable_params: 24M
      max_macs: 4.2G                  # multiply-accumulates per example (see docs/analysis.md)
      max_flops: 8.4G                 # 2 FLOPs per MAC
      max_activation_memory: 64MiB    # bytes per example: KiB MiB GiB (binary) or KB MB GB
      max_train_memory: {batch_size: 128, limit: 8GiB, optimizer: adam}

``netspec check`` fails at the line of a limit the network exceeds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, ValidationError, WithJsonSchema

from netspec.diagnostics import Span, did_you_mean
from netspec.spec.units import UnitError, parse_bytes, parse_count
from netspec.spec.values import fail

_COUNT_SCHEMA = {"anyOf": [{"type": "integer", "minimum": 0},
                           {"type": "string", "pattern": r"^\s*[0-9][0-9_]*(\.[0-9]+)?\s*[kKMGT]?\s*$"}]}
_BYTES_SCHEMA = {"anyOf": [{"type": "integer", "minimum": 0},
                           {"type": "string", "pattern": r"^\s*[0-9][0-9_]*(\.[0-9]+)?\s*([KMGTkmgt][iI]?)?[bB]\s*$"}]}


def _checked(parse, code: str):
    def check(value: Any) -> int:
        try:
            return parse(value)
        except UnitError as problem:
            raise fail(code, str(problem)) from None

    return check


Count = Annotated[int, PlainValidator(_checked(parse_count, "count")), WithJsonSchema(_COUNT_SCHEMA)]
ByteSize = Annotated[int, PlainValidator(_checked(parse_bytes, "byte-size")), WithJsonSchema(_BYTES_SCHEMA)]


def _batch_size(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise fail("integer", f"must be a positive integer, but got {value!r}")
    return value


class TrainMemoryLimit(BaseModel):
    """The estimated peak memory of a train step with ``batch_size`` examples."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    batch_size: Annotated[int, PlainValidator(_batch_size), WithJsonSchema({"type": "integer", "minimum": 1})]
    limit: ByteSize
    optimizer: Literal["sgd", "adam", "adamw", "rmsprop", "adagrad"] | None = Field(
        None, description="default: the train: section's optimizer, else adam")


class Budget(BaseModel):
    """Limits the network must stay within; ``netspec check`` fails when it does not."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    max_params: Count | None = Field(None, description="total parameters (trainable and not)")
    max_trainable_params: Count | None = Field(None, description="trainable parameters")
    max_macs: Count | None = Field(None, description="multiply-accumulates per example")
    max_flops: Count | None = Field(None, description="floating-point operations per example (2 per MAC)")
    max_activation_memory: ByteSize | None = Field(None, description="bytes of all layer outputs, per example "
                                                                     "(float32)")
    max_train_memory: TrainMemoryLimit | None = Field(None, description="{batch_size, limit, optimizer}: the "
                                                                        "estimated peak of a train step")


BUDGET_KEYS = tuple(Budget.model_fields)


# --- limits: the validated section, or --budget flags, as records the checks read ------------------------


@dataclass(frozen=True)
class Limit:
    """One limit: its key, its value (a count or bytes), where it was written
    (a span in the spec, or None for ``--budget``); train memory adds its batch
    size and optimizer."""

    key: str
    value: int
    span: Span | None = None
    batch_size: int | None = None
    optimizer: str | None = None

    @property
    def origin(self) -> str:
        return "budget" if self.span is not None else "--budget"


class BudgetError(ValueError):
    """A ``--budget`` flag that cannot be read; the message says why."""


def _limits(budget: Budget, span_of) -> list[Limit]:
    out = []
    for key in BUDGET_KEYS:
        value = getattr(budget, key)
        if value is None:
            continue
        if key == "max_train_memory":
            out.append(Limit(key, value.limit, span_of(key), value.batch_size, value.optimizer))
        else:
            out.append(Limit(key, value, span_of(key)))
    return out


def spec_limits(budget: Budget | None, doc) -> tuple[Limit, ...]:
    """The limits of a validated ``budget:`` section, each at its key's line."""
    if budget is None:
        return ()
    return tuple(_limits(budget, lambda key: doc.key_span(("budget", key))))


def parse_override(text: str) -> Limit:
    """One ``--budget KEY=VALUE``; raises :class:`BudgetError` with a message.

    >>> parse_override("max_params=5M").value
    5000000
    >>> parse_override("max_train_memory={batch_size: 32, limit: 2GiB}").batch_size
    32
    """
    import yaml

    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not raw.strip():
        raise BudgetError(f"takes KEY=VALUE (e.g. max_params=5M), but got {text!r}")
    if key not in BUDGET_KEYS:
        hint = did_you_mean(key, BUDGET_KEYS)
        raise BudgetError(f"unknown key {key!r}; keys: {', '.join(BUDGET_KEYS)}"
                          + (f" ({hint})" if hint else ""))
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError:
        raise BudgetError(f"{key}: cannot read {raw!r}; write it as in the spec, e.g. "
                          "5M, 64MiB or {batch_size: 128, limit: 8GiB}") from None
    try:
        budget = Budget.model_validate({key: value})
    except ValidationError as problem:
        first = problem.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        raise BudgetError(f"{where}: {first['msg']}") from None
    return _limits(budget, lambda _key: None)[0]


def merge_limits(spec: tuple[Limit, ...], overrides: tuple[Limit, ...]) -> tuple[Limit, ...]:
    """The spec's limits with each ``--budget`` flag replacing the limit of its key (or adding one)."""
    replaced = {limit.key: limit for limit in overrides}
    kept = [replaced.pop(limit.key, limit) for limit in spec]
    return tuple(kept) + tuple(replaced.values())
