"""Named scales of one network (``scales:``) and their rounding rules.

::

    scales:
      n:  {depth: 0.33, width: 0.25, max_channels: 1024}     # YOLO-style
      s:  {depth: 0.33, width: 0.50, max_channels: 1024}
      b1: {width: 1.0, depth: 1.1, resolution: 240}         # EfficientNet-style compound scaling

A scale is chosen explicitly (``--scale s`` on every command; never guessed
from the file name). It changes the resolved network, nothing else:

* ``width`` multiplies the filters ``K`` of every conv and separable_conv
  (causal blocks included), after capping them at ``max_channels``:
  :func:`round_filters` rounds ``min(K, max_channels) · width`` to the nearest
  multiple of ``divisor`` (default 8), never below ``divisor`` and never more
  than 10 % below the exact product (EfficientNet's ``round_filters``). Dense
  units (the classifier) and depthwise multipliers are not scaled.
* ``depth`` multiplies every ``repeat: times``: :func:`round_repeats` takes
  ``ceil(times · depth)`` (EfficientNet), or ``max(1, round(times · depth))``
  with ``depth_rounding: round`` (YOLO).
* ``resolution`` replaces the input's spatial size: one integer for every
  spatial axis, or a list with one per axis; channels are kept.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, WithJsonSchema

from netspec.spec.values import fail

DEFAULT_DIVISOR = 8


def _positive_number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 100:
        raise fail("number", f"must be a positive number (at most 100), but got {value!r}")
    return float(value)


def _positive_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1_000_000:
        raise fail("integer", f"must be a positive integer (at most 1,000,000), but got {value!r}")
    return value


def _resolution(value: Any) -> tuple[int, ...]:
    if isinstance(value, list):
        if not 1 <= len(value) <= 3:
            raise fail("resolution", f"must be one size per spatial axis (1 to 3), but got {len(value)}")
        return tuple(_positive_int(v) for v in value)
    return (_positive_int(value),)


Multiplier = Annotated[float, PlainValidator(_positive_number),
                       WithJsonSchema({"type": "number", "exclusiveMinimum": 0, "maximum": 100})]
PositiveInt = Annotated[int, PlainValidator(_positive_int), WithJsonSchema({"type": "integer", "minimum": 1})]
Resolution = Annotated[tuple, PlainValidator(_resolution), WithJsonSchema({"anyOf": [
    {"type": "integer", "minimum": 1}, {"type": "array", "items": {"type": "integer", "minimum": 1},
                                        "minItems": 1, "maxItems": 3}]})]


class Scale(BaseModel):
    """One scale of the network: width, depth and resolution multipliers (all optional)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    width: Multiplier = Field(1.0, description="multiplies every conv's filters K (rounded, see docs)")
    depth: Multiplier = Field(1.0, description="multiplies every repeat's times (rounded up by default)")
    resolution: Resolution | None = Field(None, description="input spatial size: an integer or one per axis")
    max_channels: PositiveInt | None = Field(None, description="cap on K before the width multiplier (YOLO)")
    divisor: PositiveInt = Field(DEFAULT_DIVISOR, description="scaled K is a multiple of this")
    depth_rounding: Literal["ceil", "round"] = Field("ceil", description="ceil (EfficientNet) or round (YOLO, "
                                                                         "at least 1)")


def round_filters(filters: int, scale: Scale) -> int:
    """K after ``scale``'s width (see the module docstring).

    >>> round_filters(32, Scale(width=1.1)), round_filters(36, Scale(width=1.1))   # 35.2 -> 32, 39.6 -> 40
    (32, 40)
    >>> round_filters(1280, Scale(width=0.25, max_channels=1024))   # min(1280, 1024) x 0.25
    256
    >>> round_filters(24, Scale(width=0.25))   # 6 -> never below the divisor
    8
    """
    if scale.width == 1.0 and scale.max_channels is None:
        return filters
    exact = min(filters, scale.max_channels or filters) * scale.width
    divisor = scale.divisor
    rounded = max(divisor, int(exact + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * exact:  # never drop more than 10 %
        rounded += divisor
    return int(rounded)


def round_repeats(times: int, scale: Scale) -> int:
    """Repeat count after ``scale``'s depth.

    >>> round_repeats(3, Scale(depth=1.1)), round_repeats(3, Scale(depth=0.33)), \\
    ...     round_repeats(3, Scale(depth=0.33, depth_rounding="round"))
    (4, 1, 1)
    """
    if scale.depth == 1.0:
        return times
    if scale.depth_rounding == "round":
        return max(1, round(times * scale.depth))
    return max(1, math.ceil(times * scale.depth - 1e-9))  # 1e-9: 3 × 1.0000000001 stays 3


def scaled_input(shape: tuple[int, ...], scale: Scale) -> tuple[int, ...]:
    """The input shape with ``scale``'s resolution (channels kept); unchanged when it has none."""
    if scale.resolution is None or len(shape) < 2:
        return shape
    spatial = len(shape) - 1
    sizes = scale.resolution * spatial if len(scale.resolution) == 1 else scale.resolution
    if len(sizes) != spatial:
        raise ValueError(f"resolution gives {len(sizes)} sizes but the input has {spatial} spatial axes")
    return tuple(sizes) + (shape[-1],)
