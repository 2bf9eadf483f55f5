"""The arguments of every primitive layer of the spec language (DESIGN.md §2).

One pydantic model per layer kind, strict and closed (``extra="forbid"``).
A field left out is None and ``resolve`` takes the default from the IR's
attrs class, so each default lives in one place. What a model accepts:

* a mapping of arguments, with the lecture's short keys or their long
  aliases (``K``/``filters``; giving both is an error);
* nothing (a bare word ``- flatten`` or ``- batchnorm:``);
* a scalar where one argument is obvious (``dropout: 0.5``, ``dense: 10``).

Any layer may carry ``name:`` and ``from:``.

>>> ConvArgs.model_validate({"filters": 6, "F": 5, "activation": "relu"}).K
6
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from netspec.spec.values import (
    ACTIVATIONS,
    DEFAULT_ALPHA,
    ActivationValue,
    AllowedWarnings,
    ExplicitOrMode,
    ExplicitPadding,
    Flag,
    Fraction,
    InitValue,
    Name,
    NonNegativeNumber,
    Padding,
    PerAxis,
    PositiveNumber,
    References,
    Size,
    TargetShape,
    choice_type,
    describe,
    fail,
    number_type,
    numbers_type,
)

# Long spellings of the lecture's short keys; a key's canonical name is the value.
WINDOW_ALIASES = {"size": "F", "kernel_size": "F", "stride": "S", "strides": "S", "padding": "P",
                  "dilation": "D", "dilation_rate": "D"}
CONV_ALIASES = {"filters": "K", **WINDOW_ALIASES}


def _schema_with_aliases(schema: dict[str, Any], model: type[LayerArgs]) -> None:
    """List each alias as a property too, so editors accept ``filters`` as well as ``K``."""
    properties = schema.get("properties", {})
    for alias, canonical in model.ALIASES.items():
        if canonical in properties:
            properties[alias] = {**properties[canonical], "description": f"alias of {canonical}"}


class LayerArgs(BaseModel):
    """Common to every item: its name and where its input comes from."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, json_schema_extra=_schema_with_aliases,
                              defer_build=True)

    KIND: ClassVar[str] = ""
    EXAMPLE: ClassVar[str] = "{name: ...}"
    ALIASES: ClassVar[dict[str, str]] = {}
    SHORTHAND: ClassVar[str | None] = None  # the argument a bare scalar sets

    name: Name | None = Field(None, description="unique name of this item (default: automatic, e.g. conv2d_1)")
    from_: References | None = Field(None, alias="from", description="name(s) of earlier items whose "
                                                                      "output this item takes (default: "
                                                                      "the item before)")
    allow: AllowedWarnings | None = Field(None, description="warning code(s) this item is expected to give, "
                                                           "e.g. unseen-input (a block: every layer in it)")

    @model_validator(mode="before")
    @classmethod
    def _canonical_form(cls, data: Any) -> Any:
        if data is None:
            return {}
        if not isinstance(data, dict):
            if cls.SHORTHAND is not None:
                return {cls.SHORTHAND: data}
            raise fail("arguments", f"{cls.KIND} takes a mapping of arguments such as {cls.EXAMPLE}, "
                                    f"but got {describe(data)}")
        if not cls.ALIASES:
            return data
        canonical: dict[str, Any] = {}
        spelled: dict[str, str] = {}
        for key, value in data.items():
            target = cls.ALIASES.get(key, key)
            if target in canonical:
                raise fail("duplicate-argument", f"{spelled[target]} and {key} are the same argument of "
                                                 f"{cls.KIND}", hint="give only one of them", at=(key,))
            canonical[target], spelled[target] = value, key
        return canonical


Alpha = number_type(None, None, meaning="a number")
Mode = choice_type("max", "avg")


class ConvArgs(LayerArgs):
    """Convolution, 1-D/2-D/3-D from the input's rank (kernel ``F + (C_in // groups, K)``)."""

    KIND = "conv"
    EXAMPLE = "{K: 64, F: 3}"
    ALIASES = CONV_ALIASES

    K: Size = Field(description="number of filters (output depth); alias filters")
    F: PerAxis = Field(description="kernel size: an integer or one per spatial axis; aliases size, kernel_size")
    S: PerAxis | None = Field(None, description="stride (default 1); aliases stride, strides")
    P: Padding | None = Field(None, description="padding: valid (default), same, causal (1-D), an integer, "
                                                "per-axis, or [low, high] pairs; alias padding")
    D: PerAxis | None = Field(None, description="dilation rate (default 1); alias dilation")
    groups: Size | None = Field(None, description="grouped convolution: input and output channels split "
                                                  "into this many groups (default 1)")
    bias: Flag | None = Field(None, description="add a bias (default true)")
    activation: ActivationValue | None = Field(None, description="activation applied to the output")
    init: InitValue | None = Field(None, description="initialiser: a name (kernel) or {kernel, bias}")


