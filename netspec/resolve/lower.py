"""Canonical IR attrs for one primitive layer (the lowering half of ``resolve``).

Loose spec values become the IR's canonical forms here, once: an int size
becomes a per-axis tuple of the input's spatial rank, integer padding
becomes ``(low, high)`` pairs, ``${...}`` is evaluated in the template
instance's parameters, and fields left out take the IR attrs' defaults.

>>> from netspec.spec.layers import ConvArgs
>>> values = Values(None, {}, [].append)
>>> primitive("conv", ConvArgs.model_validate({"K": 6, "F": 5, "P": 2}), 2, values, ())
('conv', ConvAttrs(filters=6, kernel=(5, 5), strides=(1, 1), padding=((2, 2), (2, 2)), \
dilation=(1, 1), groups=1, use_bias=True, activation=None, kernel_init='glorot_uniform', bias_init='zeros'))
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic_core import PydanticCustomError

from netspec.diagnostics import Diagnostic, Span
from netspec.ir import (
    Activation,
    ActivationAttrs,
    AddAttrs,
    Attrs,
    AverageAttrs,
    BatchNormAttrs,
    ConcatAttrs,
    ConvAttrs,
    ConvTransposeAttrs,
    DenseAttrs,
    DepthwiseConvAttrs,
    DropoutAttrs,
    FlattenAttrs,
    GlobalPoolAttrs,
    LayerNormAttrs,
    LRNAttrs,
    MaximumAttrs,
    MinimumAttrs,
    MultiplyAttrs,
    NormalizationAttrs,
    PoolAttrs,
    PreprocessAttrs,
    RescalingAttrs,
    ReshapeAttrs,
    SeparableConvAttrs,
    SubtractAttrs,
    UpsampleAttrs,
    ZeroPadAttrs,
)
from netspec.spec import expr
from netspec.spec.layers import ACTIVATION_LAYERS, ALIAS_GROUPS, LayerArgs
from netspec.spec.source import Path, SourceDoc
from netspec.spec.values import ACTIVATION_ARGUMENTS, Expr, InitSpec, Interp, make_activation

LAYOUTS = {1: "[T, C]", 2: "[H, W, C]", 3: "[D, H, W, C]"}


class Values:
    """Evaluates and canonicalises spec values inside one template instance.

    ``env`` holds the instance's parameters; problems go to ``report`` as
    diagnostics at the value's position, with ``note`` (which instance) added.
    """

    def __init__(self, doc: SourceDoc | None, env: dict[str, int], report: Callable[[Diagnostic], None],
                 note: str | None = None, scaled: Mapping[str, Callable[[int], int]] | None = None):
        self.doc, self.env, self.report, self.note = doc, env, report, note
        self.scaled = scaled  # filters(n) and repeats(n) under the chosen scale (netspec.resolve.scaling)

    def where(self, path: Path, key: bool = False) -> Span | None:
        """The span of ``path``; if its last key was written as an alias, of that alias."""
        if self.doc is None:
            return None
        if path and path not in self.doc.values:
            for alias in ALIAS_GROUPS.get(str(path[-1]), ()):
                if path[:-1] + (alias,) in self.doc.values:
                    path = path[:-1] + (alias,)
                    break
        return self.doc.key_span(path) if key else self.doc.span(path)

    def error(self, code: str, message: str, span: Span | None, hint: str | None = None) -> None:
        notes = (self.note,) if self.note else ()
        self.report(Diagnostic("error", code, message, span, hint, notes))

    def integer(self, value: int | Expr, path: Path) -> int:
        """The value of an int field; an Expr is evaluated and checked against its field's bounds."""
        if not isinstance(value, Expr):
            return value
        fallback = value.minimum if value.minimum is not None else 1
        result = self.evaluate(value)
        if result is None:
            return fallback
        if isinstance(result, bool) or not isinstance(result, int):
            key = next((str(part) for part in reversed(path) if isinstance(part, str)), "value")
            self.error("expression-type", f"{key} = {value} is {expr.kind_of(result)} ({result!r}) here, but "
                                          f"must be {value.meaning}", value.span)
            return fallback
        low, high = value.minimum, value.maximum
        if (low is not None and result < low) or (high is not None and result > high):
            key = next((str(part) for part in reversed(path) if isinstance(part, str)), "value")
            self.error("expression-range", f"{key} = {value} is {result} here, but must be {value.meaning}",
                       value.span)
            return fallback
        return result

    def evaluate(self, value: Expr) -> expr.Value | None:
        """The value of ``${...}`` in this instance's parameters, or None after reporting why not."""
        try:
            return expr.evaluate(value.tree, self.env, self.scaled)
        except expr.ExprError as problem:
            span = value.span
            if span is not None:
                span = Span(span.path, span.line, span.col + problem.offset, problem.length, span.snippet)
            self.error("expression", f"{value}: {problem.message}", span, problem.hint)
            return None

    def any(self, value: Any) -> Any:
        """A template argument's value: a ``${...}`` evaluated (any type), text with ``${...}`` inside
        interpolated; None after reporting a problem."""
        if isinstance(value, Expr):
            return self.evaluate(value)
        if isinstance(value, Interp):
            pieces = [part if isinstance(part, str) else self.evaluate(part) for part in value.parts]
            return None if any(piece is None for piece in pieces) else "".join(map(text_of, pieces))
        return value

    def settle(self, args: LayerArgs, path: Path) -> LayerArgs:
        """``args`` with every ``${...}`` in a non-integer field (a rate, a flag, an activation, a mode)
        evaluated and checked by that field's own validator; integer fields are evaluated where read."""
        updates = {}
        for field, value in deferred_fields(args):
            result = self.evaluate(value)
            updates[field] = value.fallback
            if result is None:
                continue
            try:
                updates[field] = value.check(result)
            except PydanticCustomError as problem:
                self.error("expression-type", f"{field} = {value} is {result!r} here: {problem.message()}",
                           value.span, (problem.context or {}).get("netspec_hint"))
        return args.model_copy(update=updates) if updates else args

    def per_axis(self, value: Any, default: int | tuple[int, ...], spatial: int, path: Path) -> tuple[int, ...]:
        """An int (or Expr) for every axis, or a per-axis list whose length must be ``spatial``."""
        if value is None:
            return default if isinstance(default, tuple) else (default,) * spatial
        if not isinstance(value, tuple):
            return (self.integer(value, path),) * spatial
        if len(value) != spatial:
            self.error("axes", f"{path[-1]} has {len(value)} entries, but the input has {spatial} spatial "
                               f"{'axis' if spatial == 1 else 'axes'} ({LAYOUTS.get(spatial, '')})",
                       self.where(path), hint=f"give one value, or {spatial} (one per spatial axis)")
            return (1,) * spatial
        return tuple(self.integer(item, path + (index,)) for index, item in enumerate(value))

    def pairs(self, value: Any, spatial: int, path: Path) -> tuple[tuple[int, int], ...]:
        """Explicit padding: an int, one per axis, or [low, high] pairs -> one (low, high) per axis."""
        if not isinstance(value, tuple):
            amount = self.integer(value, path)
            return ((amount, amount),) * spatial
        if len(value) != spatial:
            self.error("axes", f"{path[-1]} has {len(value)} entries, but the input has {spatial} spatial "
                               f"{'axis' if spatial == 1 else 'axes'} ({LAYOUTS.get(spatial, '')})",
                       self.where(path), hint=f"give one value, or {spatial} (one per spatial axis)")
            return ((0, 0),) * spatial
        result = []
        for index, entry in enumerate(value):
            if isinstance(entry, tuple):
                result.append(tuple(self.integer(item, path + (index, side)) for side, item in enumerate(entry)))
            else:
                amount = self.integer(entry, path + (index,))
                result.append((amount, amount))
        return tuple(result)

    def padding(self, value: Any, spatial: int, path: Path, *, causal: bool = True):
        """valid | same | causal (1-D convolutions) | explicit pairs."""
        if value is None:
            return "valid"
        if value == "causal":
            if not causal:
                self.error("causal-padding", "P: causal is for convolutions; pooling cannot pad causally",
                           self.where(path), hint="pad the time axis explicitly, e.g. P: [[F - 1, 0]]")
                return "valid"
            if spatial != 1:
                self.error("causal-padding", f"P: causal pads the time axis of 1-D sequences [T, C], but this "
                                             f"input has {spatial} spatial axes ({LAYOUTS.get(spatial, '')})",
                           self.where(path), hint="use P: same for images, or a [T, C] input")
                return "valid"
            return value
        if isinstance(value, str):
            return value
        return self.pairs(value, spatial, path)

    def activation(self, value: Activation | None) -> Activation | None:
        """A fused activation: ``linear`` means none."""
        return None if value is None or value.name == "linear" else value


