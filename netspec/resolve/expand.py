"""Resolution: a validated spec -> the IR (a DAG of primitive layers).

Templates are instantiated with their ``${...}`` parameters, repeats
unrolled, and blocks expanded into primitive nodes:

* ``inception``: one branch scope per branch, then a ``concat``;
* ``residual``: the body, a shortcut (identity, projection, or layers), an
  ``add`` and the activation. ``shortcut: auto`` is identity when the body
  keeps the input's shape, else a projection: a 1x1 conv with the body's
  output channels and total stride (no bias if the body's convs have none),
  followed by a copy of the body's batchnorm if it has one. Resolution knows
  no shapes: it builds the projection and leaves the choice to ``infer``
  (a :class:`~netspec.ir.PendingShortcut`), which makes it at the add;
* ``causal``: conv nodes with ``padding="causal"`` and the given dilations
  (``residual: true``: the first add's shortcut is pending the same way).

Names: a layer keeps its ``name:``; otherwise it is named like Keras, per
scope: ``conv2d_1``, ``max_pool2d_1``, ``dense_1``, ``relu_1``. Every block
(a template instance, residual, inception, causal, repeat) is a scope named
the same way (``bottleneck_2``), and the names of the nodes inside are
prefixed by the scope path (``bottleneck_2/residual_1/conv2d_1``). A repeat
is one scope: its iterations continue its numbering. ``from:`` looks a name
up in the current scope first, then outwards.

Conv-like layers need their input's rank; resolve tracks ranks (not shapes)
and reports a conv after ``flatten`` itself (at the conv), since it cannot
build the layer's per-axis attrs otherwise. All shape problems are ``infer``'s.

>>> from netspec.pipeline import resolve_text
>>> graph, problems = resolve_text("input: [28, 28, 1]\\nlayers: [conv: {K: 6, F: 5}, flatten]\\n", "x.yaml")
>>> [(node.name, node.op) for node in graph.nodes]
[('input', 'input'), ('conv2d_1', 'conv'), ('flatten_1', 'flatten')]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import PurePath
from typing import Any, TypedDict

from netspec.diagnostics import Diagnostic, NetspecError, Span, did_you_mean, position
from netspec.ir import (
    SHORTCUTS,
    Activation,
    ActivationAttrs,
    AddAttrs,
    Attrs,
    BatchNormAttrs,
    ConcatAttrs,
    ConvAttrs,
    GlobalPoolAttrs,
    Graph,
    InputAttrs,
    Node,
    PendingShortcut,
    ReshapeAttrs,
    Scope,
)
from netspec.ops import OPS, has
from netspec.resolve.compose import expand_base
from netspec.resolve.lower import (
    LAYOUTS,
    Values,
    auto_base,
    deferred_fields,
    lower_preprocess,
    primitive,
    text_of,
)
from netspec.resolve.reach import split_unused, unused_warning
from netspec.resolve.scaling import (
    Scaling,
    scale_attrs,
    scale_filters,
    scale_input,
    scale_times,
    select_scale,
)
from netspec.spec.budget import spec_limits
from netspec.spec.network import Item, Spec, TemplateCall
from netspec.spec.prepass import REPEAT_INDEX
from netspec.spec.source import Path, SourceDoc
from netspec.spec.values import NAME_PATTERN, describe, param_fits, param_kind

MAX_NODES = 20_000
TEMPLATE_INPUT = "in"  # inside a template, the name of the instance's own input


def resolve_spec(spec: Spec, doc: SourceDoc, scale: str | None = None, *,
                 load_base: Callable[[str], Graph]) -> tuple[Graph | None, list[Diagnostic]]:
    """A validated spec -> (Graph, diagnostics); None when resolution found errors.
    ``load_base`` loads a ``base:`` spec file into a shape-checked graph (the pipeline's
    stages, which come after resolution: :mod:`netspec.resolve.compose` receives them)."""
    chosen, problems = select_scale(spec, doc, scale)
    if problems:
        return None, problems
    graph, found = _Resolver(spec, doc, chosen, load_base).run()
    if graph is not None:
        graph.meta["scale_name"] = scale if chosen is not None else None
    return graph, found


class _TooLarge(Exception):
    pass


@dataclass(frozen=True)
class _Context:
    """Where expansion is: the scope path (and its ``prefix`` string), the
    template parameters in effect, the templates being instantiated (to catch
    recursion) and a note naming the instance for diagnostics."""

    scope: tuple[Scope, ...] = ()
    env: tuple[tuple[str, int], ...] = ()
    templates: tuple[str, ...] = ()
    note: str | None = None
    prefix: str = ""
    allow: frozenset[str] = frozenset()  # warning codes allowed by enclosing blocks

    def full(self, local: str) -> str:
        return f"{self.prefix}/{local}" if self.prefix else local

    def enter(self, scope: Scope, **changes) -> _Context:
        return replace(self, scope=self.scope + (scope,), prefix=self.full(scope.name), **changes)


@dataclass
class _Pending:
    """A ``from:`` name not found when its item was expanded."""

    name: str
    context: _Context
    span: Span | None


class _Resolver:
    def __init__(self, spec: Spec, doc: SourceDoc, scale: Scaling | None, load_base: Callable[[str], Graph]):
        self.spec, self.doc, self.scale, self.load_base = spec, doc, scale, load_base
        self.scaled = scale.functions() if scale is not None else None  # filters() and repeats() in ${...}
        self.nodes: list[Node] = []
        self.ranks: dict[str, int] = {}
        self.shortcuts: dict[str, PendingShortcut] = {}  # add node -> its shortcut, for infer to settle
        self.outputs: dict[str, str] = {}  # node or block name -> the node holding its output
        self.declared: dict[str, Span | None] = {}
        self.counters: dict[tuple[str, str], int] = {}
        self.pending: list[_Pending] = []
        self.diagnostics: list[Diagnostic] = []
        self.reported: set[tuple] = set()
        self.base_info: dict[str, Any] | None = None  # what ``base:`` added (netspec.resolve.compose)
        self.blocks = {"repeat": self.block_repeat, "inception": self.block_inception,
                       "residual": self.block_residual, "causal": self.block_causal}

    # --- reporting -----------------------------------------------------------------------------

    def report(self, diagnostic: Diagnostic) -> None:
        key = (diagnostic.code, diagnostic.message, str(diagnostic.span))
        if key not in self.reported:  # a template used twice fails twice at the same place
            self.reported.add(key)
            self.diagnostics.append(diagnostic)

    def error(self, code: str, message: str, span: Span | None, context: _Context, hint: str | None = None,
              notes: tuple[str, ...] = ()) -> None:
        notes = notes + ((context.note,) if context.note else ())
        self.report(Diagnostic("error", code, message, span, hint, notes))

    def values(self, context: _Context) -> Values:
        return Values(self.doc, dict(context.env), self.report, context.note, self.scaled)

    def item_span(self, path: Path, kind: str) -> Span | None:
        """An item's position: its kind word (``conv`` in ``- conv: {...}``)."""
        return self.doc.keys.get(path + (kind,)) or self.doc.span(path)

    # --- the run --------------------------------------------------------------------------------------

    def run(self) -> tuple[Graph | None, list[Diagnostic]]:
        spec = self.spec
        input_span = self.doc.span(("input",))
        input_shape = scale_input(tuple(spec.input), self.scale)
        self.add_node("input", "input", InputAttrs(input_shape), (), input_span, _Context())
        first = "input"
        if spec.preprocess not in (None, "none"):  # the weights' input contract, part of the graph
            op, attrs = lower_preprocess(spec.preprocess)
            first = self.add_node("preprocess", op, attrs, ("input",), self.doc.span(("preprocess",)), _Context())
        if spec.base is not None:  # another spec's layers, then ours (netspec.resolve.compose)
            head_input = expand_base(self, spec.base, first, own_preprocess=spec.preprocess is not None,
                                     context=_Context(), load=self.load_base)
            if head_input is None:
                return None, sorted(self.diagnostics, key=position)
            first = head_input
        try:
            last = self.expand_list(spec.layers, ("layers",), _Context(), first)
        except _TooLarge:
            return None, self.diagnostics
        self.report_pending()
        output = last
        if spec.output is not None:
            output = self.output_node(spec.output) or last
        nodes, unused = split_unused(self.nodes, output)
        if not any(diagnostic.is_error for diagnostic in self.diagnostics):  # else from: may be guesses
            self.diagnostics.extend(found for depth, group in unused
                                    if (found := unused_warning(depth, group, output)) is not None)
        name = spec.name if isinstance(spec.name, str) else _default_name(self.doc.path)
        graph = Graph(name=name, input_shape=input_shape, nodes=tuple(nodes), output=output,
                      source_path=self.doc.path, description=spec.description, reference=spec.reference,
                      train=spec.train)
        graph.meta.update(budget=spec_limits(spec.budget, self.doc),
                          scale=self.scale.scale if self.scale is not None else None)
        kept = {node.name for node in nodes}
        graph.meta[SHORTCUTS] = {add: pending for add, pending in self.shortcuts.items() if add in kept}
        if self.base_info is not None:
            graph.meta["base"] = self.base_info
        self.check_freeze(graph)
        self.diagnostics.sort(key=position)
        if any(diagnostic.is_error for diagnostic in self.diagnostics):
            return None, self.diagnostics
        return graph, self.diagnostics

    def check_freeze(self, graph: Graph) -> None:
        """train: freeze: must name layers of this network (known only once it is expanded)."""
        freeze = getattr(graph.train, "freeze", None)
        if freeze is None:
            return
        from netspec.resolve.select import frozen_layers

        try:
            frozen_layers(graph, freeze)
        except NetspecError as exc:
            at = self.doc.key_span(("train", "freeze"))
            self.diagnostics.extend(replace(d, span=d.span or at) for d in exc.diagnostics)

    def output_node(self, references: tuple) -> str | None:
        span = self.doc.span(("output",))
        if len(references) != 1:
            self.error("output", f"output names one layer, but got {len(references)}", span, _Context())
            return None
        name = self.text(references[0], _Context(), span)
        found = self.lookup(name, _Context())
        if found is None:
            self.error("unknown-name", f"output: no layer is named '{name}'", span, _Context(),
                       hint=did_you_mean(name, self.outputs) or "give the name: of a layer")
        return found

    # --- items -----------------------------------------------------------------------------------------

    def expand_list(self, items, path: Path, context: _Context, current: str) -> str:
        for index, item in enumerate(items):
            current = self.expand_item(item, path + (index,), context, current)
        return current

    def expand_item(self, item: Item | TemplateCall, path: Path, context: _Context, previous: str) -> str:
        if isinstance(item, TemplateCall):
            return self.instantiate(item, path, context, previous)
        kind, args = item.KIND, item.args
        if deferred_fields(args):
            args = self.values(context).settle(args, path + (kind,))
        span = self.item_span(path, kind)
        inputs = self.inputs(args.from_, path + (kind, "from"), context, previous)
        block = self.blocks.get(kind)
        if block is not None:
            if len(inputs) != 1:
                self.error("arity", f"{kind} takes one input, but from: names {len(inputs)}",
                           self.doc.span(path + (kind, "from")), context)
            local = self.local_name(args.name, kind, context, span)
            scope = Scope(local, kind, span)
            inner = context.enter(scope, allow=context.allow | (args.allow or frozenset()))
            output = block(args, path + (kind,), inner, inputs[0], span)
            self.declare(context.full(local), output, span, context)
            return output
        return self.layer(kind, args, path, context, inputs, span)

    def layer(self, kind: str, args, path: Path, context: _Context, inputs: list[str], span) -> str:
        merge = has(kind, "merge")
        if merge and len(inputs) < 2:
            self.error("arity", f"{kind} needs at least two inputs, but got {len(inputs)}", span, context,
                       hint=f"name them: {kind}: {{from: [a, b]}}")
        elif not merge and len(inputs) != 1:
            self.error("arity", f"{kind} takes one input, but from: names {len(inputs)}",
                       self.doc.span(path + (kind, "from")), context)
            inputs = inputs[:1]
        spatial = self.rank(inputs[0]) - 1
        if has(kind, "spatial") and not 1 <= spatial <= 3:
            what = "is flat" if spatial < 1 else f"has {spatial} spatial axes"
            self.error("no-spatial-axes", f"{kind} needs an input with 1 to 3 spatial axes ([T, C], [H, W, C] "
                                          f"or [D, H, W, C]), but its input '{inputs[0]}' {what}", span, context,
                       hint="a flatten, dense or global_pool before it removed the spatial axes"
                       if spatial < 1 else None)
            spatial = max(1, min(spatial, 3))
        op, attrs = primitive(kind, args, spatial, self.values(context), path + (kind,), self.spec.init)
        attrs = scale_attrs(op, attrs, self.scale)
        local = self.local_name(args.name, auto_base(kind, args, spatial), context, span)
        return self.add_node(context.full(local), op, attrs, tuple(inputs), span, context,
                             allow=args.allow or frozenset())

    def instantiate(self, call: TemplateCall, path: Path, context: _Context, previous: str) -> str:
        template = self.spec.blocks[call.template]
        span = self.item_span(path, call.template)
        inputs = self.inputs(call.from_, path + (call.template, "from"), context, previous)
        if call.template in context.templates:
            chain = " -> ".join(context.templates[context.templates.index(call.template):] + (call.template,))
            self.error("recursive-template", f"template '{call.template}' instantiates itself ({chain})", span,
                       context, hint="a template cannot contain itself, directly or through another")
            return previous
        values = self.values(context)
        env = {key: value for key, value in template.params.items()}
        for key, value in call.arguments.items():
            env[key] = self.argument(call.template, key, value, template.params.get(key), values, context)
        local = self.local_name(call.name, call.template, context, span)
        params = tuple((key, env[key]) for key in template.params)
        where = f" at {span}" if span else ""
        note = f"in {context.full(local)} ({', '.join(f'{k}={v}' for k, v in params)}){where}"
        scope = Scope(local, "template", span, template=call.template, params=params)
        inner = context.enter(scope, env=tuple(env.items()), templates=context.templates + (call.template,),
                              note=note)
        self.declare(inner.full(TEMPLATE_INPUT), inputs[0], span, inner)
        output = self.expand_list(template.layers, ("blocks", call.template, "layers"), inner, inputs[0])
        self.declare(context.full(local), output, span, context)
        return output

    def argument(self, template: str, key: str, value, default, values: Values, context: _Context):
        """A template argument's value in this instance, of its parameter's type (that of its default)."""
        result = values.any(value)
        if result is None:  # reported
            return default if default is not None else 1
        if not param_fits(default, result):
            span = getattr(value, "span", None)
            self.error("param-type", f"parameter '{key}' of template '{template}' is {param_kind(default)} (its "
                                     f"default is {describe(default)}), but {value} is {describe(result)} here",
                       span, context)
            return default
        return float(result) if isinstance(default, float) and not isinstance(result, bool) else result

    # --- blocks -------------------------------------------------------------------------------------------

    def block_repeat(self, args, path: Path, context: _Context, current: str, span) -> str:
        index = args.index or REPEAT_INDEX
        times = scale_times(self.values(context).integer(args.times, path + ("times",)), self.scale)
        for iteration in range(times):
            inner = replace(context, env=tuple((key, value) for key, value in context.env if key != index)
                            + ((index, iteration),))
            current = self.expand_list(args.layers, path + ("layers",), inner, current)
        return current

    def block_inception(self, args, path: Path, context: _Context, source: str, span) -> str:
        outputs = []
        for index, branch in enumerate(args.branches):
            branch_path = path + ("branches", index)
            scope = Scope(f"branch_{index + 1}", "branch", self.doc.span(branch_path))
            outputs.append(self.expand_list(branch, branch_path, context.enter(scope), source))
        attrs = ConcatAttrs(pad=args.pad) if args.pad else ConcatAttrs()
        return self.add_node(self.auto_full("concat", context), "concat", attrs, tuple(outputs), span, context)

    def block_residual(self, args, path: Path, context: _Context, source: str, span) -> str:
        start = len(self.nodes)
        body = self.expand_list(args.body, path + ("body",), context, source)
        body_nodes = self.nodes[start:]
        shortcut = args.shortcut or "auto"
        shortcut_context = context.enter(Scope("shortcut", "shortcut", self.doc.span(path + ("shortcut",))))
        pending = None
        if isinstance(shortcut, list):
            other = self.expand_list(shortcut, path + ("shortcut",), shortcut_context, source)
        else:
            other = source
            always = shortcut == "projection"
            if always or shortcut == "auto" and self.rank(source) > 1:  # flat: an unequal add is infer's error
                projection = self.projection(source, body, body_nodes, shortcut_context, span)
                pending = PendingShortcut(projection, always=always) if projection else None
        output = self.add_node(self.auto_full("add", context), "add", AddAttrs(), (body, other), span, context)
        if pending is not None:
            self.shortcuts[output] = pending
        if args.activation is not None and args.activation.name != "linear":
            output = self.activation(args.activation, output, context, span)
        return output

    def block_causal(self, args, path: Path, context: _Context, current: str, span) -> str:
        values = self.values(context)
        block_input = current
        if self.rank(current) != 2:
            layout = LAYOUTS.get(self.rank(current) - 1, "flat")
            self.error("causal-input", f"causal needs a sequence input [T, C], but its input '{current}' is "
                                       f"{layout}", span, context,
                       hint="causal convolutions run along time; use conv with P: same for images")
            return current
        filters, kernel = values.integer(args.K, path + ("K",)), values.integer(args.F, path + ("F",))
        filters = scale_filters(filters, self.scale)
        activation = values.activation(args.activation)
        convs: list[str] = []
        first_add, projection = None, None
        for index, dilation in enumerate(args.dilations or (1,)):
            dilation = values.integer(dilation, path + ("dilations", index))
            source = current
            attrs = ConvAttrs(filters=filters, kernel=(kernel,), strides=(1,), padding="causal", dilation=(dilation,),
                              activation=None if args.batchnorm else activation,
                              **{key: value for key, value in (("use_bias", args.bias),) if value is not None},
                              **_inits(args.init, self.spec.init))
            current = self.add_node(self.auto_full("conv1d", context), "conv", attrs, (current,), span, context)
            convs.append(current)
            if args.batchnorm:
                current = self.add_node(self.auto_full("batchnorm", context), "batchnorm", BatchNormAttrs(),
                                        (current,), span, context)
                if activation is not None:
                    current = self.activation(activation, current, context, span)
            if args.residual:
                if index == 0:  # later adds join same-channel outputs; this one may need a 1x1 conv
                    projection = replace(attrs, kernel=(1,), padding="valid", dilation=(1,), activation=None)
                current = self.add_node(self.auto_full("add", context), "add", AddAttrs(), (current, source),
                                        span, context)
                first_add = first_add or current
        if first_add is not None and projection is not None:
            self.shortcuts[first_add] = self.causal_shortcut(projection, convs, block_input, context, span)
        return current

    def causal_shortcut(self, attrs: ConvAttrs, convs: list[str], source: str, context: _Context,
                        span) -> PendingShortcut:
        """The 1x1 conv a causal block's first add needs when its input has other channels. Convs
        are numbered in order, so when it is inserted it takes the second conv's name and each
        later conv the next one (the last a fresh name)."""
        names = [*convs[1:], self.auto_full("conv1d", context)]
        conv = Node(names[0], "conv", attrs, (source,), span, context.scope, context.allow)
        return PendingShortcut((conv,), renames=tuple(zip(names[:-1], names[1:])))

    def projection(self, source: str, body: str, body_nodes: list[Node], context: _Context,
                   span) -> tuple[Node, ...]:
        """The 1x1 conv (+ batchnorm) that would give ``source`` the body output's shape (``infer``
        gives the conv the body's channels, and decides whether the add takes it); () after an error."""
        spatial = self.rank(source) - 1
        convs = [node for node in body_nodes if isinstance(node.attrs, ConvAttrs)]
        channels: int = next((node.attrs.filters for node in reversed(body_nodes)
                              if hasattr(node.attrs, "filters")), 0)
        if spatial < 1:
            self.error("projection", "cannot build a projection shortcut here: the block input has no "
                                     "spatial axes", span, context, hint="give shortcut: a list of layers")
            return ()
        stride = self.total_stride(source, body, spatial)
        attrs = ConvAttrs(filters=channels, kernel=(1,) * spatial, strides=stride, padding="valid",
                          dilation=(1,) * spatial, use_bias=any(c.attrs.use_bias for c in convs) if convs else True,
                          **({"kernel_init": convs[0].attrs.kernel_init, "bias_init": convs[0].attrs.bias_init}
                             if convs else _inits(None, self.spec.init)))
        conv = Node(self.auto_full(f"conv{spatial}d", context), "conv", attrs, (source,), span, context.scope,
                    context.allow)
        norms = [node.attrs for node in body_nodes if isinstance(node.attrs, BatchNormAttrs)]
        if not norms:
            return (conv,)
        norm = Node(self.auto_full("batchnorm", context), "batchnorm", norms[-1], (conv.name,), span,
                    context.scope, context.allow)
        return conv, norm

    def total_stride(self, source: str, output: str, spatial: int) -> tuple[int, ...]:
        """The product of strides along the body's main path (first inputs), from output back to source."""
        stride = [1] * spatial
        by_name = {node.name: node for node in self.nodes}
        name = output
        while name != source and name in by_name:
            node = by_name[name]
            if OPS[node.op].strided and len(node.attrs.strides) == spatial:
                stride = [total * step for total, step in zip(stride, node.attrs.strides)]
            if not node.inputs:
                break
            name = node.inputs[0]
        return tuple(stride)

    def activation(self, activation: Activation, source: str, context: _Context, span) -> str:
        return self.add_node(self.auto_full(activation.name, context), "activation", ActivationAttrs(activation),
                             (source,), span, context)

    # --- nodes, shapes, names --------------------------------------------------------------------------

    def add_node(self, name: str, op: str, attrs: Attrs, inputs: tuple[str, ...], span, context: _Context,
                 allow: frozenset[str] = frozenset()) -> str:
        if len(self.nodes) >= MAX_NODES:
            self.error("too-many-layers", f"the network expands to more than {MAX_NODES:,} layers", span, context,
                       hint="check repeat: times and templates that repeat each other")
            raise _TooLarge
        self.nodes.append(Node(name, op, attrs, inputs, span, context.scope, allow | context.allow))
        self.declare(name, name, span, context)
        self.ranks[name] = _output_rank(op, attrs, [self.rank(source) for source in inputs])
        return name

    def rank(self, name: str) -> int:
        return self.ranks.get(name, 1)

    def auto_full(self, base: str, context: _Context) -> str:
        return context.full(self.auto_local(base, context))

    def auto_local(self, base: str, context: _Context) -> str:
        key = (context.prefix, base)
        while True:
            self.counters[key] = self.counters.get(key, 0) + 1
            local = f"{base}_{self.counters[key]}"
            if context.full(local) not in self.declared:
                return local

    def local_name(self, given, base: str, context: _Context, span) -> str:
        if given is None:
            return self.auto_local(base, context)
        name = self.text(given, context, span)
        if not NAME_PATTERN.match(name):
            self.error("name", f"name '{name}' is not a valid name", span, context,
                       hint="start with a letter or '_', then letters, digits, '_', '-' or '.'")
            return self.auto_local(base, context)
        full = context.full(name)
        if full in self.declared or name == "input" and not context.scope:
            first = self.declared.get(full)
            if first is not None and first == span:
                self.error("duplicate-name", f"duplicate name '{name}': this item is expanded more than once in "
                                             "one scope", span, context,
                           hint="drop name: inside repeat:, or put the layers in a template (each instance "
                                "is its own scope)")
            else:
                self.error("duplicate-name", f"duplicate name '{name}'", span, context,
                           hint="names must be unique within their block" if first else "'input' names the "
                                "network's input",
                           notes=(f"'{name}' is first used at {first}",) if first else ())
            return self.auto_local(base, context)
        self.declared[full] = span
        return name

    def declare(self, full: str, output: str, span, context: _Context) -> None:
        self.declared.setdefault(full, span)
        self.outputs[full] = output

    def text(self, value, context: _Context, span) -> str:
        """A name or reference, with any ``${...}`` evaluated."""
        if isinstance(value, str):
            return value
        result = self.values(context).any(value)
        return "_" if result is None else text_of(result)  # "_": a stand-in once the problem is reported

    # --- from: ----------------------------------------------------------------------------------------

    def inputs(self, references, path: Path, context: _Context, previous: str) -> list[str]:
        if references is None:
            return [previous]
        found = []
        for index, reference in enumerate(references):
            span = self.doc.span(path + (index,)) if path + (index,) in self.doc.values else self.doc.span(path)
            name = self.text(reference, context, span)
            template = next((scope for scope in reversed(context.scope) if scope.kind == "template"), None)
            if name == "input" and template is not None:
                self.error("template-input", f"from: input inside template '{template.template}' would take the "
                                             f"network's input, not the template's", span, context,
                           hint=f"the template's own input is '{TEMPLATE_INPUT}': from: {TEMPLATE_INPUT}")
            target = self.lookup(name, context)
            if target is None:
                self.pending.append(_Pending(name, context, span))
                target = previous
            found.append(target)
        return found

    def lookup(self, name: str, context: _Context) -> str | None:
        parts = [scope.name for scope in context.scope]
        for depth in range(len(parts), -1, -1):
            candidate = "/".join(parts[:depth] + [name])
            if candidate in self.outputs:
                return self.outputs[candidate]
        return None

    def report_pending(self) -> None:
        for pending in self.pending:
            if self.lookup(pending.name, pending.context) is not None:
                self.error("forward-reference", f"from: '{pending.name}' is defined later; an item can only take "
                                                "the output of items before it", pending.span, pending.context,
                           hint="move this item after it, or name an earlier layer")
                continue
            visible = self.visible_names(pending.context)
            self.error("unknown-name", f"from: no layer is named '{pending.name}'", pending.span, pending.context,
                       hint=did_you_mean(pending.name, visible) or "from: names an earlier item's name: "
                                                                   "(or 'input')")

    def visible_names(self, context: _Context) -> list[str]:
        prefixes = [""] + ["/".join(scope.name for scope in context.scope[:depth]) + "/"
                           for depth in range(1, len(context.scope) + 1)]
        return [name[len(prefix):] for name in self.outputs for prefix in prefixes if name.startswith(prefix)]


def _output_rank(op: str, attrs: Attrs, input_ranks: list[int]) -> int:
    """The number of axes of an op's output (batch excluded): what lowering needs to know of shapes."""
    if isinstance(attrs, InputAttrs | ReshapeAttrs):
        return len(attrs.shape)
    if op == "flatten" or isinstance(attrs, GlobalPoolAttrs) and not attrs.keepdims:
        return 1
    return input_ranks[0] if input_ranks else 1


class _Inits(TypedDict, total=False):
    """The initializers a layer names (its own, else the network's ``init:``), as attrs keywords."""

    kernel_init: str
    bias_init: str


def _inits(own, network) -> _Inits:
    chosen = _Inits()
    kernel = getattr(own, "kernel", None) or getattr(network, "kernel", None)
    if kernel is not None:
        chosen["kernel_init"] = kernel
    bias = getattr(own, "bias", None) or getattr(network, "bias", None)
    if bias is not None:
        chosen["bias_init"] = bias
    return chosen


def _default_name(path: str) -> str:
    stem = "".join(character if character.isalnum() or character == "_" else "_"
                   for character in PurePath(path).stem)
    return stem if stem and (stem[0].isalpha() or stem[0] == "_") else "network"

