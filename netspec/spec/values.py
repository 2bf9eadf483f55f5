"""Value types of the spec language, as pydantic-compatible annotated types.

Each type validates one kind of value with a message of the form "must be
X, but got Y" and a JSON Schema for editors. Integers may also be an
``${...}`` expression (an :class:`Expr`, made from the YAML string before
validation); its bounds travel with it and are checked when ``resolve``
evaluates it inside a template instance. Loose forms are made canonical
here, once: an activation is an :class:`netspec.ir.Activation`, an init is
an :class:`InitSpec`.

Errors carry two optional context keys read by :mod:`netspec.spec.errors`:
``netspec_at`` (a path below the value, e.g. the bad list index) and
``netspec_hint`` (what would fix it).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Annotated, Any

from pydantic import PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from netspec.diagnostics import WARNING_CODES, Span, did_you_mean
from netspec.ir import DEFAULT_ALPHA, Activation
from netspec.spec.expr import Tree

MAX_SIZE = 1_000_000  # K, units, F, S, D ...: beyond this a spec is a mistake, not a network
MAX_TIMES = 1000  # repeat
MAX_AXES = 3

ACTIVATIONS = ("relu", "leaky_relu", "elu", "gelu", "sigmoid", "tanh", "swish", "softmax", "linear",
               "relu6", "hard_sigmoid", "hard_swish", "softplus", "softsign", "selu", "exponential", "mish")
# The arguments an activation takes (Keras 3's names), each with the bounds of its value.
ACTIVATION_ARGUMENTS: dict[str, tuple[str, ...]] = {
    "leaky_relu": ("alpha",), "elu": ("alpha",), "relu": ("max_value", "negative_slope", "threshold")}
_NON_NEGATIVE_ARGUMENTS = ("max_value", "negative_slope")
INITIALIZERS = (
    "glorot_uniform", "glorot_normal", "he_normal", "he_uniform", "lecun_normal", "lecun_uniform",
    "zeros", "ones", "normal", "uniform", "truncated_normal", "orthogonal",
)
# A bias is a vector: initialisers that scale by fan-in/fan-out (or need a matrix) cannot fill it.
BIAS_INITIALIZERS = ("zeros", "ones", "normal", "uniform", "truncated_normal")
NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*\Z")
REFERENCE_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*(/[A-Za-z_0-9][A-Za-z0-9_.\-]*)*\Z")
EXPRESSION_PATTERN = r"^\$\{[^}]*\}$"


# --- ${...} values ------------------------------------------------------------------


@dataclass(frozen=True)
class Expr:
    """A YAML string that was exactly ``${...}``: an integer known once the
    template parameters are. ``span`` points at the text inside the braces;
    ``minimum``/``maximum``/``meaning`` are the bounds of the field it sits
    in, checked after evaluation."""

    text: str
    tree: Tree
    span: Span | None = None
    minimum: int | None = None
    maximum: int | None = None
    meaning: str = "an integer"
    check: Callable[[Any], Any] | None = None  # a non-integer field's validator, run on the value
    fallback: Any = None  # a valid stand-in for that field once its problem is reported

    def bounded(self, minimum: int | None, maximum: int | None, meaning: str) -> Expr:
        return replace(self, minimum=minimum, maximum=maximum, meaning=meaning)

    def deferred(self, check: Callable[[Any], Any], meaning: str, fallback: Any) -> Expr:
        """For a field that is not an integer (a rate, a flag, an activation): ``check`` validates the
        value once the template's parameters are known."""
        return replace(self, check=check, meaning=meaning, fallback=fallback)

    def __str__(self) -> str:
        return "${" + self.text + "}"


@dataclass(frozen=True)
class Interp:
    """A string with ``${...}`` inside longer text (``"block${i}"``); only names allow it."""

    parts: tuple[str | Expr, ...]

    def __str__(self) -> str:
        return "".join(str(part) for part in self.parts)


@dataclass(frozen=True)
class InitSpec:
    """Initialiser names for a layer's (or the network's) kernel and bias; None = inherit."""

    kernel: str | None = None
    bias: str | None = None


# --- helpers -------------------------------------------------------------------------------


