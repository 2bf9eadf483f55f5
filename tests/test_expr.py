"""``${...}`` typed arithmetic: parsing, evaluation and the errors users see."""

from __future__ import annotations

import pytest

from netspec.spec.expr import ExprError, evaluate, is_whole_expression, names, parse, split_template

ENV = {"K": 64, "S": 2, "blocks": 3, "zero": 0, "i": 3, "rate": 0.25, "act": "relu", "flag": True}


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
    ("2 ** i", 8),
    ("2 ** 3 ** 2", 512),  # right-associative, like Python
    ("-2 ** 2", -4),  # ** binds tighter than unary minus
])
def test_evaluates_integer_arithmetic(text: str, value: int) -> None:
    assert evaluate(parse(text), ENV) == value


@pytest.mark.parametrize(("text", "value"), [
    ("min(K, 8)", 8),
    ("max(1, i, S)", 3),
    ("min(2 ** i, 4) * 2", 8),
    ("rate * 2", 0.5),
    ("1.5 * K", 96.0),
    ("1e-3", 0.001),
    ("max(rate, 0.5)", 0.5),
    ("i == 3", True),
    ("i != 3", False),
    ("i < S", False),
    ("K >= 64", True),
    ("act == act", True),
    ("flag", True),
    ("act", "relu"),
    ("true", True),
    ("flag == false", False),
    ("(i % 2 == 0) == false", True),
])
def test_evaluates_numbers_booleans_strings_and_comparisons(text: str, value) -> None:
    result = evaluate(parse(text), ENV)
    assert result == value and type(result) is type(value)


@pytest.mark.parametrize(("text", "message"), [
    ("act + 1", "'+' needs numbers, but got a string ('relu')"),
    ("flag * 2", "'*' needs numbers, but got a boolean (True)"),
    ("rate // 2", "'//' needs integers, but got a number (0.25)"),
    ("act < 1", "'<' needs numbers, but got a string ('relu')"),
    ("act == 1", "'==' compares values of one kind, but got a string and an integer"),
    ("-act", "'-' needs a number, but got a string ('relu')"),
    ("min(act, 1)", "min(...) takes numbers, but got a string ('relu')"),
    ("2 ** rate", "'**' needs a non-negative integer exponent, but got 0.25"),
    ("2 ** -1", "'**' needs a non-negative integer exponent, but got -1"),
    ("2 ** 100000000", "value 2 ** 100000000 is too large (the limit is ±10**15)"),
    ("10 ** 16", "value 10000000000000000 is too large (the limit is ±10**15)"),
])
def test_types_are_checked(text: str, message: str) -> None:
    with pytest.raises(ExprError) as caught:
        evaluate(parse(text), ENV)
    assert caught.value.message == message


@pytest.mark.parametrize(("text", "message", "offset"), [
    ("", "empty ${...}", 0),
    ("   ", "empty ${...}", 0),
    ("__import__('os')", "function calls are not allowed in ${...}, but got __import__(...)", 0),
    ("abs(K)", "function calls are not allowed in ${...}, but got abs(...)", 0),
    ("os.system", "attribute access is not allowed in ${...}", 2),
    ("K.real", "attribute access is not allowed in ${...}", 1),
    ("K / 2", "'/' is not integer division", 2),
    ("'a'", "string literals are not allowed in ${...}", 0),
    ("K +", "expression ends early; expected a number, a parameter name or '('", 3),
    ("(K + 1", "expression ends early; expected ')'", 6),
    ("K K", "expected an operator (+ - * // % ** or a comparison), but got 'K'", 2),
    ("K + )", "expected a number, a parameter name or '(', but got ')'", 4),
    ("min(K 2)", "expected ',' or ')', but got '2'", 6),
    ("min()", "expected a number, a parameter name or '(', but got ')'", 4),
    ("1 < K < 3", "comparisons cannot be chained", 6),
    ("[1]", "unexpected character '[' in ${...}", 0),
    ("K @ 2", "unexpected character '@' in ${...}", 2),
    ("1" * 13, "number literal has 13 characters; the limit is 12", 0),
    ("(" * 40 + "1" + ")" * 40, "expression nests deeper than 32 levels", 32),
    ("-" * 40 + "1", "expression nests deeper than 32 levels", 32),
    ("K" + " + K" * 60, "expression is 241 characters long; the limit is 200", 0),
])
def test_rejects_everything_but_the_small_language(text: str, message: str, offset: int) -> None:
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
        split_template("conv${K / 2}")
    assert caught.value.offset == len("conv${K ")  # at the '/'
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
