"""``${...}``: integer arithmetic over template parameters.

The language is deliberately tiny: integer literals, parameter names,
``+ - * // %``, unary minus and parentheses. It is tokenised and parsed by
hand (recursive descent) and evaluated by walking the tree, never by
``eval``, so ``${__import__('os')}`` is just a syntax error.

>>> expression = parse("4 * K + (S - 1) // 2")
>>> evaluate(expression, {"K": 64, "S": 3})
257
>>> [name.name for name in names(expression)]
['K', 'S']

A YAML string that is exactly ``"${...}"`` stands for an integer; ``${...}``
inside longer text (``name: "block${i}"``) is interpolated, which netspec
allows only in names (see :func:`split_template`).

Errors are :class:`ExprError` with an ``offset`` into the expression text, so
callers can point a diagnostic at the offending character inside the YAML.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_LENGTH = 200  # characters inside one ${...}
MAX_DEPTH = 32  # nested parentheses / unary minus
MAX_DIGITS = 12  # of an integer literal
MAX_MAGNITUDE = 10**15  # of any intermediate value


class ExprError(Exception):
    """A problem in an expression at ``offset`` (0-based, into the expression
    text) spanning ``length`` characters, with an optional fix in ``hint``."""

    def __init__(self, message: str, offset: int = 0, length: int = 1, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.length = max(1, length)
        self.hint = hint


# --- the tree -------------------------------------------------------------------


@dataclass(frozen=True)
class Number:
    value: int
    offset: int
    length: int


@dataclass(frozen=True)
class Name:
    name: str
    offset: int
    length: int


@dataclass(frozen=True)
class Negate:
    operand: Tree
    offset: int
    length: int = 1


@dataclass(frozen=True)
class BinaryOp:
    operator: str  # one of + - * // %
    left: Tree
    right: Tree
    offset: int  # of the operator
    length: int


Tree = Number | Name | Negate | BinaryOp


# --- tokens -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str  # "int", "name", "op", "(", ")", "end"
    text: str
    offset: int


_TOKEN = re.compile(r"\s*(?:(?P<int>\d+)|(?P<name>[A-Za-z_]\w*)|(?P<op>//|\*\*|[-+*/%()]))")


def _tokenize(text: str) -> list[_Token]:
    if len(text) > MAX_LENGTH:
        raise ExprError(f"expression is {len(text)} characters long; the limit is {MAX_LENGTH}",
                        0, len(text), hint="split the computation across template parameters")
    tokens: list[_Token] = []
    position = 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position == len(text):
            tokens.append(_Token("end", "", position))
            return tokens
        match = _TOKEN.match(text, position)
        if match is None:
            if len(tokens) >= 2 and tokens[-1].kind == "(" and tokens[-2].kind == "name":
                raise _call(tokens[-2])  # f('x'): the call is the real problem, not the quote
            raise _bad_character(text, position)
        start = match.start(match.lastgroup)
        kind, value = match.lastgroup, match.group(match.lastgroup)
        if kind == "int":
            if position + len(match.group(0)) < len(text) and text[match.end()] == ".":
                raise ExprError("only integers are allowed in ${...}, but got a decimal number", start,
                                match.end() - start + 1, hint="netspec's ${...} arithmetic is integer-only")
            if len(value) > MAX_DIGITS:
                raise ExprError(f"integer literal has {len(value)} digits; the limit is {MAX_DIGITS}",
                                start, len(value))
        if kind == "op":
            if value == "**":
                raise ExprError("there is no power operator '**' in ${...}", start, 2,
                                hint="write the product out, e.g. 2 * 2 * 2")
            if value == "/":
                raise ExprError("'/' is not integer division", start, 1,
                                hint="use // (floor division) to keep sizes integral")
            kind = value if value in "()" else "op"
        tokens.append(_Token(kind, value, start))
        position = match.end()


def _call(name: _Token) -> ExprError:
    return ExprError(f"function calls are not allowed in ${{...}}, but got {name.text}(...)", name.offset,
                     len(name.text), hint="use only integers, parameter names, + - * // % and parentheses")


def _bad_character(text: str, position: int) -> ExprError:
    character = text[position]
    if character == ".":
        return ExprError("attribute access and decimal points are not allowed in ${...}", position,
                         hint="use only integers, parameter names, + - * // % and parentheses")
    if character in "'\"":
        return ExprError("strings are not allowed in ${...}", position,
                         hint="use only integers, parameter names, + - * // % and parentheses")
    return ExprError(f"unexpected character {character!r} in ${{...}}", position,
                     hint="use only integers, parameter names, + - * // % and parentheses")


# --- parser: expression := term (("+" | "-") term)* ; term := unary (("*" | "//" | "%") unary)* ;
#             unary := "-" unary | "+" unary | atom ; atom := int | name | "(" expression ")"


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = _tokenize(text)
        self.index = 0
        self.depth = 0

    @property
    def token(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def parse(self) -> Tree:
        if self.token.kind == "end":
            raise ExprError("empty ${...}", 0, max(1, len(self.text)),
                            hint="write an integer expression such as ${4 * K}")
        tree = self.expression()
        if self.token.kind != "end":
            raise self.unexpected("an operator (+ - * // %)")
        return tree

    def expression(self) -> Tree:
        tree = self.term()
        while self.token.kind == "op" and self.token.text in "+-":
            operator = self.advance()
            tree = BinaryOp(operator.text, tree, self.term(), operator.offset, 1)
        return tree

    def term(self) -> Tree:
        tree = self.unary()
        while self.token.kind == "op" and self.token.text in ("*", "//", "%"):
            operator = self.advance()
            tree = BinaryOp(operator.text, tree, self.unary(), operator.offset, len(operator.text))
        return tree

    def unary(self) -> Tree:
        if self.token.kind == "op" and self.token.text in "+-":
            operator = self.advance()
            with _Nesting(self, operator):
                operand = self.unary()
            return Negate(operand, operator.offset) if operator.text == "-" else operand
        return self.atom()

    def atom(self) -> Tree:
        token = self.token
        if token.kind == "int":
            self.advance()
            return Number(int(token.text), token.offset, len(token.text))
        if token.kind == "name":
            self.advance()
            if self.token.kind == "(":
                raise _call(token)
            return Name(token.text, token.offset, len(token.text))
        if token.kind == "(":
            self.advance()
            with _Nesting(self, token):
                tree = self.expression()
            if self.token.kind != ")":
                raise self.unexpected("')'")
            self.advance()
            return tree
        raise self.unexpected("an integer, a parameter name or '('")

    def unexpected(self, wanted: str) -> ExprError:
        token = self.token
        if token.kind == "end":
            return ExprError(f"expression ends early; expected {wanted}", token.offset)
        return ExprError(f"expected {wanted}, but got {token.text!r}", token.offset, len(token.text))


class _Nesting:
    """Bounds recursion so a hostile ``((((...`` cannot exhaust the stack."""

    def __init__(self, parser: _Parser, token: _Token):
        self.parser, self.token = parser, token

    def __enter__(self) -> None:
        self.parser.depth += 1
        if self.parser.depth > MAX_DEPTH:
            raise ExprError(f"expression nests deeper than {MAX_DEPTH} levels", self.token.offset)

    def __exit__(self, *exc) -> None:
        self.parser.depth -= 1


def parse(text: str) -> Tree:
    """Parse the text inside ``${...}``; raises :class:`ExprError`.

    >>> parse("-K")
    Negate(operand=Name(name='K', offset=1, length=1), offset=0, length=1)
    """
    return _Parser(text).parse()


def names(tree: Tree) -> list[Name]:
    """Every parameter name used in ``tree``, in order of appearance."""
    if isinstance(tree, Name):
        return [tree]
    if isinstance(tree, Negate):
        return names(tree.operand)
    if isinstance(tree, BinaryOp):
        return names(tree.left) + names(tree.right)
    return []


def evaluate(tree: Tree, env: dict[str, int]) -> int:
    """The integer value of ``tree`` with parameters from ``env``.

    ``//`` and ``%`` follow Python (floor division). Raises :class:`ExprError`
    for an unknown name, division by zero or a value beyond ±10**15.

    >>> evaluate(parse("7 // -2"), {})
    -4
    """
    if isinstance(tree, Number):
        return tree.value
    if isinstance(tree, Name):
        if tree.name not in env:
            raise ExprError(f"unknown parameter '{tree.name}'", tree.offset, tree.length)
        return env[tree.name]
    if isinstance(tree, Negate):
        return -evaluate(tree.operand, env)
    left, right = evaluate(tree.left, env), evaluate(tree.right, env)
    if tree.operator in ("//", "%") and right == 0:
        raise ExprError(f"division by zero ('{tree.operator}' by a value of 0)", tree.offset, tree.length)
    value = {
        "+": lambda: left + right,
        "-": lambda: left - right,
        "*": lambda: left * right,
        "//": lambda: left // right,
        "%": lambda: left % right,
    }[tree.operator]()
    if abs(value) > MAX_MAGNITUDE:
        raise ExprError(f"value {value} is too large (the limit is ±10**15)", tree.offset, tree.length)
    return value


# --- ${...} inside YAML strings ----------------------------------------------------------


@dataclass(frozen=True)
class Piece:
    """One ``${...}`` found in a string: its tree and where its inner text
    starts in the string (``offset``), for error positions."""

    text: str
    tree: Tree
    offset: int


def split_template(text: str) -> list[str | Piece]:
    """Split a YAML string into literal text and parsed ``${...}`` pieces.

    Raises :class:`ExprError` (offsets into ``text``) for an unclosed
    ``${`` or a malformed expression.

    >>> [p if isinstance(p, str) else p.text for p in split_template("block${i + 1}_a")]
    ['block', 'i + 1', '_a']
    """
    parts: list[str | Piece] = []
    position = 0
    while True:
        start = text.find("${", position)
        if start < 0:
            if position < len(text):
                parts.append(text[position:])
            return parts
        if start > position:
            parts.append(text[position:start])
        end = text.find("}", start + 2)
        if end < 0:
            raise ExprError("'${' is never closed", start, 2, hint="close the expression with '}'")
        inner = text[start + 2:end]
        try:
            tree = parse(inner)
        except ExprError as problem:
            raise ExprError(problem.message, start + 2 + problem.offset, problem.length,
                            problem.hint) from None
        parts.append(Piece(inner, tree, start + 2))
        position = end + 1


def is_whole_expression(parts: list[str | Piece]) -> bool:
    """True when a string was exactly one ``${...}`` (so it stands for an int)."""
    return len(parts) == 1 and isinstance(parts[0], Piece)