def describe(value: Any) -> str:
    """How a value reads in a message: ``'smae'``, ``0``, ``a list``."""
    if isinstance(value, (Expr, Interp)):
        return f"'{value}'"
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value) if len(value) <= 60 else repr(value[:57] + "...")
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def suggest(word: str, choices) -> str | None:
    """did-you-mean, first ignoring case (``k`` -> ``K``: keys are case-sensitive)."""
    choices = list(choices)
    same = [choice for choice in choices if choice.lower() == word.lower()]
    if same:
        return f"did you mean '{same[0]}'? (case matters)"
    return did_you_mean(word, choices)


def fail(code: str, message: str, *, hint: str | None = None, at: tuple = ()) -> PydanticCustomError:
    context: dict[str, Any] = {}
    if hint:
        context["netspec_hint"] = hint
    if at:
        context["netspec_at"] = list(at)
    return PydanticCustomError(code, message, context or None)


def _expression_misplaced(value: Any, meaning: str) -> PydanticCustomError:
    return fail("expression-not-allowed", f"must be {meaning}, but got {describe(value)}",
                hint="a ${...} inside longer text is allowed in names only; make it the whole value")


# --- integers ------------------------------------------------------------------------------


def _integer(minimum: int | None, maximum: int | None, meaning: str):
    def check(value: Any) -> int | Expr:
        if isinstance(value, Expr):
            return value.bounded(minimum, maximum, meaning)
        if isinstance(value, bool) or not isinstance(value, int):
            hint = None
            if isinstance(value, float) and value.is_integer():
                hint = f"write {int(value)} without the decimal point"
            elif isinstance(value, str) and "${" in value:
                hint = "an ${...} expression must be the whole value"
            raise fail("integer", f"must be {meaning}, but got {describe(value)}", hint=hint)
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            raise fail("integer-range", f"must be {meaning}, but got {value}")
        return value

    return check


def _integer_schema(minimum: int | None, maximum: int | None) -> dict:
    number: dict[str, Any] = {"type": "integer"}
    if minimum is not None:
        number["minimum"] = minimum
    if maximum is not None:
        number["maximum"] = maximum
    return {"anyOf": [number, {"type": "string", "pattern": EXPRESSION_PATTERN}]}


def _or_expression(schema: dict) -> dict:
    """A field's JSON Schema, or a whole-value ``${...}`` (evaluated inside a template instance)."""
    return {"anyOf": [schema, {"type": "string", "pattern": EXPRESSION_PATTERN}]}


def integer_type(minimum: int | None, maximum: int | None, meaning: str) -> Any:
    return Annotated[int, PlainValidator(_integer(minimum, maximum, meaning)),
                     WithJsonSchema(_integer_schema(minimum, maximum))]


POSITIVE = f"a positive integer (at most {MAX_SIZE:,})"
Size = integer_type(1, MAX_SIZE, POSITIVE)
_TIMES = f"a positive integer (at most {MAX_TIMES})"
_COMPUTED_TIMES = f"an integer from 0 to {MAX_TIMES} (a computed 0 leaves the layers out)"


def _times(value: Any) -> int | Expr:
    """A repeat's times: written, 1 to MAX_TIMES (0 would be a typo); computed by ``${...}`` it may
    be 0, which makes a repeat a conditional block (``${repeats(1) - 1}`` more blocks after the first)."""
    if isinstance(value, Expr):
        return value.bounded(0, MAX_TIMES, _COMPUTED_TIMES)
    return _integer(1, MAX_TIMES, _TIMES)(value)


Times = Annotated[int, PlainValidator(_times), WithJsonSchema(_integer_schema(0, MAX_TIMES))]
PARAM_MEANING = "an integer, a number, true/false or a string"


def param_value(value: Any) -> int | float | bool | str | Expr | Interp:
    """A template parameter's value (or default): int, float, bool or str; ``${...}`` is evaluated at
    instantiation."""
    if isinstance(value, (Expr, Interp)):
        return value
    if isinstance(value, (int, float)) and abs(value) > 10**15 and not isinstance(value, bool):
        raise fail("param-value", f"must be at most 10**15 in size, but got {value}")
    if isinstance(value, (int, float, str)):  # bool is an int
        if isinstance(value, float) and value != value:
            raise fail("param-value", f"must be {PARAM_MEANING}, but got {value}")
        return value
    raise fail("param-value", f"must be {PARAM_MEANING}, but got {describe(value)}")