class DepthwiseConvArgs(LayerArgs):
    """Depthwise convolution: one filter bank per input channel (output ``C_in * depth_multiplier``)."""

    KIND = "depthwise_conv"
    EXAMPLE = "{F: 3}"
    ALIASES = WINDOW_ALIASES

    F: PerAxis = Field(description="kernel size; aliases size, kernel_size")
    S: PerAxis | None = Field(None, description="stride (default 1)")
    P: Padding | None = Field(None, description="padding (default valid)")
    D: PerAxis | None = Field(None, description="dilation rate (default 1)")
    depth_multiplier: Size | None = Field(None, description="output channels per input channel (default 1)")
    bias: Flag | None = Field(None, description="add a bias (default true)")
    activation: ActivationValue | None = None
    init: InitValue | None = None


class SeparableConvArgs(LayerArgs):
    """Separable convolution (Keras SeparableConv): depthwise (no bias), then a 1x1 pointwise conv."""

    KIND = "separable_conv"
    EXAMPLE = "{K: 64, F: 3}"
    ALIASES = CONV_ALIASES

    K: Size = Field(description="number of filters of the pointwise (1x1) convolution; alias filters")
    F: PerAxis = Field(description="kernel size of the depthwise convolution")
    S: PerAxis | None = Field(None, description="stride (default 1)")
    P: Padding | None = Field(None, description="padding (default valid)")
    D: PerAxis | None = Field(None, description="dilation rate (default 1)")
    depth_multiplier: Size | None = Field(None, description="depthwise channels per input channel (default 1)")
    bias: Flag | None = Field(None, description="add a bias (default true)")
    activation: ActivationValue | None = None
    init: InitValue | None = None


class ConvTransposeArgs(LayerArgs):
    """Transposed convolution (Keras ConvTranspose): upsamples by ``S`` with a learned kernel."""

    KIND = "conv_transpose"
    EXAMPLE = "{K: 64, F: 3, S: 2, P: same}"
    ALIASES = {key: value for key, value in CONV_ALIASES.items() if value != "D"}

    K: Size = Field(description="number of filters (output depth); alias filters")
    F: PerAxis = Field(description="kernel size: an integer or one per spatial axis")
    S: PerAxis | None = Field(None, description="stride: the upsampling factor (default 1)")
    P: ExplicitOrMode | None = Field(None, description="valid (default: W·S + max(F − S, 0)), same (W·S), or "
                                                       "[low, high] cells cropped from the full (W − 1)·S + F")
    bias: Flag | None = Field(None, description="add a bias (default true)")
    activation: ActivationValue | None = None
    init: InitValue | None = None


class UpsampleArgs(LayerArgs):
    """Upsampling by an integer factor per spatial axis (Keras UpSampling; ``upsample: 2``)."""

    KIND = "upsample"
    EXAMPLE = "{size: 2, interpolation: bilinear}"
    SHORTHAND = "size"

    size: PerAxis = Field(description="factor: an integer or one per spatial axis")
    interpolation: choice_type("nearest", "bilinear") | None = Field(  # type: ignore[valid-type]
        None, description="nearest (default: repeat each cell) or bilinear (linear along every axis)")


class PoolArgs(LayerArgs):
    """Max or average pooling over windows of ``F`` (stride ``S``, default ``F``)."""

    KIND = "pool"
    EXAMPLE = "{F: 2}"
    ALIASES = {**WINDOW_ALIASES, "pool_size": "F"}

    F: PerAxis = Field(description="window size; aliases size, pool_size")
    S: PerAxis | None = Field(None, description="stride (default F)")
    P: Padding | None = Field(None, description="padding (default valid)")
    mode: Mode | None = Field(None, description="max (default) or avg")


class GlobalPoolArgs(LayerArgs):
    """Average (or max) over every spatial position: ``[H, W, C] -> [C]``."""

    KIND = "global_pool"
    EXAMPLE = "{mode: avg}"
    SHORTHAND = "mode"

    mode: choice_type("avg", "max") | None = Field(None, description="avg (default) or max")  # type: ignore[valid-type]
    keepdims: Flag | None = Field(None, description="keep the spatial axes as size 1, [H, W, C] -> [1, 1, C] "
                                                    "(default false)")


