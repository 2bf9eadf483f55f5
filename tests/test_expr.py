"""``${...}`` integer arithmetic: parsing, evaluation and the errors users see."""

from __future__ import annotations

import pytest

from netspec.spec.expr import ExprError, evaluate, is_whole_expression, names, parse, split_template

ENV = {"K": 64, "S": 2, "blocks": 3, "zero": 0}


@pytest.mark.parametrize(("text", "value"), [
    ("42", 42),
    ("K", 64),
    ("4 * K", 256),
    ("K*4", 256),
    ("blocks - 1", 2),
    ("-K", -64),
    ("--K", 64),
    ("+K", 64),
    ("2 + 3 * 4", 14),  # * binds tighter than +
    ("(2 + 3) * 4", 20),
    ("10 - 4 - 3", 3),  # left-associative
    ("K // S", 32),
    ("7 // -2", -4),  # floor division, like Python
    ("7 % 3", 1),
    ("-7 % 3", 2),
    ("K // S // 2", 16),
    ("((K))", 64),
    ("  K  +  1  ", 65),
    ("4 * K // (S + 2)", 64),
])
def test_evaluates_integer_arithmetic(text: str, value: int) -> None:
    assert evaluate(parse(text), ENV) == value


@pytest.mark.parametrize(("text", "message", "offset"), [
    ("", "empty ${...}", 0),
    ("   ", "empty ${...}", 0),
    ("__import__('os')", "function calls are not allowed in ${...}, but got __import__(...)", 0),
    ("os.system", "attribute access and decimal points are not allowed in ${...}", 2),
    ("K.real", "attribute access and decimal points are not allowed in ${...}", 1),
    ("1.5 * K", "only integers are allowed in ${...}, but got a decimal number", 0),
    ("2 ** 10", "there is no power operator '**' in ${...}", 2),
    ("K / 2", "'/' is not integer division", 2),
    ("'a'", "strings are not allowed in ${...}", 0),
    ("K +", "expression ends early; expected an integer, a parameter name or '('", 3),
    ("(K + 1", "expression ends early; expected ')'", 6),
    ("K K", "expected an operator (+ - * // %), but got 'K'", 2),
    ("K + )", "expected an integer, a parameter name or '(', but got ')'", 4),
    ("[1]", "unexpected character '[' in ${...}", 0),
    ("K @ 2", "unexpected character '@' in ${...}", 2),
    ("1" * 13, "integer literal has 13 digits; the limit is 12", 0),
    ("(" * 40 + "1" + ")" * 40, "expression nests deeper than 32 levels", 32),
    ("-" * 40 + "1", "expression nests deeper than 32 levels", 32),
    ("K" + " + K" * 60, "expression is 241 characters long; the limit is 200", 0),
])
def test_rejects_everything_but_integer_arithmetic(text: str, message: str, offset: int) -> None:
    with pytest.raises(ExprError) as caught:
        parse(text)
    assert caught.value.message == message
    assert caught.value.offset == offset


@pytest.mark.parametrize(("text", "message", "offset"), [
    ("Kk * 2", "unknown parameter 'Kk'", 0),
    ("K // zero", "division by zero ('//' by a value of 0)", 2),
    ("K % (S - 2)", "division by zero ('%' by a value of 0)", 2),
    ("999999999999 * 999999999999", "value 999999999998000000000001 is too large (the limit is ±10**15)", 13),
])
def test_evaluation_errors_point_at_their_cause(text: str, message: str, offset: int) -> None:
    with pytest.raises(ExprError) as caught:
        evaluate(parse(text), ENV)
    assert (caught.value.message, caught.value.offset) == (message, offset)


def test_names_lists_parameters_in_order() -> None:
    found = names(parse("4 * K + (S - K) // blocks"))
    assert [(name.name, name.offset) for name in found] == [("K", 4), ("S", 9), ("K", 13), ("blocks", 19)]


@pytest.mark.parametrize(("text", "parts", "whole"), [
    ("${K}", ["K"], True),
    ("${4 * K}", ["4 * K"], True),
    ("block${i}", ["block", "i"], False),
    ("b${i}_c${j + 1}", ["b", "i", "_c", "j + 1"], False),
    ("${K}x", ["K", "x"], False),
    ("plain", ["plain"], False),
])
def test_split_template(text: str, parts: list[str], whole: bool) -> None:
    found = split_template(text)
    assert [part if isinstance(part, str) else part.text for part in found] == parts
    assert is_whole_expression(found) is whole


def test_split_template_offsets_point_into_the_string() -> None:
    with pytest.raises(ExprError) as caught:
        split_template("conv${K ** 2}")
    assert caught.value.offset == len("conv${K ")  # at the '**'
    with pytest.raises(ExprError) as caught:
        split_template("name${K")
    assert (caught.value.message, caught.value.offset) == ("'${' is never closed", 4)
    piece = split_template("ab${K}")[1]
    assert piece.offset == 4


def test_evaluation_never_executes_code() -> None:
    """The classic escapes are syntax errors, so nothing is ever evaluated."""
    for text in ("__import__('os').system('true')", "().__class__", "exec('1')", "lambda: 1", "[x for x in K]"):
        with pytest.raises(ExprError):
            parse(text)