def param_kind(value: Any) -> str:
    """The type a parameter's default gives it: integer, number, boolean or string."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return "string"


def param_fits(default: Any, value: Any) -> bool:
    """Whether ``value`` may stand for a parameter whose default is ``default`` (None: any type);
    an integer may stand for a number."""
    if default is None:
        return True
    wanted, given = param_kind(default), param_kind(value)
    return wanted == given or (wanted == "number" and given == "integer")


ParamValue = Annotated[Any, PlainValidator(param_value), WithJsonSchema(
    {"type": ["integer", "number", "boolean", "string"]})]

_size = _integer(1, MAX_SIZE, POSITIVE)
_amount = _integer(0, MAX_SIZE, "a non-negative integer")


def _per_axis(value: Any) -> int | Expr | tuple:
    if not isinstance(value, list):
        return _size(value)
    if not 1 <= len(value) <= MAX_AXES:
        raise fail("per-axis", f"must be an integer or a list of 1 to {MAX_AXES} integers (one per "
                               f"spatial axis), but got a list of {len(value)}")
    return tuple(_check_at(_size, item, index) for index, item in enumerate(value))


def _check_at(check, value: Any, index: int):
    try:
        return check(value)
    except PydanticCustomError as problem:
        context = dict(problem.context or {})
        context["netspec_at"] = [index] + list(context.get("netspec_at", []))
        raise PydanticCustomError(problem.type, problem.message(), context) from None


_PER_AXIS_SCHEMA = _integer_schema(1, MAX_SIZE)
PerAxis = Annotated[Any, PlainValidator(_per_axis), WithJsonSchema(
    {"anyOf": [_PER_AXIS_SCHEMA, {"type": "array", "items": _PER_AXIS_SCHEMA, "minItems": 1,
                                  "maxItems": MAX_AXES}]})]

Dilations = Annotated[Any, PlainValidator(
    lambda value: _list_of(_size, value, "a list of positive integers (dilation rates)")),
    WithJsonSchema({"type": "array", "items": _PER_AXIS_SCHEMA, "minItems": 1})]


_target_size = _integer(-1, MAX_SIZE, "a positive integer or -1")


def _target_shape(value: Any) -> tuple:
    """reshape's target: 1 to 4 sizes (batch excluded), each positive or -1 (at most one -1)."""
    sizes = _list_of(_target_size, value, "a list of 1 to 4 sizes, e.g. [1, 1, 32] (one may be -1)", limit=4)
    if any(size == 0 for size in sizes):
        raise fail("shape", "sizes must be positive (or -1 for the one inferred), but got 0")
    if sum(1 for size in sizes if size == -1) > 1:
        raise fail("shape", f"at most one size may be -1 (inferred), but got {list(sizes)}")
    return sizes


_TARGET_SIZE_SCHEMA = {"anyOf": [{"type": "integer", "minimum": -1}, {"type": "string", "pattern": EXPRESSION_PATTERN}]}
TargetShape = Annotated[tuple, PlainValidator(_target_shape), WithJsonSchema(
    {"type": "array", "items": _TARGET_SIZE_SCHEMA, "minItems": 1, "maxItems": 4})]


def _list_of(check, value: Any, meaning: str, limit: int = 64) -> tuple:
    if not isinstance(value, list) or not value:
        raise fail("list", f"must be {meaning}, but got {describe(value)}")
    if len(value) > limit:
        raise fail("list", f"must be {meaning} of at most {limit} entries, but got {len(value)}")
    return tuple(_check_at(check, item, index) for index, item in enumerate(value))


# --- padding --------------------------------------------------------------------------------

_PADDING_WORDS = ("valid", "same", "causal")
_PADDING_MEANING = "valid, same, causal, an integer, a per-axis list or a list of [low, high] pairs"


