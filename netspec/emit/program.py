"""The one emitter: IR + static facts -> the Python source of a Flax NNX module.

``netspec export`` writes this source and ``netspec.build`` compiles exactly
the same text, so the two can never drift. The file is standalone (it
imports only jax, jax.numpy and flax.nnx) and reads like hand-written NNX:
layers as attributes built in ``__init__`` with keyword-only ``rngs``, a
straight-line ``__call__`` commenting each layer's output shape, DAG merges
as named values, and templates or repeated blocks as shared sub-module
classes (:mod:`netspec.emit.classes`).

Pure Python; nothing here imports JAX.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass

from netspec.diagnostics import NetspecError
from netspec.emit.blocks import Block, build_block_tree
from netspec.emit.classes import (
    GLOBAL_NAMES,
    BlockClass,
    ClassTable,
    Ref,
    Statement,
    camel_case,
    identifier,
    output_refs,
    unique,
)
from netspec.emit.layers import HELPERS, INITIALIZERS
from netspec.emit.lowering import LAX, Lowering
from netspec.emit.text import docstring_text
from netspec.infer.facts import Analysis
from netspec.ir import Graph
from netspec.version import __version__

LINE_WIDTH = 110  # the project's ruff line length
TEXT_WIDTH = 100  # docstrings wrap a little shorter
INDENT = "    "
BASE_CLOSING = "# --- end of base ---"
UNIT_STRIDES = re.compile(r", strides=\((?:1, )*1,?\)")


@dataclass(frozen=True)
class Program:
    """The emitted module and what ``netspec.build`` needs to look inside it.

    ``source`` is the module text (what export writes). ``capture_source``
    defines ``capture_<Class>(self, *inputs)`` functions that run the same
    statements and also ``sow`` every layer's value as ``nnx.Intermediate``
    (compiled into the same namespace by ``netspec.builder.layer_outputs``).
    ``captures[node]`` is ``(attribute path, key)``: the sub-module holding
    the sown value and its key. ``modules[node]`` is the attribute path of
    the layer's own module, for nodes with weights or state.
    """

    source: str
    class_name: str
    capture_source: str
    capture_function: str
    captures: dict[str, tuple[tuple[str, ...], str]]
    modules: dict[str, tuple[str, ...]]


def emit_source(graph: Graph, analysis: Analysis, lowering: Lowering = LAX) -> str:
    """The Python source of a standalone Flax NNX module for ``graph``.

    ``analysis`` is ``netspec.infer.infer(graph)``; a graph with static
    errors raises :class:`~netspec.diagnostics.NetspecError`. ``lowering``
    chooses how conv and pooling layers are written (:mod:`netspec.emit.lowering`).

    >>> from netspec.pipeline import load, analysis_of
    >>> graph = load("name: tiny\\ninput: [4, 4, 1]\\nlayers: [flatten, {dense: {units: 2}}]\\n")
    >>> "class Tiny(nnx.Module)" in emit_source(graph, analysis_of(graph))
    True
    """
    return emit_program(graph, analysis, lowering).source


def emit_program(graph: Graph, analysis: Analysis, lowering: Lowering = LAX) -> Program:
    """Like :func:`emit_source`, with the capture functions and their map."""
    if analysis.errors:
        raise NetspecError(analysis.diagnostics)
    class_name = camel_case(graph.name)
    root = build_block_tree(graph)
    table = ClassTable(root, analysis, class_name, lowering)
    writer = Writer(graph, analysis, table, class_name)
    return writer.program(root)


# --- small text helpers ---------------------------------------------------------


def shape_text(dimensions: list[str]) -> str:
    return "(" + ", ".join(["batch", *dimensions]) + ")"


def split_arguments(text: str) -> tuple[str, list[str]] | None:
    """``"f(a, (1, 2), b=3)"`` -> ``("f", ["a", "(1, 2)", "b=3"])``; None if not one call."""
    start = text.find("(")
    if start <= 0 or not text.endswith(")"):
        return None
    arguments, depth, current = [], 0, ""
    for char in text[start + 1:-1]:
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        if char == "," and depth == 0:
            arguments.append(current.strip())
            current = ""
        else:
            current += char
    if depth != 0:
        return None
    if current.strip():
        arguments.append(current.strip())
    return text[:start], arguments


def wrapped_call(indent: str, head: str, arguments: list[str], tail: str = "") -> list[str]:
    """``head(arguments)tail`` on one line, or with the arguments packed on indented
    lines (magic trailing comma) when that is longer than the line width."""
    line = f"{indent}{head}({', '.join(arguments)}){tail}"
    if len(line) <= LINE_WIDTH:
        return [line]
    lines, current = [f"{indent}{head}("], indent + INDENT
    for argument in arguments:
        piece = argument + ","
        if current.strip() and len(current) + 1 + len(piece) > LINE_WIDTH:
            lines.append(current.rstrip())
            current = indent + INDENT
        current += (" " if current.strip() else "") + piece
    lines.append(current)
    lines.append(f"{indent}){tail}")
    return lines


def assignment_lines(indent: str, target: str, call: str) -> list[str]:
    """``target = call``, wrapped at argument boundaries when longer than the line width."""
    parts = split_arguments(call)
    if parts is None:
        return [f"{indent}{target} = {call}"]
    function, arguments = parts
    return wrapped_call(indent, f"{target} = {function}", arguments)


def wrap(text: str, indent: str = "") -> list[str]:
    """``text`` as lines of at most the line width, paragraphs (blank lines) kept."""
    lines: list[str] = []
    for paragraph in text.split("\n\n"):
        if lines:
            lines.append("")
        lines += textwrap.wrap(" ".join(paragraph.split()), TEXT_WIDTH - len(indent),
                               break_long_words=False, break_on_hyphens=False) or [""]
    return [indent + line if line else "" for line in lines]


def docstring_lines(text: str, indent: str) -> list[str]:
    """A docstring: one line when it fits, else wrapped with the closing quotes alone."""
    if len(indent) + len(text) + 6 <= TEXT_WIDTH:
        return [f'{indent}"""{text}"""']
    lines = wrap('"""' + text, indent)
    return [*lines, f'{indent}"""']