def deferred_fields(args: LayerArgs) -> list[tuple[str, Expr]]:
    """The non-integer fields of ``args`` that hold a ``${...}`` still to evaluate (most items: none)."""
    return [(field, value) for field, value in vars(args).items() if isinstance(value, Expr) and value.check]


def text_of(value: expr.Value) -> str:
    """How a value reads inside a name: ``3``, ``relu``, ``true``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _init(args: Any, network: InitSpec | None) -> dict[str, str]:
    own = getattr(args, "init", None)
    chosen = {}
    for part in ("kernel", "bias"):
        name = getattr(own, part, None) or getattr(network, part, None)
        if name is not None:
            chosen[f"{part}_init"] = name
    return chosen


def _given(**fields: Any) -> dict[str, Any]:
    """Only the fields a spec set, so the IR attrs' defaults apply to the rest."""
    return {key: value for key, value in fields.items() if value is not None}


def _window(args: Any, spatial: int, values: Values, path: Path, *, causal: bool = True) -> dict:
    kernel = values.per_axis(args.F, 1, spatial, path + ("F",))
    strides = values.per_axis(args.S, kernel if args.KIND == "pool" else 1, spatial, path + ("S",))
    window = {"kernel": kernel, "strides": strides, "padding": values.padding(args.P, spatial, path + ("P",),
                                                                              causal=causal)}
    if args.KIND != "pool":
        window["dilation"] = values.per_axis(args.D, 1, spatial, path + ("D",))
    return window