def _pad_entry(value: Any):
    if isinstance(value, list):
        if len(value) != 2:
            raise fail("padding", f"must be a [low, high] pair, but got a list of {len(value)}")
        return tuple(_check_at(_amount, item, index) for index, item in enumerate(value))
    return _amount(value)


def _padding(words: tuple[str, ...]):
    explicit = "an integer, a per-axis list or a list of [low, high] pairs"
    meaning = ", ".join(words) + ", " + explicit if words else explicit

    def check(value: Any):
        if isinstance(value, str):
            if value in words:
                return value
            raise fail("padding", f"must be {meaning}, but got {describe(value)}",
                       hint=suggest(value, words) if words else None)
        if isinstance(value, list):
            if not 1 <= len(value) <= MAX_AXES:
                raise fail("padding", f"must be {meaning}, but got a list of {len(value)}")
            return tuple(_check_at(_pad_entry, item, index) for index, item in enumerate(value))
        try:
            return _amount(value)
        except PydanticCustomError:
            raise fail("padding", f"must be {meaning}, but got {describe(value)}") from None

    return check


_AMOUNT_SCHEMA = _integer_schema(0, MAX_SIZE)
_PAD_LIST_SCHEMA = {"type": "array", "minItems": 1, "maxItems": MAX_AXES, "items": {"anyOf": [
    _AMOUNT_SCHEMA, {"type": "array", "items": _AMOUNT_SCHEMA, "minItems": 2, "maxItems": 2}]}}
Padding = Annotated[Any, PlainValidator(_padding(_PADDING_WORDS)), WithJsonSchema(
    {"anyOf": [{"enum": list(_PADDING_WORDS)}, _AMOUNT_SCHEMA, _PAD_LIST_SCHEMA]})]
ExplicitPadding = Annotated[Any, PlainValidator(_padding(())), WithJsonSchema(
    {"anyOf": [_AMOUNT_SCHEMA, _PAD_LIST_SCHEMA]})]
ExplicitOrMode = Annotated[Any, PlainValidator(_padding(("valid", "same"))), WithJsonSchema(
    {"anyOf": [{"enum": ["valid", "same"]}, _AMOUNT_SCHEMA, _PAD_LIST_SCHEMA]})]


# --- numbers, flags, choices -------------------------------------------------------------------


def number_type(minimum: float | None, maximum: float | None, *, open_low: bool = False,
                open_high: bool = False, meaning: str) -> Any:
    def check(value: Any) -> float:
        if isinstance(value, Expr):
            return value.deferred(check, meaning, float(minimum or 0) + (1.0 if open_low else 0.0))  # type: ignore[return-value]
        if isinstance(value, Interp):
            raise _expression_misplaced(value, meaning)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise fail("number", f"must be {meaning}, but got {describe(value)}")
        low_bad = minimum is not None and (value <= minimum if open_low else value < minimum)
        high_bad = maximum is not None and (value >= maximum if open_high else value > maximum)
        if low_bad or high_bad or not math.isfinite(value):  # inf would be emitted as a NameError
            raise fail("number-range", f"must be {meaning}, but got {value}")
        return float(value)

    schema: dict[str, Any] = {"type": "number"}
    if minimum is not None:
        schema["exclusiveMinimum" if open_low else "minimum"] = minimum
    if maximum is not None:
        schema["exclusiveMaximum" if open_high else "maximum"] = maximum
    return Annotated[float, PlainValidator(check), WithJsonSchema(_or_expression(schema))]


Fraction = number_type(0, 1, open_high=True, meaning="a number in [0, 1)")


def numbers_type(minimum: float | None, meaning: str) -> Any:
    """A number, or a list of them (one per channel) -> a tuple of floats."""
    one = number_type(minimum, None, meaning=meaning).__metadata__[0].func

    def check(value: Any) -> tuple[float, ...]:
        if isinstance(value, list):
            return _list_of(one, value, f"{meaning} or a list of them (one per channel)", limit=MAX_SIZE)
        return (one(value),)

    item: dict[str, Any] = {"type": "number"} if minimum is None else {"type": "number", "minimum": minimum}
    return Annotated[tuple, PlainValidator(check), WithJsonSchema(
        {"anyOf": [item, {"type": "array", "items": item, "minItems": 1}]})]
