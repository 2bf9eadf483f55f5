"""The pydantic schema of the whole spec language (DESIGN.md §2), and validation.

An item of a layer list is a bare word (``- relu``) or a one-key mapping
(``- conv: {K: 6, F: 5}``). A callable discriminator picks the model from
that key, so a bad conv reports one error for conv rather than one per
union member; a key that is no built-in kind is a template call, checked
against the templates in ``blocks:`` (passed as validation context).

:func:`validate` runs on a :class:`~netspec.spec.source.SourceDoc`: first the
``${...}`` strings under ``layers:`` and ``blocks:`` become
:class:`~netspec.spec.values.Expr` / :class:`~netspec.spec.values.Interp`
values (syntax and unknown names reported at their column), then pydantic
validates everything at once and every error becomes a diagnostic at its
YAML position (:mod:`netspec.spec.errors`).

>>> from netspec.spec.source import load_yaml
>>> doc, _ = load_yaml("input: [28, 28, 1]\\nlayers: [conv: {K: 6, F: 5}, relu]\\n", "x.yaml")
>>> spec, problems = validate(doc)
>>> [item.KIND for item in spec.layers], problems
(['conv', 'relu'], [])
"""

from __future__ import annotations

import copy
from functools import lru_cache
from typing import Annotated, Any, ClassVar, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PlainValidator,
    Tag,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from netspec.diagnostics import Diagnostic, Span, error, position
from netspec.spec.base import BaseNetwork
from netspec.spec.budget import Budget
from netspec.spec.errors import convert_errors
from netspec.spec.layers import CONV_ALIASES, LAYER_ARGS, LayerArgs
from netspec.spec.prepass import IDENTIFIER, check_template_names, substitute_expressions, template_params
from netspec.spec.scales import Scale
from netspec.spec.source import SourceDoc
from netspec.spec.train import TrainSpec
from netspec.spec.values import (
    PARAM_MEANING,
    ActivationValue,
    Dilations,
    Expr,
    Flag,
    InitValue,
    Interp,
    Name,
    ParamValue,
    References,
    Shape,
    Size,
    Text,
    Times,
    choice_type,
    describe,
    fail,
    param_fits,
    param_kind,
    param_value,
    suggest,
)

BLOCK_KINDS = ("residual", "inception", "causal", "repeat")
# Layers people reach for that netspec does not have yet, with what to do meanwhile;
# without this a near-miss suggestion such as "did you mean 'repeat'?" for reshape would mislead.
NOT_YET_SUPPORTED = {
    "cropping": "zero_pad adds rows and columns; cropping them away is not supported yet",
    "lstm": "netspec builds feed-forward networks; for sequences use causal: (dilated 1-D convolutions)",
    "gru": "netspec builds feed-forward networks; for sequences use causal: (dilated 1-D convolutions)",
    "embedding": "no embedding layer exists yet; one-hot inputs with a dense layer are equivalent",
}
RESERVED_PARAMS = ("name", "from")


# --- blocks ------------------------------------------------------------------------------


def _identifier(value: Any) -> str:
    if isinstance(value, str) and IDENTIFIER.match(value):
        return value
    raise fail("identifier", f"must be a name for ${{...}} (a letter or '_', then letters, digits or '_'), "
                             f"but got {describe(value)}")


Identifier = Annotated[str, PlainValidator(_identifier), WithJsonSchema({"type": "string",
                                                                        "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"})]


class ResidualArgs(LayerArgs):
    """``out = activation(body(x) + shortcut(x))``."""

    KIND = "residual"
    EXAMPLE = "{body: [conv: {K: 64, F: 3, P: same}], shortcut: auto}"

    body: ItemList = Field(description="the layers of the residual branch")
    shortcut: Shortcut | None = Field(None, description="auto (default: identity when shapes match, else "
                                                         "a 1x1 conv with the body's stride, plus batchnorm "
                                                         "if the body has one), identity, projection, or a "
                                                         "list of layers")
    activation: ActivationValue | None = Field(None, description="applied after the addition")