class DenseArgs(LayerArgs):
    """Fully connected layer on the last axis (``dense: 10`` sets units)."""

    KIND = "dense"
    EXAMPLE = "{units: 10}"
    SHORTHAND = "units"

    units: Size = Field(description="number of output units")
    bias: Flag | None = Field(None, description="add a bias (default true)")
    activation: ActivationValue | None = None
    init: InitValue | None = None


class FlattenArgs(LayerArgs):
    """Flattens ``[H, W, C]`` to ``[H * W * C]``."""

    KIND = "flatten"


class ReshapeArgs(LayerArgs):
    """Reshapes to ``shape`` (batch excluded; ``reshape: [1, 1, 32]``); one size may be -1."""

    KIND = "reshape"
    EXAMPLE = "{shape: [1, 1, 32]}"
    SHORTHAND = "shape"

    shape: TargetShape = Field(description="the new shape without the batch axis; one size may be -1 "
                                           "(inferred so that the number of values is kept)")


class DropoutArgs(LayerArgs):
    """Drops a fraction ``rate`` of units while training (``dropout: 0.5``)."""

    KIND = "dropout"
    EXAMPLE = "{rate: 0.5}"
    SHORTHAND = "rate"

    rate: Fraction = Field(description="fraction of units dropped while training, in [0, 1)")


class BatchNormArgs(LayerArgs):
    """Batch normalisation over the channel axis (4 numbers per channel, 2 trainable)."""

    KIND = "batchnorm"
    EXAMPLE = "{momentum: 0.9, epsilon: 1.0e-5}"

    momentum: Fraction | None = Field(None, description="Keras' momentum of the moving statistics (default "
                                                        "0.99; torch's momentum m is 1 - m here)")
    epsilon: PositiveNumber | None = Field(None, description="added to the variance (default 0.001)")
    center: Flag | None = Field(None, description="learn a shift beta (default true)")
    scale: Flag | None = Field(None, description="learn a scale gamma (default true)")


class LayerNormArgs(LayerArgs):
    """Layer normalisation over the channel axis."""

    KIND = "layernorm"
    EXAMPLE = "{epsilon: 1.0e-6}"

    epsilon: PositiveNumber | None = Field(None, description="added to the variance (default 1e-6)")
    center: Flag | None = Field(None, description="learn a shift (default true)")
    scale: Flag | None = Field(None, description="learn a scale (default true)")


class RescalingArgs(LayerArgs):
    """Keras' Rescaling: ``x * scale + offset`` (``rescaling: 0.00392156862745098`` sets scale)."""

    KIND = "rescaling"
    EXAMPLE = "{scale: 0.00392156862745098, offset: 0}"
    SHORTHAND = "scale"

    scale: Alpha = Field(description="factor every value is multiplied by (1/255 maps bytes to [0, 1])")
    offset: Alpha | None = Field(None, description="added after scaling (default 0)")


class NormalizationArgs(LayerArgs):
    """Keras' Normalization over the channel axis: fixed ``mean`` and ``variance``, or (neither
    given) adapted from the training data by ``netspec train`` before the first step."""

    KIND = "normalization"
    EXAMPLE = "{mean: [0.485, 0.456, 0.406], variance: [0.052, 0.050, 0.051]}"

    mean: numbers_type(None, "a number") | None = Field(  # type: ignore[valid-type]
        None, description="per-channel mean (or one for all); default: adapted from the training data")
    variance: numbers_type(0, "a non-negative number") | None = Field(  # type: ignore[valid-type]
        None, description="per-channel variance (or one for all); given together with mean")

    @model_validator(mode="after")
    def _both_or_neither(self) -> NormalizationArgs:
        if (self.mean is None) != (self.variance is None):
            given, missing = ("mean", "variance") if self.variance is None else ("variance", "mean")
            raise fail("normalization", f"normalization has {given} but no {missing}: give both, or neither "
                                        "to adapt them from the training data at train time",
                       at=(given,))
        return self


class LRNArgs(LayerArgs):
    """AlexNet's local response normalisation across channels."""

    KIND = "lrn"
    EXAMPLE = "{size: 5, alpha: 0.0001, beta: 0.75, bias: 2}"
    ALIASES = {"k": "bias"}

    size: Size | None = Field(None, description="channels in each normalisation window (default 5)")
    alpha: NonNegativeNumber | None = Field(None, description="scale, divided by size (default 1e-4)")
    beta: PositiveNumber | None = Field(None, description="exponent (default 0.75)")
    bias: PositiveNumber | None = Field(None, description="additive constant k (default 2); alias k")