PositiveNumber = number_type(0, None, open_low=True, meaning="a positive number")
NonNegativeNumber = number_type(0, None, meaning="a non-negative number")


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, Expr):
        return value.deferred(_flag, "true or false", False)  # type: ignore[return-value]
    if isinstance(value, Interp):
        raise _expression_misplaced(value, "true or false")
    hint = None
    if isinstance(value, str) and value.lower() in ("yes", "no", "on", "off", "y", "n"):
        hint = "write true or false: netspec reads yes/no/on/off as text, not booleans"
    raise fail("boolean", f"must be true or false, but got {describe(value)}", hint=hint)


Flag = Annotated[bool, PlainValidator(_flag), WithJsonSchema(_or_expression({"type": "boolean"}))]


def choice_type(*words: str) -> Any:
    meaning = "one of " + ", ".join(words)

    def check(value: Any) -> str:
        if isinstance(value, str) and value in words:
            return value
        if isinstance(value, Expr):
            return value.deferred(check, meaning, words[0])  # type: ignore[return-value]
        if isinstance(value, Interp):
            raise _expression_misplaced(value, meaning)
        hint = suggest(value, words) if isinstance(value, str) else None
        raise fail("choice", f"must be {meaning}, but got {describe(value)}", hint=hint)

    return Annotated[str, PlainValidator(check), WithJsonSchema(_or_expression({"enum": list(words)}))]


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (Expr, Interp)):
        return str(value)  # free text: ${...} means nothing here
    raise fail("text", f"must be text, but got {describe(value)}")


Text = Annotated[str, PlainValidator(_text), WithJsonSchema({"type": "string"})]


# --- activations and initialisers ---------------------------------------------------------------


def _activation_arguments(name: str, arguments: Any) -> dict[str, float]:
    """The arguments of ``{name: arguments}``: a mapping of them, or (alpha only) a bare number."""
    allowed = ACTIVATION_ARGUMENTS.get(name, ())
    if arguments in (None, {}):
        return {}
    if not allowed:
        raise fail("activation", f"{name} takes no arguments, but got {describe(arguments)}", at=(name,))
    if not isinstance(arguments, dict):
        if allowed != ("alpha",):
            raise fail("activation", f"{name} takes a mapping of {', '.join(allowed)}, but got "
                                     f"{describe(arguments)}", hint=f"e.g. {{{name}: {{{allowed[0]}: 6}}}}",
                       at=(name,))
        arguments = {"alpha": arguments}
        at: tuple = (name,)
    else:
        at = ()
    result = {}
    for key, number in arguments.items():
        place = at or (name, key)
        if key not in allowed:
            raise fail("activation", f"{name} takes only {', '.join(allowed)}, but got {describe(key)}",
                       hint=suggest(str(key), allowed), at=place)
        if not storable(number):
            raise fail("activation", f"{key} of {name} must be a finite number within float32's range (±3.4e38), "
                                     f"but got {describe(number)}", at=place)
        if key in _NON_NEGATIVE_ARGUMENTS and number < 0:
            raise fail("activation", f"{key} of {name} must be non-negative, but got {number}", at=place)
        result[key] = float(number)
    return result


def make_activation(name: str, arguments: dict[str, float]) -> Activation:
    """The canonical Activation: alpha defaults filled in; relu's defaults (0 slope and threshold) dropped."""
    if name in DEFAULT_ALPHA:
        return Activation(name, arguments.get("alpha", DEFAULT_ALPHA[name]))  # type: ignore[arg-type]
    relu = {key: value for key, value in arguments.items() if value != 0.0 or key == "max_value"}
    return Activation(name, **relu)  # type: ignore[arg-type]