class InceptionArgs(LayerArgs):
    """Parallel branches on one input, depth-concatenated."""

    KIND = "inception"
    EXAMPLE = "{branches: [[conv: {K: 64, F: 1}], [pool: {F: 3, S: 1, P: same}]]}"

    branches: Annotated[list[Branch], Field(min_length=1)] = Field(description="lists of layers, one per "
                                                                               "branch; [] is the identity "
                                                                               "(the block's input itself)")
    pad: choice_type("error", "zero") | None = Field(  # type: ignore[valid-type]
        None, description="zero: zero-pad smaller maps to the largest (DepthConcat); error (default)")


class CausalArgs(LayerArgs):
    """Stacked causal 1-D convolutions, one per dilation rate (WaveNet / TCN)."""

    KIND = "causal"
    EXAMPLE = "{K: 32, F: 2, dilations: [1, 2, 4, 8]}"
    ALIASES = {key: value for key, value in CONV_ALIASES.items() if value in ("K", "F")}

    K: Size = Field(description="filters of every convolution; alias filters")
    F: Size = Field(description="kernel size (time steps); aliases size, kernel_size")
    dilations: Dilations | None = Field(None, description="dilation rate of each convolution (default [1])")
    activation: ActivationValue | None = None
    bias: Flag | None = Field(None, description="convolutions add a bias (default true)")
    init: InitValue | None = None
    batchnorm: Flag | None = Field(None, description="a batchnorm after each convolution, before its "
                                                     "activation (default false)")
    residual: Flag | None = Field(None, description="add each convolution's input to its output (a 1x1 "
                                                    "conv matches the channels when they differ; default "
                                                    "false)")


class RepeatArgs(LayerArgs):
    """The same layers ``times`` times in sequence (in one scope; names inside must stay unique)."""

    KIND = "repeat"
    EXAMPLE = "{times: 3, layers: [conv: {K: 64, F: 3, P: same}]}"

    times: Times = Field(description="how many copies (1 to 1000)")
    layers: ItemList = Field(description="the layers to repeat")
    index: Identifier | None = Field(None, description="the name under which ${...} in the layers sees the "
                                                       "0-based copy number (default i)")


BLOCK_ARGS: dict[str, type[LayerArgs]] = {model.KIND: model for model in (
    ResidualArgs, InceptionArgs, CausalArgs, RepeatArgs)}


# --- items -----------------------------------------------------------------------------------------


