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

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, WithJsonSchema

from netspec.spec_values import fail
from netspec.units import UnitError, parse_bytes, parse_count

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
