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

ACTIVATIONS = ("relu", "leaky_relu", "elu", "gelu", "sigmoid", "tanh", "swish", "softmax", "linear")
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

    def bounded(self, minimum: int | None, maximum: int | None, meaning: str) -> Expr:
        return replace(self, minimum=minimum, maximum=maximum, meaning=meaning)

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
                hint="${...} is integer arithmetic: it can stand for integers and inside names only")


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


def integer_type(minimum: int | None, maximum: int | None, meaning: str) -> Any:
    return Annotated[int, PlainValidator(_integer(minimum, maximum, meaning)),
                     WithJsonSchema(_integer_schema(minimum, maximum))]


POSITIVE = f"a positive integer (at most {MAX_SIZE:,})"
Size = integer_type(1, MAX_SIZE, POSITIVE)
Times = integer_type(1, MAX_TIMES, f"a positive integer (at most {MAX_TIMES})")
ParamValue = integer_type(-(10**15), 10**15, "an integer")

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
    meaning = _PADDING_MEANING if words else "an integer, a per-axis list or a list of [low, high] pairs"

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


# --- numbers, flags, choices -------------------------------------------------------------------


def number_type(minimum: float | None, maximum: float | None, *, open_low: bool = False,
                open_high: bool = False, meaning: str) -> Any:
    def check(value: Any) -> float:
        if isinstance(value, (Expr, Interp)):
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
    return Annotated[float, PlainValidator(check), WithJsonSchema(schema)]


Fraction = number_type(0, 1, open_high=True, meaning="a number in [0, 1)")
PositiveNumber = number_type(0, None, open_low=True, meaning="a positive number")
NonNegativeNumber = number_type(0, None, meaning="a non-negative number")


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (Expr, Interp)):
        raise _expression_misplaced(value, "true or false")
    hint = None
    if isinstance(value, str) and value.lower() in ("yes", "no", "on", "off", "y", "n"):
        hint = "write true or false: netspec reads yes/no/on/off as text, not booleans"
    raise fail("boolean", f"must be true or false, but got {describe(value)}", hint=hint)


Flag = Annotated[bool, PlainValidator(_flag), WithJsonSchema({"type": "boolean"})]


def choice_type(*words: str) -> Any:
    meaning = "one of " + ", ".join(words)

    def check(value: Any) -> str:
        if isinstance(value, str) and value in words:
            return value
        if isinstance(value, (Expr, Interp)):
            raise _expression_misplaced(value, meaning)
        hint = suggest(value, words) if isinstance(value, str) else None
        raise fail("choice", f"must be {meaning}, but got {describe(value)}", hint=hint)

    return Annotated[str, PlainValidator(check), WithJsonSchema({"enum": list(words)})]


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (Expr, Interp)):
        return str(value)  # free text: ${...} means nothing here
    raise fail("text", f"must be text, but got {describe(value)}")


Text = Annotated[str, PlainValidator(_text), WithJsonSchema({"type": "string"})]


# --- activations and initialisers ---------------------------------------------------------------


def activation_value(value: Any) -> Activation:
    """``relu`` | ``{leaky_relu: 0.1}`` | ``{leaky_relu: {alpha: 0.1}}`` -> Activation."""
    meaning = "an activation name (" + ", ".join(ACTIVATIONS) + ") or {leaky_relu: {alpha: ...}}"
    if isinstance(value, (Expr, Interp)):
        raise _expression_misplaced(value, meaning)
    if isinstance(value, str):
        if value in ACTIVATIONS:
            return Activation(value, DEFAULT_ALPHA.get(value))  # type: ignore[arg-type]
        raise fail("activation", f"must be {meaning}, but got {describe(value)}",
                   hint=suggest(value, ACTIVATIONS))
    if isinstance(value, dict) and len(value) == 1:
        name, arguments = next(iter(value.items()))
        if name not in ACTIVATIONS:
            raise fail("activation", f"must be {meaning}, but got {describe(name)}",
                       hint=suggest(name, ACTIVATIONS), at=(name,))
        if name not in DEFAULT_ALPHA:
            if arguments not in (None, {}):
                raise fail("activation", f"{name} takes no arguments, but got {describe(arguments)}",
                           at=(name,))
            return Activation(name)
        if isinstance(arguments, dict):
            unknown = [key for key in arguments if key != "alpha"]
            if unknown:
                raise fail("activation", f"{name} takes only alpha, but got {describe(unknown[0])}",
                           hint=suggest(str(unknown[0]), ["alpha"]), at=(name, unknown[0]))
            arguments = arguments.get("alpha", DEFAULT_ALPHA[name])
            at: tuple = (name, "alpha")
        else:
            arguments = DEFAULT_ALPHA[name] if arguments is None else arguments
            at = (name,)
        if isinstance(arguments, bool) or not isinstance(arguments, (int, float)) or not math.isfinite(arguments):
            raise fail("activation", f"alpha of {name} must be a finite number, but got {describe(arguments)}",
                       at=at)
        return Activation(name, float(arguments))
    raise fail("activation", f"must be {meaning}, but got {describe(value)}")


ActivationValue = Annotated[Activation, PlainValidator(activation_value), WithJsonSchema({"anyOf": [
    {"enum": list(ACTIVATIONS)},
    {"type": "object", "minProperties": 1, "maxProperties": 1, "properties": {
        name: {"anyOf": [{"type": "number"}, {"type": "null"}, {"type": "object", "properties": {
            "alpha": {"type": "number"}}, "additionalProperties": False}]} for name in DEFAULT_ALPHA},
     "additionalProperties": False}]})]


def _initializer(value: Any, at: tuple = ()) -> str:
    if isinstance(value, str) and value in INITIALIZERS:
        return value
    if isinstance(value, (Expr, Interp)):
        raise fail("expression-not-allowed", f"must be an initializer name, but got {describe(value)}", at=at)
    hint = suggest(value, INITIALIZERS) if isinstance(value, str) else None
    raise fail("initializer", f"must be an initializer ({', '.join(INITIALIZERS)}), but got "
                              f"{describe(value)}", hint=hint, at=at)


def init_value(value: Any) -> InitSpec:
    """``he_normal`` (the kernel's) | ``{kernel: he_normal, bias: zeros}`` -> InitSpec."""
    if isinstance(value, dict):
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


InitValue = Annotated[InitSpec, PlainValidator(init_value), WithJsonSchema({"anyOf": [
    {"enum": list(INITIALIZERS)},
    {"type": "object", "properties": {"kernel": {"enum": list(INITIALIZERS)},
                                       "bias": {"enum": list(BIAS_INITIALIZERS)}},
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