class Item(BaseModel):
    """One entry of a layer list: ``KIND`` names the layer; the field of that name holds its args."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True)
    KIND: ClassVar[str] = ""

    @model_validator(mode="before")
    @classmethod
    def _bare_word(cls, data: Any) -> Any:
        return {data: None} if isinstance(data, str) else data

    @property
    def args(self) -> LayerArgs:
        return getattr(self, self.KIND)


def _item_json_schema(schema: dict[str, Any], model: type[Item]) -> None:
    """Let editors accept the bare word and the shorthand scalar as well."""
    arguments = schema["properties"][model.KIND]
    model_args = ALL_ARGS[model.KIND]
    forms = [arguments]
    if not any(field.is_required() for field in model_args.model_fields.values()):
        forms.append({"type": "null"})
    if model_args.SHORTHAND is not None:
        forms.append({"not": {"type": ["object", "null"]}})
    schema["properties"][model.KIND] = {"anyOf": forms}


def _item_model(kind: str, args: type[LayerArgs]) -> type[Item]:
    title = "".join(part.title() for part in kind.split("_")) + "Item"
    return type(title, (Item,), {
        "__annotations__": {kind: args}, "KIND": kind, "__module__": __name__,
        "__doc__": args.__doc__ or f"A {kind} layer.",
        "model_config": ConfigDict(extra="forbid", strict=True, frozen=True,
                                   json_schema_extra=_item_json_schema, defer_build=True)})


class TemplateCall(BaseModel):
    """An instance of a template from ``blocks:`` (``- bottleneck: {K: 64}``).

    Validated against the template's ``params`` (from the validation
    context): unknown parameters and missing values are errors here.
    """

    model_config = ConfigDict(frozen=True, defer_build=True)
    KIND: ClassVar[str] = "template"

    template: str
    arguments: dict[str, Any]
    name: Any = None
    from_: Any = None

    @model_validator(mode="before")
    @classmethod
    def _check(cls, data: Any, info: ValidationInfo) -> Any:
        if isinstance(data, str):
            data = {data: None}
        kind, raw = next(iter(data.items()))
        templates: dict[str, dict[str, int | None]] = (info.context or {}).get("templates", {})
        if kind not in templates and kind in NOT_YET_SUPPORTED:
            raise fail("unknown-layer", f"layer '{kind}' is not supported yet", at=(kind,),
                       hint=NOT_YET_SUPPORTED[kind])
        if kind not in templates:
            known = f" (templates: {', '.join(templates)})" if templates else ""
            raise fail("unknown-layer", f"unknown layer '{kind}'", at=(kind,),
                       hint=suggest(kind, list(ITEM_KINDS) + list(templates)) or
                       f"'{kind}' is neither a built-in layer nor a template in blocks:{known}")
        params = templates[kind]
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            raise fail("arguments", f"template '{kind}' takes a mapping of parameters such as "
                                    f"{{{next(iter(params), 'K')}: 64}}, but got {describe(raw)}", at=(kind,))
        arguments: dict[str, Any] = {}
        result = {"template": kind, "arguments": arguments}
        for key, value in raw.items():
            check = _TEMPLATE_EXTRAS.get(key)
            if check is None and key not in params:
                known = ", ".join(params) or "none"
                raise fail("unknown-parameter", f"template '{kind}' has no parameter '{key}'", at=(kind, key),
                           hint=suggest(key, list(params) + list(_TEMPLATE_EXTRAS)) or
                           f"its parameters are: {known}")
            try:
                checked = (check or _param_value)(value)
            except PydanticCustomError as problem:
                raise fail(problem.type, problem.message(), at=(kind, key)) from None
            if check is None:
                default = params.get(key)
                if not isinstance(checked, (Expr, Interp)) and not param_fits(default, checked):
                    raise fail("param-type", f"parameter '{key}' of template '{kind}' is {param_kind(default)} "
                                             f"(its default is {describe(default)}), but got {describe(checked)}",
                               at=(kind, key))
                arguments[key] = checked
            else:
                result["from_" if key == "from" else key] = checked
        missing = [param for param, default in params.items() if default is None and param not in arguments]
        if missing:
            raise fail("missing-parameter", f"template '{kind}' needs a value for {', '.join(missing)} "
                                            f"(no default in its params:)", at=(kind,),
                       hint=f"write {kind}: {{{missing[0]}: ...}}")
        return result


def _validator_of(annotated: Any):
    return annotated.__metadata__[0].func


_param_value = _validator_of(ParamValue)
_TEMPLATE_EXTRAS = {"name": _validator_of(Name), "from": _validator_of(References)}


class Malformed(BaseModel):
    """Anything that is neither a word nor a one-key mapping; always an error."""

    @model_validator(mode="before")
    @classmethod
    def _explain(cls, data: Any) -> Any:
        example = "a layer name or a one-key mapping such as conv: {K: 64, F: 3}"
        if not isinstance(data, dict):
            raise fail("malformed-item", f"an item must be {example}, but got {describe(data)}")
        if not data:
            raise fail("malformed-item", f"an item must be {example}, but got an empty mapping")
        keys = list(data)
        kinds = [key for key in keys if key in ITEM_KINDS]
        hint = None
        if len(kinds) == 1 and data[kinds[0]] is None:
            others = ", ".join(key for key in keys if key != kinds[0])
            hint = (f"indent {others} further than {kinds[0]}, so they are its arguments "
                    f"(or write {kinds[0]}: {{...}} on one line)")
        elif "name" in keys or "from" in keys:
            hint = "name: and from: go inside the layer's arguments: conv: {K: 64, F: 3, name: conv1}"
        raise fail("malformed-item", f"an item has one key, the layer kind, but this one has {len(keys)}: "
                                     f"{', '.join(map(str, keys))}", hint=hint)


def _item_tag(value: Any) -> str:
    if isinstance(value, BaseModel):
        return getattr(value, "KIND", "malformed")
    if isinstance(value, str):
        return value if value in ITEM_KINDS else "template"
    if isinstance(value, dict) and len(value) == 1:
        key = next(iter(value))
        return key if key in ITEM_KINDS else "template"
    return "malformed"


ALL_ARGS: dict[str, type[LayerArgs]] = {**LAYER_ARGS, **BLOCK_ARGS}
ITEM_MODELS: dict[str, type[Item]] = {kind: _item_model(kind, args) for kind, args in ALL_ARGS.items()}
ITEM_KINDS = tuple(ITEM_MODELS)

_OPTIONS = [Annotated[TemplateCall, Tag("template")], Annotated[Malformed, Tag("malformed")]] + [
    Annotated[model, Tag(kind)] for kind, model in ITEM_MODELS.items()]
AnyItem = Annotated[Union[tuple(_OPTIONS)], Discriminator(_item_tag)]  # noqa: UP007
ItemList = Annotated[list[AnyItem], Field(min_length=1)]  # type: ignore[valid-type]

Branch = Annotated[list[AnyItem], Field(min_length=0)]  # type: ignore[valid-type]  # [] is the identity
_SHORTCUT_WORDS = choice_type("auto", "identity", "projection")
Shortcut = Annotated[
    Annotated[_SHORTCUT_WORDS, Tag("shortcut:word")] | Annotated[ItemList, Tag("shortcut:layers")],  # type: ignore[valid-type]
    Discriminator(lambda value: "shortcut:layers" if isinstance(value, list) else "shortcut:word")]

# Models build their validators on first use (defer_build): one schema build for the whole
# language when the first spec is validated, instead of one per model at import.


# --- templates and the whole spec -------------------------------------------------------------------


def _param_default(value: Any) -> Any:
    if value is None or (isinstance(value, (int, float, str)) and "${" not in str(value)):
        return None if value is None else param_value(value)
    raise fail("param-default", f"must be a default value ({PARAM_MEANING}), or null for a required "
                                f"parameter, but got {describe(value)}")


class Template(BaseModel):
    """A reusable block: layers parameterised by ``params`` (integers, numbers, booleans or strings)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True)

    params: dict[str, Any] = Field(default_factory=dict, description="parameter names with defaults: an "
                                                                     "integer, number, boolean or string, "
                                                                     "whose type the parameter takes "
                                                                     "(null: required, any type)")
    layers: ItemList = Field(description="the template's layers; ${...} computes values from params")
    description: Text | None = None

    @field_validator("params", mode="before")
    @classmethod
    def _check_params(cls, params: Any) -> Any:
        for key, value in params.items() if isinstance(params, dict) else ():
            if not IDENTIFIER.match(key) or key in RESERVED_PARAMS:
                raise fail("param-name", f"'{key}' cannot be a parameter name", at=(key,),
                           hint="use a letter or '_' then letters, digits or '_'; name and from are reserved")
            try:
                _param_default(value)
            except PydanticCustomError as problem:
                raise fail(problem.type, problem.message(), at=(key,)) from None
        return params