def activation_value(value: Any) -> Activation:
    """``relu`` | ``{leaky_relu: 0.1}`` | ``{leaky_relu: {alpha: 0.1}}`` | ``{relu: {max_value: 6}}`` -> Activation."""
    meaning = ("an activation name (" + ", ".join(ACTIVATIONS) + ") or one with arguments, such as "
               "{relu: {max_value: 6}}")
    if isinstance(value, Expr):
        return value.deferred(activation_value, "an activation name", Activation("linear"))  # type: ignore[return-value]
    if isinstance(value, Interp):
        raise _expression_misplaced(value, meaning)
    if isinstance(value, str):
        if value in ACTIVATIONS:
            return make_activation(value, {})
        raise fail("activation", f"must be {meaning}, but got {describe(value)}",
                   hint=suggest(value, ACTIVATIONS))
    if isinstance(value, dict) and len(value) == 1:
        name, arguments = next(iter(value.items()))
        if name not in ACTIVATIONS:
            raise fail("activation", f"must be {meaning}, but got {describe(name)}",
                       hint=suggest(name, ACTIVATIONS), at=(name,))
        return make_activation(name, _activation_arguments(name, arguments))
    raise fail("activation", f"must be {meaning}, but got {describe(value)}")


def _activation_schema(name: str) -> dict:
    mapping = {"type": "object", "properties": {key: {"type": "number"} for key in ACTIVATION_ARGUMENTS[name]},
               "additionalProperties": False}
    options: list[dict] = [{"type": "null"}, mapping]
    if name in DEFAULT_ALPHA:
        options.insert(0, {"type": "number"})
    return {"anyOf": options}


ActivationValue = Annotated[Activation, PlainValidator(activation_value), WithJsonSchema({"anyOf": [
    {"enum": list(ACTIVATIONS)}, {"type": "string", "pattern": EXPRESSION_PATTERN},
    {"type": "object", "minProperties": 1, "maxProperties": 1, "properties": {
        name: _activation_schema(name) for name in ACTIVATION_ARGUMENTS},
     "additionalProperties": False}]})]


# The largest float32: a weight or activation argument past it would become inf in the model.
FLOAT32_MAX = 3.4028234663852886e38


def storable(number: Any) -> bool:
    """A real number (not a bool) that float32 holds without turning it into inf or nan."""
    return (not isinstance(number, bool) and isinstance(number, (int, float)) and math.isfinite(number)
            and abs(number) <= FLOAT32_MAX)


def constant_init(value: float) -> str:
    """The canonical name of a constant initialiser: ``constant(-2.0)``."""
    return f"constant({float(value)!r})"


def _constant(value: Any, at: tuple) -> str:
    """``{constant: -2}`` or ``{constant: {value: -2}}`` (Keras' Constant; value defaults to 0)."""
    number = value.get("value", 0.0) if isinstance(value, dict) else value
    if isinstance(value, dict) and set(value) - {"value"}:
        key = next(iter(set(value) - {"value"}))
        raise fail("initializer", f"constant takes only value, but got {describe(key)}", at=(*at, "constant", key))
    if not storable(number):
        raise fail("initializer", f"the value of constant must be a finite number within float32's range "
                                  f"(±3.4e38), but got {describe(number)}",
                   at=(*at, "constant"))
    return constant_init(number)


def _initializer(value: Any, at: tuple = ()) -> str:
    if isinstance(value, str) and value in INITIALIZERS:
        return value
    if isinstance(value, dict) and list(value) == ["constant"]:
        return _constant(value["constant"], at)
    if isinstance(value, (Expr, Interp)):
        raise fail("expression-not-allowed", f"must be an initializer name, but got {describe(value)}", at=at)
    hint = suggest(value, INITIALIZERS) if isinstance(value, str) else None
    raise fail("initializer", f"must be an initializer ({', '.join(INITIALIZERS)}, or {{constant: value}}), but got "
                              f"{describe(value)}", hint=hint, at=at)


def init_value(value: Any) -> InitSpec:
    """``he_normal`` (the kernel's) | ``{constant: 0.5}`` | ``{kernel: he_normal, bias: {constant: -2}}`` -> InitSpec."""
    if isinstance(value, dict) and list(value) != ["constant"]:
        for key in value:
            if key not in ("kernel", "bias"):
                raise fail("initializer", f"init takes kernel and bias, but got {describe(key)}",
                           hint=suggest(str(key), ("kernel", "bias")), at=(key,))
        bias = value.get("bias")
        if isinstance(bias, str) and bias in INITIALIZERS and bias not in BIAS_INITIALIZERS:
            raise fail("initializer", f"{bias} needs a kernel's fan-in and fan-out, so it cannot initialise "
                                      "a bias (a vector)", hint="use one of: " + ", ".join(BIAS_INITIALIZERS),
                       at=("bias",))
        return InitSpec(*(None if value.get(part) is None else _initializer(value[part], (part,))
                          for part in ("kernel", "bias")))
    return InitSpec(kernel=_initializer(value))