class ZeroPadArgs(LayerArgs):
    """Zero padding of the spatial axes (``zero_pad: 1``)."""

    KIND = "zero_pad"
    EXAMPLE = "{P: 1}"
    ALIASES = {"padding": "P"}
    SHORTHAND = "P"

    P: ExplicitPadding = Field(description="zeros added: an integer, per-axis, or [low, high] pairs")


class MergeArgs(LayerArgs):
    """add, multiply, subtract, maximum, minimum, average: elementwise over the inputs named by
    ``from:``, broadcast by NumPy's trailing-axis rules (subtract takes exactly two)."""

    EXAMPLE = "{from: [a, b]}"


class ConcatArgs(LayerArgs):
    """Depth concatenation of the layers named by ``from:``."""

    KIND = "concat"
    EXAMPLE = "{from: [a, b]}"

    pad: choice_type("error", "zero") | None = Field(  # type: ignore[valid-type]
        None, description="zero: pad smaller maps to the largest (GoogLeNet's DepthConcat); error (default)")


class PlainActivationArgs(LayerArgs):
    """Activations without arguments as layers: gelu, sigmoid, tanh, swish, softmax, relu6, ..."""


class AlphaActivationArgs(LayerArgs):
    """leaky_relu and elu as layers: an optional ``alpha`` (``leaky_relu: 0.1``)."""

    SHORTHAND = "alpha"
    alpha: Alpha | None = Field(None, description="slope (leaky_relu, default 0.3) or scale (elu, "
                                                  "default 1.0) for negative inputs")


class ReluArgs(LayerArgs):
    """relu as a layer, with Keras' ReLU arguments (``relu: {max_value: 6}`` is ReLU6)."""

    KIND = "relu"
    EXAMPLE = "{max_value: 6}"

    max_value: NonNegativeNumber | None = Field(None, description="cap of the output (default none)")
    negative_slope: NonNegativeNumber | None = Field(None, description="slope below the threshold (default 0)")
    threshold: Alpha | None = Field(None, description="inputs at or below it are damped (default 0)")


class ActivationArgs(LayerArgs):
    """``activation: relu`` / ``activation: {leaky_relu: 0.1}`` as a layer."""

    KIND = "activation"
    EXAMPLE = "{function: relu}"
    SHORTHAND = "function"

    function: ActivationValue = Field(description="the activation: " + ", ".join(ACTIVATIONS))

    @model_validator(mode="before")
    @classmethod
    def _function_mapping(cls, data: Any) -> Any:
        if isinstance(data, dict):  # {leaky_relu: 0.1, name: a}: the activation's own key names the function
            functions = [key for key in data if key in ACTIVATIONS]
            if len(functions) == 1 and "function" not in data:
                rest = {key: value for key, value in data.items() if key != functions[0]}
                return {"function": {functions[0]: data[functions[0]]}, **rest}
        return data


def _subclass(base: type[LayerArgs], kind: str, doc: str | None = None) -> type[LayerArgs]:
    """A copy of ``base`` for one kind, so messages and schemas name it."""
    title = "".join(part.title() for part in kind.split("_")) + "Args"
    return type(title, (base,), {"KIND": kind, "__doc__": doc or base.__doc__, "__module__": __name__})


# Activations an item may name as a layer of their own (`- relu`, `- linear`: the identity).
ACTIVATION_LAYERS = ACTIVATIONS

# kind -> args model, for every primitive layer kind an item may name.
LAYER_ARGS: dict[str, type[LayerArgs]] = {
    model.KIND: model for model in (
        ConvArgs, DepthwiseConvArgs, SeparableConvArgs, ConvTransposeArgs, UpsampleArgs, PoolArgs, GlobalPoolArgs, DenseArgs, FlattenArgs,
        ReshapeArgs, DropoutArgs, BatchNormArgs, LayerNormArgs, LRNArgs, RescalingArgs, NormalizationArgs, ZeroPadArgs, ConcatArgs, ActivationArgs)
}
MERGES = ("add", "multiply", "subtract", "maximum", "minimum", "average")
LAYER_ARGS.update({kind: _subclass(MergeArgs, kind) for kind in MERGES})
LAYER_ARGS.update({kind: _subclass(AlphaActivationArgs if kind in DEFAULT_ALPHA else PlainActivationArgs, kind)
                   for kind in ACTIVATION_LAYERS if kind != "relu"})
LAYER_ARGS["relu"] = ReluArgs

# Every alias group, for pointing at the key a user wrote when pydantic reports the canonical one.
ALIAS_GROUPS: dict[str, set[str]] = {}
for _model in LAYER_ARGS.values():
    for _alias, _canonical in _model.ALIASES.items():
        ALIAS_GROUPS.setdefault(_canonical, {_canonical}).add(_alias)