class Spec(BaseModel):
    """A network: its input, its layers, optional templates and training setup."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, title="netspec network",
                              defer_build=True)

    name: Name | None = Field(None, description="the network's name (default: the file name)")
    description: Text | None = Field(None, description="free text")
    reference: Text | None = Field(None, description="the published model this spec reproduces")
    input: Shape = Field(description="input shape without the batch axis, channels last: [H, W, C] images, "
                                     "[T, C] sequences, [D, H, W, C] volumes, [N] vectors")
    layers: ItemList = Field(description="the layers, in order")
    blocks: dict[str, Template] = Field(default_factory=dict, description="templates: name -> {params, "
                                                                          "layers}")
    output: References | None = Field(None, description="name of the output layer (default: the last)")
    init: InitValue | None = Field(None, description="network-wide default initialisers, e.g. "
                                                     "{kernel: he_normal, bias: zeros}")
    train: TrainSpec | None = Field(None, description="how to train it (loss, optimizer, schedule, ...)")
    budget: Budget | None = Field(None, description="limits netspec check enforces: max_params, max_macs, "
                                                    "max_train_memory, ... (docs/analysis.md)")
    scales: dict[str, Scale] | None = Field(None, description="named scales chosen with --scale: "
                                                              "{name: {width, depth, resolution, ...}}")
    base: BaseNetwork | None = Field(None, description="a base network: {spec: FILE, up_to: LAYER, weights: "
                                                       "FILE | imagenet}; layers: continue from up_to")
    preprocess: Literal["caffe", "tf", "torch", "none"] | None = Field(
        None, description="the input contract of pretrained weights, applied in-graph to RGB images in [0, 1] "
                          "(netspec's data scale): caffe (x255, RGB->BGR, minus ImageNet mean), tf (to [-1, 1]), "
                          "torch (ImageNet mean/std)")


# --- validation -------------------------------------------------------------------------------------


def validate(doc: SourceDoc) -> tuple[Spec | None, list[Diagnostic]]:
    """Validate a loaded document; ``(None, errors)`` unless it is a valid spec.

    Reports every error found, each at its YAML position.
    """
    if not isinstance(doc.data, dict):
        found = "is empty" if doc.data is None else f"holds {describe(doc.data)}"
        span = doc.span(()) or Span(doc.path, 1, 1)
        return None, [error("not-a-spec", f"a spec is a mapping with input: and layers:, but this file {found}",
                            span,
                            hint="start from: input: [28, 28, 1] / layers: [conv: {K: 6, F: 5}, ...]")]
    data, diagnostics = substitute_expressions(doc)
    diagnostics += check_template_names(doc, data, ITEM_KINDS)
    context = {"templates": template_params(data)}
    try:
        spec = Spec.model_validate(data, context=context)
    except ValidationError as problem:
        diagnostics += convert_errors(problem.errors(include_url=False), doc, data, _schema)
        return None, sorted(diagnostics, key=position)
    return (None if diagnostics else spec), sorted(diagnostics, key=position)


@lru_cache(maxsize=1)
def _schema() -> dict:
    schema = Spec.model_json_schema(by_alias=True)
    definitions = schema.get("$defs", {})
    definitions.pop("Malformed", None)
    bare = sorted(kind for kind, args in ALL_ARGS.items()
                  if not any(field.is_required() for field in args.model_fields.values()))

    def rewrite(node: Any) -> Any:
        if isinstance(node, dict):
            if "oneOf" in node and any(option.get("$ref", "").endswith("Item") for option in node["oneOf"]):
                options = [option for option in node["oneOf"] if option.get("$ref") != "#/$defs/Malformed"]
                return {"anyOf": [{"enum": bare}, {"type": "string", "description": "a template with "
                                                   "every parameter defaulted"}] + options}
            return {key: rewrite(value) for key, value in node.items()}
        if isinstance(node, list):
            return [rewrite(value) for value in node]
        return node

    schema = rewrite(schema)
    schema["$defs"]["TemplateCall"] = {
        "type": "object", "minProperties": 1, "maxProperties": 1, "description": TemplateCall.__doc__.split(
            "\n")[0], "additionalProperties": {"anyOf": [{"type": "object"}, {"type": "null"}]}}
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def spec_json_schema() -> dict:
    """The JSON Schema of the spec language, for editors (``netspec schema``)."""
    return copy.deepcopy(_schema())