_CONSTANT_SCHEMA = {"type": "object", "properties": {"constant": {"anyOf": [
    {"type": "number"}, {"type": "object", "properties": {"value": {"type": "number"}}, "additionalProperties": False}]}},
    "required": ["constant"], "additionalProperties": False}
_ONE_INIT_SCHEMA = {"anyOf": [{"enum": list(INITIALIZERS)}, _CONSTANT_SCHEMA]}
InitValue = Annotated[InitSpec, PlainValidator(init_value), WithJsonSchema({"anyOf": [
    _ONE_INIT_SCHEMA,
    {"type": "object", "properties": {"kernel": _ONE_INIT_SCHEMA,
                                       "bias": {"anyOf": [{"enum": list(BIAS_INITIALIZERS)}, _CONSTANT_SCHEMA]}},
     "additionalProperties": False}]})]


# --- names and references ------------------------------------------------------------------------


def _name(value: Any) -> str | Interp | Expr:
    if isinstance(value, (Interp, Expr)):
        return value
    if isinstance(value, str) and NAME_PATTERN.match(value) and len(value) <= 100:
        return value
    raise fail("name", f"must be a name (a letter or '_', then letters, digits, '_', '-' or '.'), but got "
                       f"{describe(value)}", hint="'/' separates scopes in layer names and cannot be used"
               if isinstance(value, str) and "/" in value else None)


def _reference(value: Any) -> str | Interp | Expr:
    if isinstance(value, (Interp, Expr)):
        return value
    if isinstance(value, str) and REFERENCE_PATTERN.match(value) and len(value) <= 400:
        return value
    raise fail("reference", f"must be the name of an earlier layer, but got {describe(value)}")


def _references(value: Any) -> tuple:
    if isinstance(value, list):
        return _list_of(_reference, value, "a layer name or a list of layer names")
    return (_reference(value),)


Name = Annotated[str, PlainValidator(_name), WithJsonSchema(
    {"type": "string", "pattern": r"^([A-Za-z_][A-Za-z0-9_.\-]*|.*\$\{[^}]*\}.*)$"})]
def _allowed_warning(value: Any) -> str:
    if isinstance(value, str) and value in WARNING_CODES:
        return value
    hint = suggest(value, WARNING_CODES) if isinstance(value, str) else None
    raise fail("allow", f"must be a warning code ({', '.join(WARNING_CODES)}), but got {describe(value)}",
               hint=hint or "allow: names warnings this item is expected to give; errors cannot be allowed")


def _allowed_warnings(value: Any) -> frozenset:
    if isinstance(value, list):
        return frozenset(_list_of(_allowed_warning, value, "a warning code or a list of them"))
    return frozenset((_allowed_warning(value),))


AllowedWarnings = Annotated[frozenset, PlainValidator(_allowed_warnings), WithJsonSchema(
    {"anyOf": [{"enum": list(WARNING_CODES)}, {"type": "array", "items": {"enum": list(WARNING_CODES)}}]})]
References = Annotated[tuple, PlainValidator(_references), WithJsonSchema(
    {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}]})]


def _shape(value: Any) -> tuple[int, ...]:
    meaning = "a list of 1 to 4 positive integers, e.g. [28, 28, 1] (channels last)"
    if not isinstance(value, list) or not 1 <= len(value) <= 4:
        raise fail("shape", f"must be {meaning}, but got {describe(value)}")
    checked = []
    for index, item in enumerate(value):
        if isinstance(item, bool) or not isinstance(item, int) or not 1 <= item <= MAX_SIZE:
            raise fail("shape", f"must be a positive integer, but got {describe(item)}", at=(index,))
        checked.append(item)
    return tuple(checked)


Shape = Annotated[tuple, PlainValidator(_shape), WithJsonSchema(
    {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 1, "maxItems": 4})]
