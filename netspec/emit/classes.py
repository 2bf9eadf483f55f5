"""Statements of each block and the classes that blocks share.

Every :class:`~netspec.emit.blocks.Block` becomes a list of
:class:`Statement` (one per node or inner block). Blocks whose statements
have the same structure share one :class:`BlockClass`; the integers that
differ between its instances (channel counts, strides: the ``slots`` of
:mod:`netspec.emit.layers`) become constructor parameters. Parameters are
named after the template's own parameters where the values match (``k``,
``4 * k``, ``s``), ``in_features`` for the input depth, else after the
layer (``conv_2_features``). Pure Python, no JAX.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from netspec.emit.blocks import Block, relative_parts
from netspec.emit.layers import HELPERS, INITIALIZERS, LayerCode, layer_code
from netspec.emit.lowering import LAX, Lowering
from netspec.emit.text import checked_identifier, is_reserved
from netspec.infer.facts import Analysis
from netspec.ir import Node

# Where a statement input comes from: ("arg", i) or ("item", statement index, output index).
Ref = tuple

# Names an attribute must not take: nnx.Module's own members (a layer called
# "train" would hide Module.train) and the emitted file's global names
# (helpers and initialisers: a template parameter called glorot_uniform
# would hide the initialiser inside __init__).
MODULE_MEMBERS = frozenset({"eval", "train", "sow", "perturb", "set_attributes", "iter_modules",
                            "iter_children"})
GLOBAL_NAMES = frozenset({"itertools", "jax", "jnp", "nnx", "np", "self", "rngs", *HELPERS, *INITIALIZERS})

KIND_CLASS_NAMES = {"residual": "ResidualBlock", "inception": "InceptionBlock", "causal": "CausalStack",
                    "repeat": "RepeatedBlock"}


def identifier(text: str, reserved: frozenset[str] = frozenset()) -> str:
    """A valid snake_case Python identifier for ``text``.

    >>> identifier("bottleneck_2/conv-1")
    'bottleneck_2_conv_1'
    >>> identifier("1x1")
    'layer_1x1'
    """
    name = re.sub(r"[^A-Za-z0-9_]+", "_", text).strip("_") or "layer"  # ASCII only: no NFKC look-alikes
    if name[0].isdigit() or is_reserved(name, reserved | GLOBAL_NAMES):
        name = "layer_" + name
    return checked_identifier(name, reserved | GLOBAL_NAMES)


def camel_case(text: str) -> str:
    """``"resnet-50_v1"`` -> ``"Resnet50V1"``; always a valid class name that
    shadows nothing (``none`` -> ``NetNone``, ``separable_conv`` -> ``NetSeparableConv``)."""
    words = [w for w in re.split(r"[^0-9A-Za-z]+", text) if w]
    name = "".join(w[0].upper() + w[1:] for w in words) or "Network"
    if name[0].isdigit() or is_reserved(name, GLOBAL_NAMES):
        name = "Net" + name
    return checked_identifier(name, GLOBAL_NAMES)


def join_words(base: str, suffix: str) -> str:
    """CamelCase ``base + suffix`` without repeating a word they share.

    >>> join_words("VggBlock", "Block3"), join_words("Stack", "Conv3")
    ('VggBlock3', 'StackConv3')
    """
    for size in range(len(suffix), 0, -1):
        whole_word = size == len(suffix) or not suffix[size].islower()
        if whole_word and base.endswith(suffix[:size]):
            return base + suffix[size:]
    return base + suffix


def unique(name: str, taken: set[str], separator: str = "_") -> str:
    """``name``, or ``name_2``, ``name_3``, ... whichever is not yet taken (then taken)."""
    candidate, count = name, 2
    while candidate in taken:
        candidate, count = f"{name}{separator}{count}", count + 1
    taken.add(candidate)
    return candidate


@dataclass
class Statement:
    """One line of a block's ``__call__`` (and, with a constructor, one of its ``__init__``).

    ``key`` is the node's name relative to the block (the capture key);
    ``attribute`` the ``self.<attribute>`` name when the statement has a
    constructor. For an inner block, ``child`` is set and ``code`` is filled
    once its class is known.
    """

    key: str
    attribute: str | None
    code: LayerCode | None
    sources: tuple[Ref, ...]
    output_count: int = 1
    node: Node | None = None
    child: Block | None = None

    def structure(self, child_structure) -> tuple:
        code = self.code
        shape = (code.constructor, code.call, tuple(sorted(code.slots))) if code is not None else None
        return (self.key, self.attribute, shape, self.sources, self.output_count, child_structure)


@dataclass
class BlockClass:
    """A generated sub-module class and the blocks that are its instances.

    ``parameters`` are the constructor parameters in order; ``slot_text``
    maps (statement index, slot) to the source text filling it (a literal
    when every instance agrees, else a parameter expression);
    ``arguments[i]`` are the parameter values of instance ``i``.
    """

    name: str
    instances: list[Block]
    statements: list[Statement]
    parameters: list[str] = field(default_factory=list)
    slot_text: dict[tuple[int, str], str] = field(default_factory=dict)
    arguments: list[dict[str, int]] = field(default_factory=list)
    named_vectors: list[tuple[str, tuple[int, ...]]] = field(default_factory=list)
    vector_text: dict[tuple[int, ...], str] = field(default_factory=dict)

    def dimension_text(self, values: tuple[int, ...]) -> str:
        """How a shape dimension with these per-instance values reads in a comment:
        the literal, the text of a slot with these values (``4 * k``), a
        multiple of a parameter, or the distinct values (``56|28``; ``?``
        when there are more than four)."""
        if len(set(values)) == 1:
            return str(values[0])
        if values in self.vector_text:
            return self.vector_text[values]
        for name, vector in self.named_vectors:
            if vector == values:
                return name
            factor = integer_factor(values, vector)
            if factor is not None:
                return f"{factor} * {name}"
        distinct = list(dict.fromkeys(values))
        return "|".join(map(str, distinct)) if len(distinct) <= 4 else "?"


def integer_factor(values: tuple[int, ...], base: tuple[int, ...]) -> int | None:
    """``c`` when ``values == c * base`` for one integer ``c >= 2``, else None."""
    if any(b == 0 for b in base) or any(v % b for v, b in zip(values, base)):
        return None
    factors = {v // b for v, b in zip(values, base)}
    factor = factors.pop() if len(factors) == 1 else None
    return factor if factor is not None and factor >= 2 else None


def block_statements(block: Block, analysis: Analysis, lowering: Lowering = LAX) -> list[Statement]:
    """The statements of ``block``, with input references resolved."""
    produced: dict[str, Ref] = {name: ("arg", i) for i, name in enumerate(block.inputs)}
    statements: list[Statement] = []
    taken: set[str] = set()
    for position, item in enumerate(block.items):
        if isinstance(item, Block):
            sources = tuple(produced[name] for name in item.inputs)
            key = "/".join(relative_parts("/".join(item.path), block.inner_path))
            block_attribute = unique(identifier(key, MODULE_MEMBERS), taken)
            statements.append(Statement(key, block_attribute, None, sources, len(item.outputs), child=item))
            for index, name in enumerate(item.outputs):
                produced[name] = ("item", position, index)
            continue
        facts = analysis.layers[item.name]
        code = layer_code(item, list(facts.input_shapes), lowering)
        key = "/".join(relative_parts(item.name, block.inner_path))
        attribute = unique(identifier(key, MODULE_MEMBERS), taken) if code.constructor else None
        sources = tuple(produced[name] for name in item.inputs)
        statements.append(Statement(key, attribute, code, sources, node=item))
        produced[item.name] = ("item", position, 0)
    return statements


def output_refs(block: Block, statements: list[Statement]) -> tuple[Ref, ...]:
    """Where each returned value of ``block`` comes from."""
    produced: dict[str, Ref] = {name: ("arg", i) for i, name in enumerate(block.inputs)}
    for position, statement in enumerate(statements):
        if statement.child is not None:
            for index, name in enumerate(statement.child.outputs):
                produced[name] = ("item", position, index)
        else:
            produced[statement.node.name] = ("item", position, 0)
    return tuple(produced[name] for name in block.outputs)


class ClassTable:
    """Every block's statements, grouped into shared classes.

    ``classes`` are in definition order (a class before any class using it);
    ``class_of[id(block)]`` is a block's class and ``instance_of[id(block)]``
    its index among that class's instances.
    """

    def __init__(self, root: Block, analysis: Analysis, network_class: str, lowering: Lowering = LAX):
        self.analysis = analysis
        self.lowering = lowering
        self.statements: dict[int, list[Statement]] = {}
        self.structures: dict[int, tuple] = {}
        self.class_of: dict[int, BlockClass] = {}
        self.instance_of: dict[int, int] = {}
        self.classes: list[BlockClass] = []
        self._groups: dict[tuple, list[Block]] = {}
        self._heights: dict[tuple, int] = {}
        self._structure(root)
        taken = {network_class, *HELPERS}
        ordered = sorted(self._groups.items(), key=lambda group: self._heights[group[0]])
        for _, instances in ordered:
            if not instances[0].path:
                continue  # the network itself is rendered separately
            block_class = BlockClass(self._class_name(instances[0], taken), instances,
                                     self.statements[id(instances[0])])
            for index, instance in enumerate(instances):
                self.class_of[id(instance)] = block_class
                self.instance_of[id(instance)] = index
            self._name_parameters(block_class)
            self.classes.append(block_class)
        for statements in self.statements.values():
            for statement in statements:
                if statement.child is not None:
                    statement.code = self._call_code(statement.child)

    def _structure(self, block: Block) -> tuple[tuple, int]:
        """(structure, height) of ``block``; records both for every block below."""
        statements = block_statements(block, self.analysis, self.lowering)
        parts, height = [], 0
        for statement in statements:
            child_structure = None
            if statement.child is not None:
                child_structure, child_height = self._structure(statement.child)
                height = max(height, child_height + 1)
            parts.append(statement.structure(child_structure))
        header = (block.kind, tuple(t.template for t in block.templates), len(block.inputs))
        structure = (header, tuple(parts), output_refs(block, statements))
        self.statements[id(block)] = statements
        self.structures[id(block)] = structure
        self._groups.setdefault(structure, []).append(block)
        self._heights[structure] = height
        return structure, height

    @staticmethod
    def _class_name(block: Block, taken: set[str]) -> str:
        """The template's name in CamelCase (else the block kind's); a second class
        of one template adds its first instance's name when the user chose it
        (``StackConv3``), else a number (``Bottleneck2``)."""
        template = block.template
        stem = template.template if template is not None and template.template else None
        base = camel_case(stem) if stem else KIND_CLASS_NAMES.get(block.kind, camel_case(block.kind) + "Block")
        if base in taken:
            instance = block.path[-1]
            if not re.fullmatch(rf"({re.escape(stem or block.kind)}_)?\d+", instance):
                base = join_words(base, camel_case(instance))
        return unique(base, taken, "")

    def _slot_values(self, block: Block) -> dict[tuple[int, str], int]:
        values: dict[tuple[int, str], int] = {}
        for position, statement in enumerate(self.statements[id(block)]):
            if statement.child is not None:
                child_class = self.class_of[id(statement.child)]
                arguments = child_class.arguments[self.instance_of[id(statement.child)]]
                values.update({(position, name): value for name, value in arguments.items()})
            else:
                values.update({(position, name): value for name, value in statement.code.slots.items()})
        return values

    def _name_parameters(self, block_class: BlockClass) -> None:
        """Constant slots become literals; varying ones become parameters (see module docstring)."""
        per_instance = [self._slot_values(block) for block in block_class.instances]
        keys = list(per_instance[0])
        vectors = {key: tuple(values[key] for values in per_instance) for key in keys}
        first = block_class.instances[0]
        candidates: list[tuple[str, tuple[int, ...]]] = []
        if first.inputs:
            candidates.append(("in_features", tuple(
                self.analysis.layers[b.inputs[0]].output_shape[-1] for b in block_class.instances)))
        for level, template in enumerate(first.templates):  # the same templates in every instance
            for name, _ in template.params:
                values = [dict(b.templates[level].params).get(name) for b in block_class.instances]
                integers = [value for value in values if type(value) is int]  # not floats, strings or booleans
                if len(integers) == len(values) and all(n != identifier(name.lower()) for n, _ in candidates):
                    candidates.append((identifier(name.lower()), tuple(integers)))
        used: dict[str, tuple[int, ...]] = {}
        for key in keys:
            vector = vectors[key]
            if len(set(vector)) == 1:
                block_class.slot_text[key] = str(vector[0])
                continue
            text = self._match(vector, key, candidates, used)
            if text is None:
                statement = block_class.statements[key[0]]
                name = unique(identifier(f"{statement.attribute}_{key[1]}"),
                              {"in_features", *(n for n, _ in candidates), *used})
                used[name] = vector
                text = name
            block_class.slot_text[key] = text
            block_class.vector_text.setdefault(vector, text)
        order = [name for name, _ in candidates if name in used] + [n for n in used if n not in
                                                                     {c for c, _ in candidates}]
        block_class.parameters = order
        block_class.arguments = [{name: used[name][i] for name in order}
                                 for i in range(len(block_class.instances))]
        block_class.named_vectors = [(name, used[name]) for name in order]

    @staticmethod
    def _match(vector, key, candidates, used) -> str | None:
        """Name ``vector`` after a known parameter (or an integer multiple of one)."""
        named = list(candidates) + [item for item in used.items() if item[0] not in dict(candidates)]
        if key[1] != "in_features":  # template parameters read better for output depths
            named.sort(key=lambda item: item[0] == "in_features")
        for name, known in named:
            if known == vector:
                used[name] = known
                return name
        for name, known in named:
            factor = integer_factor(vector, known)
            if factor is not None:
                used[name] = known
                return f"{factor} * {name}"
        return None

    def _call_code(self, child: Block) -> LayerCode:
        block_class = self.class_of[id(child)]
        arguments = "".join(f"{name}={{{name}}}, " for name in block_class.parameters)
        values = "(" + ", ".join(f"{{{i}}}" for i in range(len(child.inputs))) + ")"
        return LayerCode("{layer}" + values, f"{block_class.name}({arguments}rngs=rngs)",
                         dict(block_class.arguments[self.instance_of[id(child)]]))