Lowering = Callable[[LayerArgs, int, Values, Path, "InitSpec | None"], tuple[str, Attrs]]


def _conv(args: Any, spatial: int, values: Values, path: Path, network_init: InitSpec | None):
    return "conv", ConvAttrs(
        filters=values.integer(args.K, path + ("K",)), **_window(args, spatial, values, path),
        **_given(groups=None if args.groups is None else values.integer(args.groups, path + ("groups",)),
                 use_bias=args.bias, activation=values.activation(args.activation)),
        **_init(args, network_init))


def _depthwise_or_separable(args: Any, spatial: int, values: Values, path: Path,
                            network_init: InitSpec | None):
    kind = args.KIND
    extra = {"filters": values.integer(args.K, path + ("K",))} if kind == "separable_conv" else {}
    multiplier = args.depth_multiplier
    attrs_class = SeparableConvAttrs if kind == "separable_conv" else DepthwiseConvAttrs
    return kind, attrs_class(
        **extra, **_window(args, spatial, values, path),
        **_given(depth_multiplier=None if multiplier is None else values.integer(
            multiplier, path + ("depth_multiplier",)), use_bias=args.bias,
            activation=values.activation(args.activation)),
        **_init(args, network_init))


def _conv_transpose(args: Any, spatial: int, values: Values, path: Path, network_init: InitSpec | None):
    kernel = values.per_axis(args.F, 1, spatial, path + ("F",))
    return "conv_transpose", ConvTransposeAttrs(
        filters=values.integer(args.K, path + ("K",)), kernel=kernel,
        strides=values.per_axis(args.S, 1, spatial, path + ("S",)),
        padding=values.padding(args.P, spatial, path + ("P",), causal=False),
        **_given(use_bias=args.bias, activation=values.activation(args.activation)),
        **_init(args, network_init))


def _upsample(args: Any, spatial: int, values: Values, path: Path, network_init: InitSpec | None):
    return "upsample", UpsampleAttrs(values.per_axis(args.size, 1, spatial, path + ("size",)),
                                     **_given(interpolation=args.interpolation))


def _pool(args: Any, spatial: int, values: Values, path: Path, network_init: InitSpec | None):
    window = _window(args, spatial, values, path, causal=False)
    return "pool", PoolAttrs(mode=args.mode or "max", window=window["kernel"], strides=window["strides"],
                             padding=window["padding"])


def _zero_pad(args: Any, spatial: int, values: Values, path: Path, network_init: InitSpec | None):
    return "zero_pad", ZeroPadAttrs(values.pairs(args.P, spatial, path + ("P",)))


def _dense(args: Any, spatial: int, values: Values, path: Path, network_init: InitSpec | None):
    return "dense", DenseAttrs(units=values.integer(args.units, path + ("units",)),
                               **_given(use_bias=args.bias, activation=values.activation(args.activation)),
                               **_init(args, network_init))


def _reshape(args: Any, spatial: int, values: Values, path: Path, network_init: InitSpec | None):
    return "reshape", ReshapeAttrs(tuple(values.integer(size, path + ("shape", index))
                                         for index, size in enumerate(args.shape)))


def _lrn(args: Any, spatial: int, values: Values, path: Path, network_init: InitSpec | None):
    size = None if args.size is None else values.integer(args.size, path + ("size",))
    return "lrn", LRNAttrs(**_given(size=size, alpha=args.alpha, beta=args.beta, bias=args.bias))


def _activation(args: Any, spatial: int, values: Values, path: Path, network_init: InitSpec | None):
    return "activation", ActivationAttrs(args.function)


