"""``${...}``: typed arithmetic over template parameters.

The language is deliberately tiny: integer and decimal literals, ``true`` and
``false``, parameter names, ``+ - * // % **``, unary minus, the comparisons
``< <= > >= == !=``, ``min(...)``, ``max(...)``, the scale functions
``filters(n)`` and ``repeats(n)`` (``n`` after the chosen scale's width or
depth rule; ``n`` itself unscaled), ``letter(i)`` (``a`` for 0, ``b`` for 1,
..., for names such as Keras' ``block2b``) and parentheses. It is
tokenised and parsed by hand (recursive descent) and evaluated by walking the
tree, never by ``eval``, so ``${__import__('os')}`` is just a syntax error.

Values are integers, decimal numbers, booleans or strings (a string can only
come from a template parameter, e.g. an activation name). Types are checked
as the tree is evaluated: arithmetic takes numbers, ``//`` and ``%`` take
integers, ``**`` takes a non-negative integer exponent, ordering takes
numbers, ``==`` and ``!=`` compare any two values of one kind.

>>> expression = parse("4 * K + (S - 1) // 2")
>>> evaluate(expression, {"K": 64, "S": 3})
257
>>> [name.name for name in names(expression)]
['K', 'S']
>>> evaluate(parse("max(2 ** i, 4)"), {"i": 3}), evaluate(parse("i == 0"), {"i": 3})
(8, False)

A YAML string that is exactly ``"${...}"`` stands for its value; ``${...}``
inside longer text (``name: "block${i}"``) is interpolated, which netspec
allows only in names (see :func:`split_template`).

Errors are :class:`ExprError` with an ``offset`` into the expression text, so
callers can point a diagnostic at the offending character inside the YAML.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

MAX_LENGTH = 200  # characters inside one ${...}
MAX_DEPTH = 32  # nested parentheses / unary minus
MAX_DIGITS = 12  # of an integer literal
MAX_MAGNITUDE = 10**15  # of any intermediate value
FUNCTIONS = ("min", "max", "filters", "repeats", "letter")
SCALE_FUNCTIONS = ("filters", "repeats")  # their values depend on the scale: the caller supplies them
COMPARISONS = ("<", "<=", ">", ">=", "==", "!=")
Value = int | float | bool | str


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
    value: int | float | bool  # a literal: 42, 0.5, true
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
    operator: str  # one of + - * // % ** and the comparisons
    left: Tree
    right: Tree
    offset: int  # of the operator
    length: int


@dataclass(frozen=True)
class Call:
    function: str  # one of FUNCTIONS
    arguments: tuple[Tree, ...]
    offset: int
    length: int


Tree = Number | Name | Negate | BinaryOp | Call


# --- tokens -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str  # "int", "float", "name", "op", "(", ")", ",", "end"
    text: str
    offset: int


_TOKEN = re.compile(r"\s*(?:(?P<float>\d+\.\d*(?:[eE][-+]?\d+)?|\d+[eE][-+]?\d+)|(?P<int>\d+)"
                    r"|(?P<name>[A-Za-z_]\w*)|(?P<op>//|\*\*|<=|>=|==|!=|[-+*/%()<>,]))")


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
        if kind in ("int", "float") and len(value) > MAX_DIGITS:
            raise ExprError(f"number literal has {len(value)} characters; the limit is {MAX_DIGITS}",
                            start, len(value))
        if kind == "op":
            if value == "/":
                raise ExprError("'/' is not integer division", start, 1,
                                hint="use // (floor division) to keep sizes integral")
            kind = value if value in ("(", ")", ",") else "op"
        tokens.append(_Token(kind, value, start))
        position = match.end()


_ALLOWED = "use only numbers, parameter names, + - * // % **, comparisons, min, max, filters, repeats, letter and ()"


def _call(name: _Token) -> ExprError:
    return ExprError(f"function calls are not allowed in ${{...}}, but got {name.text}(...)", name.offset,
                     len(name.text), hint="the only functions are min, max, filters, repeats and letter")


def _bad_character(text: str, position: int) -> ExprError:
    character = text[position]
    if character == ".":
        return ExprError("attribute access is not allowed in ${...}", position, hint=_ALLOWED)
    if character in "'\"":
        return ExprError("string literals are not allowed in ${...}", position,
                         hint="pass text as a template parameter; " + _ALLOWED)
    return ExprError(f"unexpected character {character!r} in ${{...}}", position, hint=_ALLOWED)


# --- parser: comparison := arith (("<" | "<=" | ">" | ">=" | "==" | "!=") arith)? ;
#             arith := term (("+" | "-") term)* ; term := unary (("*" | "//" | "%") unary)* ;
#             unary := "-" unary | "+" unary | power ; power := atom ("**" unary)? ;
#             atom := number | true | false | name | function "(" comparison ("," comparison)* ")"
#                   | "(" comparison ")"


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
                            hint="write an expression such as ${4 * K}")
        tree = self.comparison()
        if self.token.kind != "end":
            raise self.unexpected("an operator (+ - * // % ** or a comparison)")
        return tree

    def comparison(self) -> Tree:
        tree = self.expression()
        if self.token.kind == "op" and self.token.text in COMPARISONS:
            operator = self.advance()
            tree = BinaryOp(operator.text, tree, self.expression(), operator.offset, len(operator.text))
            if self.token.kind == "op" and self.token.text in COMPARISONS:
                raise ExprError("comparisons cannot be chained", self.token.offset, len(self.token.text),
                                hint="compare two values at a time")
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
        return self.power()

    def power(self) -> Tree:
        tree = self.atom()
        if self.token.kind == "op" and self.token.text == "**":
            operator = self.advance()
            with _Nesting(self, operator):
                tree = BinaryOp("**", tree, self.unary(), operator.offset, 2)
        return tree

    def atom(self) -> Tree:
        token = self.token
        if token.kind in ("int", "float"):
            self.advance()
            value = int(token.text) if token.kind == "int" else float(token.text)
            if abs(value) > MAX_MAGNITUDE:
                raise ExprError(f"number {token.text} is too large (the limit is ±10**15)", token.offset,
                                len(token.text))
            return Number(value, token.offset, len(token.text))
        if token.kind == "name":
            self.advance()
            if self.token.kind == "(":
                if token.text not in FUNCTIONS:
                    raise _call(token)
                return self.call(token)
            if token.text in ("true", "false"):
                return Number(token.text == "true", token.offset, len(token.text))
            return Name(token.text, token.offset, len(token.text))
        if token.kind == "(":
            self.advance()
            with _Nesting(self, token):
                tree = self.comparison()
            if self.token.kind != ")":
                raise self.unexpected("')'")
            self.advance()
            return tree
        raise self.unexpected("a number, a parameter name or '('")

    def call(self, function: _Token) -> Tree:
        opening = self.advance()
        arguments = []
        with _Nesting(self, opening):
            while True:
                arguments.append(self.comparison())
                if self.token.kind == ",":
                    self.advance()
                    continue
                if self.token.kind != ")":
                    raise self.unexpected("',' or ')'")
                break
        closing = self.advance()
        return Call(function.text, tuple(arguments), function.offset, closing.offset + 1 - function.offset)

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
    if isinstance(tree, Call):
        return [name for argument in tree.arguments for name in names(argument)]
    return []


def kind_of(value: Value) -> str:
    """How a value's type reads in a message: an integer, a number, a boolean, a string."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    return "a string"