# --- the writer -----------------------------------------------------------------


class Writer:
    """Renders the class table as source text (see :func:`emit_program`)."""

    def __init__(self, graph: Graph, analysis: Analysis, table: ClassTable, class_name: str):
        self.graph = graph
        self.analysis = analysis
        self.table = table
        self.class_name = class_name

    # shapes in comments

    def _dimension_texts(self, block_class: BlockClass | None, instances: list[Block],
                         node_names_per_instance: list[str]) -> str:
        shapes = [self.analysis.layers[name].output_shape for name in node_names_per_instance]
        if block_class is None:
            return shape_text([str(d) for d in shapes[0]])
        return shape_text([block_class.dimension_text(tuple(s[axis] for s in shapes))
                           for axis in range(len(shapes[0]))])

    def _statement_shapes(self, block_class, instances, position: int) -> str:
        statements = [self.table.statements[id(b)][position] for b in instances]
        first = statements[0]
        if first.child is None:
            return self._dimension_texts(block_class, instances, [s.node.name for s in statements])
        return ", ".join(
            self._dimension_texts(block_class, instances, [s.child.outputs[k] for s in statements])
            for k in range(first.output_count))

    def _input_shapes(self, block_class, instances) -> str:
        return ", ".join(self._dimension_texts(block_class, instances, [b.inputs[k] for b in instances])
                         for k in range(len(instances[0].inputs)))

    # variables

    def _variables(self, block: Block, statements: list[Statement], returns: tuple[Ref, ...],
                   arguments: list[str]) -> dict[Ref, str]:
        """A variable name for every value: a layer feeding only the next one keeps its
        input's name (``x = ...`` chains); merges and forks get named values."""
        uses = _Uses.of(statements, returns)
        names: dict[Ref, str] = {}
        busy_until: dict[str, int] = {}  # a name is free again after the last use of its chain
        taken: set[str] = {*GLOBAL_NAMES, "x"}  # "x" only ever names the input and returned chains
        for index, name in enumerate(arguments):
            names[("arg", index)] = name
            taken.add(name)
            busy_until[name] = uses.last_use(uses.chain_end(("arg", index)))
        prefixes_seen: set[str] = set()
        for position, statement in enumerate(statements):
            if statement.output_count == 1 and len(statement.sources) == 1:
                source = statement.sources[0]
                if uses.continues(source) == ("item", position, 0):
                    names[("item", position, 0)] = names[source]
                    continue
            for index in range(statement.output_count):
                ref: Ref = ("item", position, index)
                end = uses.chain_end(ref)
                name = _value_name(statement, index, single=end == ref, returned=end in returns,
                                   free_x=busy_until.get("x", -1) <= position, prefixes_seen=prefixes_seen,
                                   taken=taken)
                prefixes_seen.add(statement.key.split("/")[0])
                names[ref] = name
                busy_until[name] = uses.last_use(end)
        return names

    # one class

    def _class_lines(self, block_class: BlockClass | None, instances: list[Block], name: str,
                     parameters: list[str], docstring: str) -> tuple[list[str], list[str]]:
        """(the class's lines, the lines of its capture function)."""
        block = instances[0]
        statements = self.table.statements[id(block)]
        arguments = ["x"] if len(block.inputs) == 1 else self._argument_names(block)
        returns = output_refs(block, statements)
        names = self._variables(block, statements, returns, arguments)

        def slot(position: int, slot_name: str) -> str:
            if block_class is None:
                code = statements[position].code
                return str(code.slots[slot_name])
            return block_class.slot_text[(position, slot_name)]

        signature = ["self", *(f"{p}: int" for p in parameters), "*", "rngs: nnx.Rngs"]
        lines = [f"class {name}(nnx.Module):", *docstring_lines(docstring, INDENT), "",
                 *wrapped_call(INDENT, "def __init__", signature, ":")]
        base = self._base_span(statements) if block_class is None else None
        constructed = [p for p, s in enumerate(statements) if s.code.constructor is not None]
        for position, statement in enumerate(statements):
            if statement.code.constructor is None:
                continue
            if base is not None and position == min((p for p in constructed if p >= base[0]), default=-1):
                lines.append(f"{INDENT * 2}{self._base_opening()}")
            filled = statement.code.constructor.format(
                **{slot_name: slot(position, slot_name) for slot_name in statement.code.slots})
            filled = UNIT_STRIDES.sub("", filled)  # stride 1 is the default; say only what differs
            lines += assignment_lines(INDENT * 2, f"self.{statement.attribute}", filled)
            if base is not None and position == max((p for p in constructed if p <= base[1]), default=-1):
                lines.append(f"{INDENT * 2}{BASE_CLOSING}")
        if not any(s.code.constructor for s in statements):
            lines.append(f"{INDENT * 2}pass")

        body, capture_body = [], []
        call_arguments = ", ".join(arguments)
        body.append(f"{INDENT * 2}# {call_arguments}: {self._input_shapes(block_class, instances)}")
        for position, statement in enumerate(statements):
            if base is not None and position == base[0]:
                body.append(f"{INDENT * 2}{self._base_opening()}")
            inputs = [names[source] for source in statement.sources]
            layer = f"self.{statement.attribute}"
            targets = ", ".join(names[("item", position, k)] for k in range(statement.output_count))
            comment = f"  # {self._statement_shapes(block_class, instances, position)}"
            expression = statement.code.call.format(*inputs, layer=layer)
            line = f"{INDENT * 2}{targets} = {expression}"
            if len(line) + len(comment) > LINE_WIDTH:
                body.append(f"{INDENT * 2}#{comment.strip()[1:]}")
                comment = ""
            body.append(line + comment)
            if base is not None and position == base[1]:
                body.append(f"{INDENT * 2}{BASE_CLOSING}")
            if statement.child is not None:
                child_class = self.table.class_of[id(statement.child)]
                expression = f"capture_{child_class.name}({layer}, {', '.join(inputs)})"
                capture_body.append(f"{INDENT}{targets} = {expression}")
            else:
                capture_body.append(f"{INDENT}{targets} = {expression}")
                if statement.output_count == 1:  # nnx.Perturbation: gradients w.r.t. this value (Grad-CAM)
                    capture_body.append(f"{INDENT}{targets} = self.perturb({statement.key!r}, {targets})")
                capture_body.append(f"{INDENT}self.sow(nnx.Intermediate, {statement.key!r}, {targets})")
        result = ", ".join(names[ref] for ref in returns)
        body.append(f"{INDENT * 2}return {result}")
        capture_body.append(f"{INDENT}return {result}")
        lines += ["", f"{INDENT}def __call__(self, {call_arguments}):", *body]
        capture = [f"def capture_{name}(self, {call_arguments}):", *capture_body]
        return lines, capture

    def _base_span(self, statements: list[Statement]) -> tuple[int, int] | None:
        """First and last position of the statements of the layers from the spec's ``base:``."""
        layers = set((self.graph.meta.get("base") or {}).get("layers", ()))
        inside = [p for p, s in enumerate(statements) if s.node is not None and s.node.name in layers]
        return (inside[0], inside[-1]) if inside else None

    def _base_opening(self) -> str:
        base = self.graph.meta["base"]
        layers = [name for name in base["layers"] if name in self.analysis.layers]
        params = sum(self.analysis.layers[name].params for name in layers)
        # Names are checked by the schema; escaped anyway, as all user text in the source is.
        return (f"# --- base: {docstring_text(str(base['network']))} up to {docstring_text(str(base['up_to']))} "
                f"({len(layers)} layers, "
                f"{params:,} parameters) ---")

    def _argument_names(self, block: Block) -> list[str]:
        taken: set[str] = set()
        return [unique(identifier(name.rsplit("/", 1)[-1]), taken) for name in block.inputs]

    def _block_docstring(self, block_class: BlockClass) -> str:
        first = block_class.instances[0]
        template = first.template
        kinds = [s.kind for s in first.scopes if s.kind != "template"]
        what = f"template '{template.template}'" if template is not None and template.template else ""
        if kinds:
            what += (" (" if what else "") + f"{kinds[-1]} block" + (")" if what else "")
        paths = ["/".join(b.path) for b in block_class.instances]
        shown = ", ".join(paths[:4]) + (f" and {len(paths) - 4} more" if len(paths) > 4 else "")
        return docstring_text(f"{what[0].upper() + what[1:]} at {shown}.")

    def _locations(self, root: Block) -> tuple[dict, dict]:
        """(captures, modules) of :class:`Program`."""
        captures: dict[str, tuple[tuple[str, ...], str]] = {self.graph.nodes[0].name: ((), "")}
        modules: dict[str, tuple[str, ...]] = {}

        def visit(block: Block, path: tuple[str, ...]) -> None:
            for statement in self.table.statements[id(block)]:
                if statement.child is not None:
                    assert statement.attribute is not None  # a block's statement is an attribute of its module
                    visit(statement.child, path + (statement.attribute,))
                    continue
                captures[statement.node.name] = (path, statement.key)
                if statement.attribute is not None:
                    modules[statement.node.name] = path + (statement.attribute,)

        visit(root, ())
        return captures, modules

    # the file

    def program(self, root: Block) -> Program:
        class_sections, capture_sections = [], []
        for block_class in self.table.classes:
            lines, capture = self._class_lines(block_class, block_class.instances, block_class.name,
                                               block_class.parameters, self._block_docstring(block_class))
            class_sections.append("\n".join(lines))
            capture_sections.append("\n".join(capture))
        lines, capture = self._class_lines(None, [root], self.class_name, [], self._network_docstring())
        class_sections.append("\n".join(lines))
        capture_sections.append("\n".join(capture))
        body = "\n\n\n".join(class_sections)
        helpers = [HELPERS[name].strip() for name in HELPERS if self._uses(name)]
        initializers = [INITIALIZERS[name] for name in INITIALIZERS if self._uses_initializer(name)]
        body = "\n\n\n".join(helpers + [body])
        source = self._header(body, initializers) + body + "\n"
        return Program(source, self.class_name, "\n\n\n".join(capture_sections) + "\n",
                       f"capture_{self.class_name}", *self._locations(root))

    def _all_codes(self):
        for statements in self.table.statements.values():
            for statement in statements:
                yield statement.code

    def _uses(self, helper: str) -> bool:
        return any(helper in code.helpers for code in self._all_codes())

    def _uses_initializer(self, name: str) -> bool:
        return any(name in code.initializers for code in self._all_codes())

    def _network_docstring(self) -> str:
        analysis = self.analysis
        text = (f"{self.graph.name}: {shape_text([str(d) for d in self.graph.input_shape])} -> "
                f"{shape_text([str(d) for d in analysis.output.output_shape])}; "
                f"{analysis.trainable_params:,} trainable and {analysis.non_trainable_params:,} "
                "non-trainable parameters.")
        return docstring_text(text)

    def _header(self, body: str, initializers: list[str]) -> str:

        graph, analysis = self.graph, self.analysis
        origin = f" from {docstring_text(str(graph.source_path))}" if graph.source_path else ""
        lines = wrap(f'"""{docstring_text(graph.name)} as a Flax NNX module, generated by netspec '
                     f'{__version__}{origin}.') + [""]
        if graph.description:
            lines += wrap(docstring_text(graph.description)) + [""]
        if graph.reference:
            lines += wrap(f"Reference: {docstring_text(graph.reference)}") + [""]
        lines += [
            *wrap(f"Input {shape_text([str(d) for d in graph.input_shape])} -> output "
                  f"{shape_text([str(d) for d in analysis.output.output_shape])}; "
                  f"{analysis.trainable_params:,} trainable and {analysis.non_trainable_params:,} "
                  "non-trainable parameters."),
            "",
            f"    model = {self.class_name}(rngs=nnx.Rngs(params=0, dropout=1))",
            "    y = model(x)   # training mode: dropout on, batchnorm uses batch statistics",
            "    model.eval()   # inference mode: dropout off, batchnorm uses its running averages",
            "",
            "Generated code: edit the spec and export again rather than editing this file.",
            '"""',
            "",
        ]
        imports, code = [], body + "\n".join(initializers)
        if "itertools." in code:
            imports += ["import itertools", ""]  # the standard library, then the third-party block
        if "jax." in code:
            imports.append("import jax")
        if "jnp." in code:
            imports.append("import jax.numpy as jnp")
        imports.append("from flax import nnx")
        lines += imports + ["", ""]
        lines.append(f"INPUT_SHAPE = {tuple(graph.input_shape)!r}")
        lines.append(f"OUTPUT_SHAPE = {tuple(analysis.output.output_shape)!r}")
        text = "\n".join(lines) + "\n"
        if initializers:
            definitions = [d for d in initializers if not d.startswith("def ")]
            functions = [d for d in initializers if d.startswith("def ")]
            text += "\n# Initialisers (Keras' defaults: glorot-uniform kernels, zero biases).\n"
            text += "".join(d + "\n" for d in definitions)
            text += "".join("\n\n" + d + "\n" for d in functions)
        return text + "\n\n"


