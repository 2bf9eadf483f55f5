"""Named scales of one network (``scales:``) and their rounding rules.

::

    scales:
      n:  {depth: 0.33, width: 0.25, max_channels: 1024}     # YOLO-style
      s:  {depth: 0.33, width: 0.50, max_channels: 1024}
      b1: {width: 1.0, depth: 1.1, resolution: 240}         # compound scaling, Keras' EfficientNetB1
      b3: {phi: 3}                                          # EfficientNet's rule: depth 1.2³, width 1.1³, ...

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
  ``resolution_multiplier`` multiplies it instead (rounded half up to an integer).
* ``phi`` (with ``alpha``, ``beta``, ``gamma``; defaults 1.2, 1.1, 1.15, the
  paper's grid search) is EfficientNet's compound form: depth = alpha^phi,
  width = beta^phi, resolution multiplier = gamma^phi. It excludes ``width``,
  ``depth``, ``resolution`` and ``resolution_multiplier``.

A spec whose ``${...}`` expressions call ``filters(n)`` or ``repeats(n)``
places width or depth itself (:mod:`netspec.resolve.scaling`): those
functions apply the rules above to ``n``, and the automatic rule for that
multiplier is off, so that derived sizes (an expansion ``6 · filters_in``)
are computed from scaled values instead of being rounded again.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, WithJsonSchema, model_validator

from netspec.spec.values import fail

DEFAULT_DIVISOR = 8
# EfficientNet's compound coefficients (Tan & Le 2019, section 3.3): depth, width, resolution.
ALPHA, BETA, GAMMA = 1.2, 1.1, 1.15


def _positive_number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 100:
        raise fail("number", f"must be a positive number (at most 100), but got {value!r}")
    return float(value)


def _exponent(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 20:
        raise fail("number", f"must be a number from 0 to 20, but got {value!r}")
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
Exponent = Annotated[float, PlainValidator(_exponent), WithJsonSchema({"type": "number", "minimum": 0, "maximum": 20})]
PositiveInt = Annotated[int, PlainValidator(_positive_int), WithJsonSchema({"type": "integer", "minimum": 1})]
Resolution = Annotated[tuple, PlainValidator(_resolution), WithJsonSchema({"anyOf": [
    {"type": "integer", "minimum": 1}, {"type": "array", "items": {"type": "integer", "minimum": 1},
                                        "minItems": 1, "maxItems": 3}]})]


class Scale(BaseModel):
    """One scale of the network: width, depth and resolution multipliers (all optional), or
    EfficientNet's compound ``phi``. Read the multipliers in effect from :attr:`width_factor`,
    :attr:`depth_factor` and :attr:`resolution_factor`."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    width: Multiplier | None = Field(None, description="multiplies every conv's filters K (rounded, see docs)")
    depth: Multiplier | None = Field(None, description="multiplies every repeat's times (rounded up by default)")
    resolution: Resolution | None = Field(None, description="input spatial size: an integer or one per axis")
    resolution_multiplier: Multiplier | None = Field(None, description="multiplies the input's spatial size "
                                                                       "(rounded half up)")
    phi: Exponent | None = Field(None, description="EfficientNet's compound coefficient: depth alpha^phi, "
                                                   "width beta^phi, resolution gamma^phi")
    alpha: Multiplier | None = Field(None, description=f"depth base of phi (default {ALPHA})")
    beta: Multiplier | None = Field(None, description=f"width base of phi (default {BETA})")
    gamma: Multiplier | None = Field(None, description=f"resolution base of phi (default {GAMMA})")
    max_channels: PositiveInt | None = Field(None, description="cap on K before the width multiplier (YOLO)")
    divisor: PositiveInt = Field(DEFAULT_DIVISOR, description="scaled K is a multiple of this")
    depth_rounding: Literal["ceil", "round"] = Field("ceil", description="ceil (EfficientNet) or round (YOLO, "
                                                                         "at least 1)")

    @model_validator(mode="after")
    def _one_form(self) -> Scale:
        if self.phi is not None:
            given = [key for key in ("width", "depth", "resolution", "resolution_multiplier")
                     if getattr(self, key) is not None]
            if given:
                raise fail("scale-form", f"phi sets width, depth and resolution itself, but {', '.join(given)} "
                                         "is given too", hint="give phi (with alpha, beta, gamma) or the "
                                                              "multipliers, not both")
        else:
            given = [key for key in ("alpha", "beta", "gamma") if getattr(self, key) is not None]
            if given:
                raise fail("scale-form", f"{', '.join(given)} only apply with phi", hint="add phi: N")
        if self.resolution is not None and self.resolution_multiplier is not None:
            raise fail("scale-form", "give resolution (a size) or resolution_multiplier, not both")
        return self

    @property
    def width_factor(self) -> float:
        if self.phi is not None:
            return (self.beta or BETA) ** self.phi
        return 1.0 if self.width is None else self.width

    @property
    def depth_factor(self) -> float:
        if self.phi is not None:
            return (self.alpha or ALPHA) ** self.phi
        return 1.0 if self.depth is None else self.depth

    @property
    def resolution_factor(self) -> float:
        if self.phi is not None:
            return (self.gamma or GAMMA) ** self.phi
        return 1.0 if self.resolution_multiplier is None else self.resolution_multiplier


def round_filters(filters: int, scale: Scale) -> int:
    """K after ``scale``'s width (see the module docstring).

    >>> round_filters(32, Scale(width=1.1)), round_filters(36, Scale(width=1.1))   # 35.2 -> 32, 39.6 -> 40
    (32, 40)
    >>> round_filters(1280, Scale(width=0.25, max_channels=1024))   # min(1280, 1024) x 0.25
    256
    >>> round_filters(24, Scale(width=0.25))   # 6 -> never below the divisor
    8
    """
    if scale.width_factor == 1.0 and scale.max_channels is None:
        return filters
    exact = min(filters, scale.max_channels or filters) * scale.width_factor
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
    >>> round_repeats(3, Scale(phi=2))   # depth 1.2² = 1.44: ceil(4.32)
    5
    """
    depth = scale.depth_factor
    if depth == 1.0:
        return times
    if scale.depth_rounding == "round":
        return max(1, round(times * depth))
    return max(1, math.ceil(times * depth - 1e-9))  # 1e-9: 3 × 1.0000000001 stays 3


def scaled_input(shape: tuple[int, ...], scale: Scale) -> tuple[int, ...]:
    """The input shape with ``scale``'s resolution (channels kept); unchanged when it has none.

    >>> scaled_input((224, 224, 3), Scale(resolution=240)), scaled_input((224, 224, 3), Scale(phi=1))
    ((240, 240, 3), (258, 258, 3))
    """
    if len(shape) < 2:
        return shape
    spatial = len(shape) - 1
    if scale.resolution is None:
        factor = scale.resolution_factor
        if factor == 1.0:
            return shape
        return tuple(max(1, math.floor(size * factor + 0.5)) for size in shape[:-1]) + (shape[-1],)
    sizes = scale.resolution * spatial if len(scale.resolution) == 1 else scale.resolution
    if len(sizes) != spatial:
        raise ValueError(f"resolution gives {len(sizes)} sizes but the input has {spatial} spatial axes")
    return tuple(sizes) + (shape[-1],)
