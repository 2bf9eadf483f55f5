"""Human units for counts and byte sizes, as budgets and flags write them.

Counts (parameters, MACs, FLOPs) take SI suffixes, powers of 1000:
``5M`` = 5,000,000, ``1.5G`` = 1,500,000,000. Byte sizes take a byte unit:
binary ``KiB MiB GiB TiB`` (powers of 1024) or decimal ``KB MB GB TB``
(powers of 1000), or ``B``; a plain integer is a count, or bytes. A byte size
without its ``B`` (``64M``) is refused rather than guessed.

>>> parse_count("5M"), parse_count(1000), parse_count("2.5K")
(5000000, 1000, 2500)
>>> parse_bytes("64MiB"), parse_bytes("8GiB"), parse_bytes("1.5 KB"), parse_bytes(512)
(67108864, 8589934592, 1500, 512)
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

COUNT_SUFFIXES = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
BYTE_SUFFIXES = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
                 "KIB": 1 << 10, "MIB": 1 << 20, "GIB": 1 << 30, "TIB": 1 << 40}
_NUMBER = re.compile(r"\s*([0-9][0-9_]*(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*\Z")


class UnitError(ValueError):
    """A value that is no count or byte size; the message says what would be."""


def _split(value: object, meaning: str) -> tuple[Decimal, str]:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise UnitError(f"must be {meaning}, but got {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise UnitError(f"must be {meaning}, but got {value}")
        return Decimal(value), ""
    match = _NUMBER.match(value)
    if match is None:
        raise UnitError(f"must be {meaning}, but got {value!r}")
    try:
        return Decimal(match.group(1).replace("_", "")), match.group(2)
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        raise UnitError(f"must be {meaning}, but got {value!r}") from None


def _whole(number: Decimal, value: object, meaning: str) -> int:
    if number != number.to_integral_value():
        raise UnitError(f"must be {meaning}, but {value!r} is not a whole number")
    return int(number)


COUNT_MEANING = "a count such as 25000000, 25M or 4.1G"
BYTES_MEANING = "a byte size such as 64MiB, 8GiB, 500MB or a number of bytes"


def parse_count(value: object) -> int:
    """A non-negative count from an integer or a string with an SI suffix."""
    number, suffix = _split(value, COUNT_MEANING)
    scale = COUNT_SUFFIXES.get(suffix.upper())
    if scale is None or (suffix and suffix.upper() != suffix and suffix != "k"):
        hint = " (a byte size? budgets count bytes only in the *_memory keys)" if suffix.upper() in BYTE_SUFFIXES \
            else ""
        raise UnitError(f"must be {COUNT_MEANING}, but got {value!r}{hint}")
    return _whole(number * scale, value, COUNT_MEANING)


def parse_bytes(value: object) -> int:
    """A byte size from an integer (bytes) or a string with a byte unit."""
    number, suffix = _split(value, BYTES_MEANING)
    if not suffix:
        return _whole(number, value, BYTES_MEANING)
    scale = BYTE_SUFFIXES.get(suffix.upper())
    if scale is None:
        hint = f"; write {value}iB (binary) or {value}B (decimal)" if suffix.upper() in COUNT_SUFFIXES else ""
        raise UnitError(f"must be {BYTES_MEANING}, but got {value!r}{hint}")
    return _whole(number * scale, value, BYTES_MEANING)


def human_count(count: int) -> str:
    """A count with an SI suffix (powers of 1000), as MACs are quoted.

    >>> human_count(1_813_552_128), human_count(416_520), human_count(840)
    ('1.8 G', '416.5 K', '840')
    """
    for suffix, scale in (("T", 10**12), ("G", 10**9), ("M", 10**6), ("K", 10**3)):
        if count >= scale:
            return f"{count / scale:.1f} {suffix}"
    return str(count)


def human_bytes(size: int) -> str:
    """A byte count in binary units.

    >>> human_bytes(246_824), human_bytes(553_432_081 * 4), human_bytes(12)
    ('241.04 KiB', '2.06 GiB', '12 B')
    """
    for suffix, scale in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.2f} {suffix}"
    return f"{size} B"