@dataclass(frozen=True)
class _Uses:
    """Where each value of one block's statements is used: what naming its variables needs."""

    statements: list[Statement]
    returns: tuple[Ref, ...]
    consumers: dict[Ref, list[int]]

    @classmethod
    def of(cls, statements: list[Statement], returns: tuple[Ref, ...]) -> _Uses:
        consumers: dict[Ref, list[int]] = {}
        for position, statement in enumerate(statements):
            for source in statement.sources:
                consumers.setdefault(source, []).append(position)
        return cls(statements, returns, consumers)

    def last_use(self, ref: Ref) -> int:
        """The position of the last statement reading ``ref`` (past the end when the block returns it)."""
        return max(self.consumers.get(ref, [-1]) + ([len(self.statements)] if ref in self.returns else []))

    def continues(self, ref: Ref) -> Ref | None:
        """The value that carries ``ref``'s chain on: the one output of its only reader, when that
        reader takes nothing else (``x = layer(x)``); None when ``ref`` ends a chain."""
        users = self.consumers.get(ref, [])
        if len(users) != 1 or ref in self.returns:
            return None
        user = self.statements[users[0]]
        if len(user.sources) == 1 and user.output_count == 1:
            return ("item", users[0], 0)
        return None

    def chain_end(self, ref: Ref) -> Ref:
        while (following := self.continues(ref)) is not None:
            ref = following
        return ref


def _value_name(statement: Statement, index: int, *, single: bool, returned: bool, free_x: bool,
                prefixes_seen: set[str], taken: set[str]) -> str:
    """The variable of a statement's ``index``-th output: ``single`` when no layer continues its
    chain, ``returned`` when the chain is returned, ``free_x`` while ``x`` is not in use."""
    parts = statement.key.split("/")
    if statement.child is not None and statement.output_count > 1:
        return unique(identifier(statement.child.outputs[index].rsplit("/", 1)[-1]), taken)
    if returned and free_x:
        return "x"
    if len(parts) > 1 and parts[0] not in prefixes_seen:
        return unique(identifier(parts[0]), taken)  # a block part: "shortcut", "branch_2"
    if single:
        return unique(identifier(parts[-1]), taken)  # a single layer's value: its name
    return unique("y", taken)  # a run of layers, like a residual body