def _named_activation(args: Any, spatial: int, values: Values, path: Path, network_init: InitSpec | None):
    """An activation named as a layer: ``relu``, ``leaky_relu: 0.1``, ``relu: {max_value: 6}``, ..."""
    arguments = {key: getattr(args, key, None) for key in ACTIVATION_ARGUMENTS.get(args.KIND, ())}
    return "activation", ActivationAttrs(make_activation(args.KIND, _given(**arguments)))


def _simple(op: str, make: Callable[[Any], Attrs]) -> Lowering:
    """The lowering of a layer whose attrs need no per-axis values."""
    return lambda args, spatial, values, path, network_init: (op, make(args))


# spec layer kind -> its lowering to (IR op, attrs). No default: every kind in
# netspec.spec.layers.LAYER_ARGS has a row (tests/test_ops.py checks it).
LOWERING: dict[str, Lowering] = {
    "conv": _conv,
    "depthwise_conv": _depthwise_or_separable,
    "separable_conv": _depthwise_or_separable,
    "conv_transpose": _conv_transpose,
    "upsample": _upsample,
    "pool": _pool,
    "zero_pad": _zero_pad,
    "dense": _dense,
    "global_pool": _simple("global_pool", lambda args: GlobalPoolAttrs(**_given(mode=args.mode,
                                                                                keepdims=args.keepdims))),
    "flatten": _simple("flatten", lambda args: FlattenAttrs()),
    "reshape": _reshape,
    "dropout": _simple("dropout", lambda args: DropoutAttrs(args.rate)),
    "batchnorm": _simple("batchnorm", lambda args: BatchNormAttrs(**_given(
        momentum=args.momentum, epsilon=args.epsilon, center=args.center, scale=args.scale))),
    "layernorm": _simple("layernorm", lambda args: LayerNormAttrs(**_given(
        epsilon=args.epsilon, center=args.center, scale=args.scale))),
    "lrn": _lrn,
    "rescaling": _simple("rescaling", lambda args: RescalingAttrs(args.scale, **_given(offset=args.offset))),
    "normalization": _simple("normalization", lambda args: NormalizationAttrs(args.mean, args.variance)),
    "add": _simple("add", lambda args: AddAttrs()),
    "multiply": _simple("multiply", lambda args: MultiplyAttrs()),
    "subtract": _simple("subtract", lambda args: SubtractAttrs()),
    "maximum": _simple("maximum", lambda args: MaximumAttrs()),
    "minimum": _simple("minimum", lambda args: MinimumAttrs()),
    "average": _simple("average", lambda args: AverageAttrs()),
    "concat": _simple("concat", lambda args: ConcatAttrs(**_given(pad=args.pad))),
    "activation": _activation,
    **{name: _named_activation for name in ACTIVATION_LAYERS},
}


def lower_preprocess(mode: str) -> tuple[str, Attrs]:
    """The lowering of the spec's top-level ``preprocess:`` (its own schema, like ``input:``, so
    not a row of :data:`LOWERING`, which is keyed by layer kind): the in-graph op after the input.

    >>> lower_preprocess("caffe")
    ('preprocess', PreprocessAttrs(mode='caffe'))
    """
    return "preprocess", PreprocessAttrs(mode)  # type: ignore[arg-type]


def primitive(kind: str, args: LayerArgs, spatial: int, values: Values, path: Path,
              network_init: InitSpec | None = None) -> tuple[str, Attrs]:
    """(op, attrs) of a primitive layer; ``spatial`` is its input's number of
    spatial axes; ``path`` is the data path of its arguments (``(..., "conv")``).

    A kind without a lowering is a bug in netspec (the schema accepted it), not a
    user error: it raises ``LookupError``, which the CLI reports as an internal error.
    """
    try:
        lowering = LOWERING[kind]
    except KeyError:
        raise LookupError(f"spec layer kind {kind!r} has no lowering to an IR op "
                          "(add it to netspec.resolve.lower.LOWERING)") from None
    return lowering(args, spatial, values, path, network_init)


def auto_base(kind: str, args: Any, spatial: int) -> str:
    """The stem of an automatic name: ``conv2d``, ``max_pool2d``, ``dense``, ``relu``..."""
    suffix = f"{spatial}d" if 1 <= spatial <= 3 else ""
    if kind in ("conv", "depthwise_conv", "separable_conv", "zero_pad", "conv_transpose", "upsample"):
        return kind + suffix
    if kind == "pool":
        return f"{args.mode or 'max'}_pool{suffix}"
    if kind == "global_pool":
        return f"global_{args.mode or 'avg'}_pool"
    if kind == "activation":
        return args.function.name
    return kind
