"""The only ways user text reaches generated source: checked identifiers and escaped literals.

A spec's names, description, reference and file path all end up in the
module ``netspec export`` writes and ``netspec.build`` executes. Nothing a
user wrote may change what that module *does*, so every piece of user text
goes through one of these functions:

* :func:`checked_identifier` — a name that is a plain ASCII identifier and
  none of the reserved words (Python keywords, ``None``/``True``/``False``,
  the emitted file's own global names); anything else is a bug in the
  caller's sanitising, and raises instead of emitting;
* :func:`docstring_text` — text escaped so that, inside ``\"\"\"...\"\"\"``,
  it reads back as exactly itself (quotes, backslashes and every
  non-printable character escaped, like ``repr``);
* :func:`float_literal` — a float as source that evaluates to the same
  float, ``float("inf")`` included.

Pure Python; nothing here imports JAX.
"""

from __future__ import annotations

import keyword
import math
import re

ASCII_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

# Names the generated file defines or relies on at module level: a user name
# that became one of these would shadow it (``SeparableConv``) or be a
# syntax error (``None``). Kept in sync with netspec.emit.layers by a test.
MODULE_NAMES = frozenset({"itertools", "jax", "jnp", "nnx", "np", "INPUT_SHAPE", "OUTPUT_SHAPE"})
BUILTIN_NAMES = frozenset({"float", "self", "rngs"})


def is_reserved(name: str, extra: frozenset[str] = frozenset()) -> bool:
    """True for Python keywords (``None``, ``True`` and ``False`` among them) and
    the names the generated file needs for itself."""
    return (keyword.iskeyword(name) or name in MODULE_NAMES or name in BUILTIN_NAMES or name in extra
            or name.startswith("capture_"))


def checked_identifier(name: str, reserved: frozenset[str] = frozenset()) -> str:
    """``name`` unchanged when it is safe to emit as an identifier, else ValueError.

    >>> checked_identifier("conv_1")
    'conv_1'
    >>> checked_identifier("None")
    Traceback (most recent call last):
    ...
    ValueError: 'None' cannot be emitted as an identifier
    """
    if not ASCII_IDENTIFIER.match(name) or is_reserved(name, reserved):
        raise ValueError(f"{name!r} cannot be emitted as an identifier")
    return name


SURROGATES = re.compile("[\ud800-\udfff]")


def _escape(char: str) -> str:
    if char == "\\":
        return "\\\\"
    return repr(char)[1:-1] if not char.isprintable() else char


def docstring_text(text: str) -> str:
    r"""``text`` escaped for the inside of a triple-quoted docstring.

    Runs of whitespace other than newlines become one space (docstrings are
    re-wrapped anyway); backslashes and non-printable characters (NUL,
    bidi controls) are escaped as ``repr`` would (lone surrogates, which
    have no UTF-8 form, become U+FFFD); a double quote
    is escaped where it could end the literal (next to another quote, or
    last). Reading the result back inside triple quotes gives the text again.

    >>> print(docstring_text('x' + '"' * 3 + '; import os'))
    x\"\""; import os
    >>> print(docstring_text('a "quoted" word\x00'))
    a "quoted" word\x00
    """
    text = "".join(" " if char.isspace() and char != "\n" else char for char in text.strip())
    text = SURROGATES.sub("\ufffd", text)  # not text (no UTF-8 form): Python could not even encode them
    escaped = []
    for index, char in enumerate(text):
        following = text[index + 1:index + 2]
        if char == '"' and following in ('"', ""):
            escaped.append('\\"')
        else:
            escaped.append(char if char == "\n" else _escape(char))
    return "".join(escaped)


def float_literal(value: float | int) -> str:
    """Source text that evaluates to ``value``: ``repr`` for finite numbers,
    ``float("inf")``, ``float("-inf")`` or ``float("nan")`` otherwise.

    >>> float_literal(0.001), float_literal(float("inf"))
    ('0.001', 'float("inf")')
    """
    if isinstance(value, float) and not math.isfinite(value):
        return f'float("{value!r}")'
    return repr(value)