def _is_number(value: Value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _operand(value: Value, tree: Tree, wanted: str, integer: bool = False) -> None:
    if not _is_number(value) or (integer and not isinstance(value, int)):
        raise ExprError(f"'{tree.operator}' needs {wanted}, but got {kind_of(value)} ({value!r})",  # type: ignore[union-attr]
                        tree.offset, tree.length)


def evaluate(tree: Tree, env: dict[str, Value], scaled: Mapping[str, Callable[[int], int]] | None = None) -> Value:
    """The value of ``tree`` with parameters from ``env``; ``scaled`` gives ``filters`` and
    ``repeats`` under a scale (missing: the identity, as in an unscaled network).

    ``//`` and ``%`` follow Python (floor division). Raises :class:`ExprError`
    for an unknown name, a value of the wrong type for its operator, division
    by zero or a number beyond ±10**15.

    >>> evaluate(parse("7 // -2"), {})
    -4
    >>> evaluate(parse("6 * filters(40)"), {}), evaluate(parse("6 * filters(40)"), {}, {"filters": lambda n: n + 8})
    (240, 288)
    """
    if isinstance(tree, Number):
        return tree.value
    if isinstance(tree, Name):
        if tree.name not in env:
            raise ExprError(f"unknown parameter '{tree.name}'", tree.offset, tree.length)
        return env[tree.name]
    if isinstance(tree, Negate):
        value = evaluate(tree.operand, env, scaled)
        if not _is_number(value):
            raise ExprError(f"'-' needs a number, but got {kind_of(value)} ({value!r})", tree.offset, 1)
        return -value  # type: ignore[operator]
    if isinstance(tree, Call):
        return _call_value(tree, [evaluate(argument, env, scaled) for argument in tree.arguments], scaled or {})
    left, right = evaluate(tree.left, env, scaled), evaluate(tree.right, env, scaled)
    if tree.operator in ("==", "!="):
        if _is_number(left) != _is_number(right) or (not _is_number(left) and type(left) is not type(right)):
            raise ExprError(f"'{tree.operator}' compares values of one kind, but got {kind_of(left)} and "
                            f"{kind_of(right)}", tree.offset, tree.length)
        return (left == right) == (tree.operator == "==")
    integer = tree.operator in ("//", "%")
    wanted = "integers" if integer else "numbers"
    _operand(left, tree, wanted, integer)
    _operand(right, tree, wanted, integer)
    if tree.operator in COMPARISONS:
        return {"<": left < right, "<=": left <= right, ">": left > right,  # type: ignore[operator]
                ">=": left >= right}[tree.operator]  # type: ignore[operator]
    if integer and right == 0:
        raise ExprError(f"division by zero ('{tree.operator}' by a value of 0)", tree.offset, tree.length)
    if tree.operator == "**":
        value = _power(left, right, tree)  # type: ignore[arg-type]
    else:
        value = {
            "+": lambda: left + right,  # type: ignore[operator]
            "-": lambda: left - right,  # type: ignore[operator]
            "*": lambda: left * right,  # type: ignore[operator]
            "//": lambda: left // right,  # type: ignore[operator]
            "%": lambda: left % right,  # type: ignore[operator]
        }[tree.operator]()
    if abs(value) > MAX_MAGNITUDE:
        raise ExprError(f"value {value} is too large (the limit is ±10**15)", tree.offset, tree.length)
    return value


def _power(base: int | float, exponent: int | float, tree: BinaryOp) -> int | float:
    if not isinstance(exponent, int) or exponent < 0:
        raise ExprError(f"'**' needs a non-negative integer exponent, but got {exponent!r}", tree.offset,
                        tree.length)
    if abs(base) > 1 and exponent > 64:  # |base| >= 2: beyond 2**64 > 10**15, without computing it
        raise ExprError(f"value {base} ** {exponent} is too large (the limit is ±10**15)", tree.offset,
                        tree.length)
    return base**exponent


def _call_value(tree: Call, arguments: list[Value], scaled: Mapping[str, Callable[[int], int]]) -> Value:
    if tree.function in SCALE_FUNCTIONS or tree.function == "letter":
        return _one_integer_call(tree, arguments, scaled)
    for argument in arguments:
        if not _is_number(argument):
            raise ExprError(f"{tree.function}(...) takes numbers, but got {kind_of(argument)} ({argument!r})",
                            tree.offset, tree.length)
    return (min if tree.function == "min" else max)(arguments)  # type: ignore[type-var]


def _one_integer_call(tree: Call, arguments: list[Value], scaled: Mapping[str, Callable[[int], int]]) -> Value:
    """filters(n), repeats(n) (n >= 1) and letter(i) (0 <= i < 26): one integer argument each."""
    low, high = (0, 25) if tree.function == "letter" else (1, MAX_MAGNITUDE)
    if len(arguments) != 1 or isinstance(arguments[0], bool) or not isinstance(arguments[0], int) \
            or not low <= arguments[0] <= high:
        got = ", ".join(repr(argument) for argument in arguments)
        raise ExprError(f"{tree.function}(...) takes one integer from {low} to {high:,}, but got ({got})",
                        tree.offset, tree.length)
    if tree.function == "letter":
        return chr(ord("a") + arguments[0])
    rule = scaled.get(tree.function)
    return arguments[0] if rule is None else rule(arguments[0])


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
    """True when a string was exactly one ``${...}`` (so it stands for its value, not for text)."""
    return len(parts) == 1 and isinstance(parts[0], Piece)
