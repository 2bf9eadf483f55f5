"""Reading a csv time series and choosing its input and target columns.

:func:`read_table` reads every column (one row per time step, an optional
header row); :func:`select_columns` picks the network's inputs and targets:

- ``feature_columns`` (``--feature-columns``): the input channels, in that
  order; default every numeric column except those skipped.
- ``target_columns`` (``--target-columns``): what is predicted; default the
  last input column(s), as many as the spec's output asks for.
- ``skip_columns`` (``--skip-columns``): never used.

Columns are named by their header (``price``) or by number, counting from 1
(``1``; a file without a header has only numbers). A column holding text
(e.g. dates) is skipped with a note; naming it is an error. A leading
numeric column that is a row index — integers counting up by one constant
step, or counting up under an index name (``index``, ``id``, an empty
header, pandas' ``Unnamed: 0``) — is skipped with a note too: it would
otherwise be an input that grows without bound. Naming it in
``feature_columns`` keeps it.

NumPy and the standard library's csv reader only.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from netspec.data.dataset import data_error
from netspec.diagnostics import NetspecError, Span, did_you_mean, error

INDEX_NAMES = ("", "index", "idx", "id", "unnamed: 0", "row", "step", "t")


@dataclass(frozen=True)
class Table:
    """Every column of a csv file: ``values`` ``(L, width)`` float64 with NaN in text columns."""

    path: Path
    names: list[str]
    values: np.ndarray
    numeric: list[bool]
    header: bool
    text_example: dict[int, tuple[int, str]]  # text column -> (line, first text cell)


@dataclass(frozen=True)
class ColumnChoice:
    """Column names or 1-based numbers as given (None: the default, see the module docstring)."""

    feature_columns: tuple[str, ...] | None = None
    target_columns: tuple[str, ...] | None = None
    skip_columns: tuple[str, ...] = ()

    @classmethod
    def from_options(cls, options: dict | None) -> ColumnChoice:
        """From recorded/command-line data options (lists of names, or absent)."""
        options = options or {}

        def names(key: str) -> tuple[str, ...] | None:
            value = options.get(key)
            return None if value is None else tuple(str(v) for v in value)

        return cls(names("feature_columns"), names("target_columns"), names("skip_columns") or ())


@dataclass(frozen=True)
class Selection:
    """``inputs`` ``(L, C)`` and ``targets`` ``(L, K)`` float32 (``targets`` None: the default,
    the last input columns), their names, and what was left out and why (notes for the user)."""

    inputs: np.ndarray
    targets: np.ndarray | None
    input_names: list[str]
    target_names: list[str] | None
    notes: list[str]


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def read_table(path: Path) -> Table:
    """Every column of the csv file at ``path`` (diagnostics for unreadable or ragged files)."""
    rows = _nonblank_rows(path)
    width = len(rows[0][1])
    has_header = _has_header(rows)
    names = [cell.strip() for cell in rows[0][1]] if has_header else [f"column {i + 1}" for i in range(width)]
    body = rows[1:] if has_header else rows
    cells = _numbers(path, body, width)
    numeric = [any(row[c] is not None for row in cells) and bool(cells) for c in range(width)]
    _check_numeric_cells(path, body, names, numeric)
    values = np.array([[np.nan if v is None else v for v in row] for row in cells], dtype=np.float64)
    values = values.reshape(len(cells), width)
    _check_finite(path, body, values[:, numeric])
    text_example = {c: body[0] for c in range(width) if not numeric[c] and body}
    return Table(path, names, values, numeric, has_header,
                 {c: (line, row[c]) for c, (line, row) in text_example.items()})


Row = tuple[int, list[str]]  # (line number, cells)


def _nonblank_rows(path: Path) -> list[Row]:
    """The rows that hold anything, with their line numbers; a diagnostic when the file cannot be
    read or holds none."""
    from netspec.spec.file_limits import check_regular

    try:
        check_regular(path)  # an endless device or a FIFO with no writer would hang the reader
        with open(path, newline="", encoding="utf-8-sig") as stream:
            rows = [
                (number, row)
                for number, row in enumerate(csv.reader(stream), start=1)
                if any(c.strip() for c in row)
            ]
    except FileNotFoundError:
        raise data_error("data-not-found", f"csv:{path}: no such file") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise data_error("data-corrupt", f"cannot read {path}: {exc}") from None
    if not rows:
        raise data_error("data-empty", f"{path} holds no rows")
    return rows


def _has_header(rows: list[Row]) -> bool:
    """A header names numeric columns: text above a number (a date column alone is not a header)."""
    first, second = rows[0][1], rows[1][1] if len(rows) > 1 else rows[0][1]
    return any(
        _number(cell) is None and c < len(second) and _number(second[c]) is not None
        for c, cell in enumerate(first)
    )


def _numbers(path: Path, body: list[Row], width: int) -> list[list[float | None]]:
    """Every cell as a number (None where it is not one); a diagnostic at the first ragged row."""
    for number, row in body:
        if len(row) != width:
            raise _cell_error(path, number, row, None, f"row has {len(row)} fields but the first row has {width}")
    return [[_number(cell) for cell in row] for _, row in body]


def _check_numeric_cells(path: Path, body: list[Row], names: list[str], numeric: list[bool]) -> None:
    """A column numeric anywhere must be numeric everywhere: a diagnostic at the first cell that is not."""
    for number, row in body:
        for c, is_numeric in enumerate(numeric):
            if is_numeric and _number(row[c]) is None:
                raise _cell_error(path, number, row, c, f"'{row[c]}' in column '{names[c]}' is not a number")


def _check_finite(path: Path, body: list[Row], kept: np.ndarray) -> None:
    """A diagnostic at the first row with a nan or inf in a numeric column."""
    if not np.isfinite(kept).all():
        where = int(np.argwhere(~np.isfinite(kept))[0][0])
        number, row = body[where]
        raise _cell_error(path, number, row, None, "the row holds a non-finite value (nan or inf)")


def _cell_error(path: Path, line: int, row: list[str], column: int | None, message: str) -> NetspecError:
    """A diagnostic pointing at the csv row (and cell, when known)."""
    snippet = ",".join(row)
    col = 1 + sum(len(cell) + 1 for cell in row[:column]) if column is not None else 1
    length = len(row[column]) if column is not None else len(snippet)
    span = Span(str(path), line, col, max(1, length), snippet)
    return NetspecError(
        [error("data-csv", message, span, hint="fix or drop the row (one numeric value per column)")]
    )


def looks_like_index(name: str, column: np.ndarray) -> bool:
    """Integers counting up by one constant step, or counting up under an index-like name.

    >>> looks_like_index("year", np.array([2001.0, 2002, 2003])), looks_like_index("", np.array([0.0, 2, 7]))
    (True, True)
    >>> looks_like_index("price", np.array([3.0, 5, 7.5])), looks_like_index("a", np.array([1.0, 2]))
    (False, False)
    """
    if len(column) < 3 or not np.array_equal(column, np.round(column)):
        return False
    steps = np.diff(column)
    if not (steps > 0).all():
        return False
    return bool((steps == steps[0]).all()) or name.strip().lower() in INDEX_NAMES


def _resolve(table: Table, given: tuple[str, ...], option: str) -> list[int]:
    """Column indices for names or 1-based numbers; diagnostics name unknown and text columns."""
    found = []
    for word in given:
        word = word.strip()
        if word in table.names:
            index = table.names.index(word)
        elif word.isdigit() and 1 <= int(word) <= len(table.names):
            index = int(word) - 1
        else:
            guess = did_you_mean(word, [n for n in table.names if n])
            listing = ", ".join(f"{i + 1} '{n}'" for i, n in enumerate(table.names))
            raise data_error("data-column", f"{option}: {table.path.name} has no column '{word}'",
                             hint=(guess + " " if guess else "") + f"its columns are {listing}")
        if not table.numeric[index]:
            line, cell = table.text_example[index]
            raise data_error("data-column", f"{option}: column '{table.names[index]}' of {table.path.name} "
                             f"is not numeric (line {line} holds '{cell}')",
                             hint="inputs and targets must be numbers; text columns such as dates are "
                                  "left out by themselves")
        if index in found:
            raise data_error("data-column", f"{option}: column '{table.names[index]}' is named twice")
        found.append(index)
    return found


def select_columns(table: Table, choice: ColumnChoice) -> Selection:
    """The inputs and targets ``choice`` asks for (see the module docstring)."""
    names, notes = table.names, []
    skipped = set(_resolve(table, choice.skip_columns, "--skip-columns"))
    targets = _resolve(table, choice.target_columns, "--target-columns") if choice.target_columns else None
    text = [c for c in range(len(names)) if not table.numeric[c]]
    if text:
        notes.append(f"Ignored non-numeric columns of {table.path.name}: {', '.join(names[c] for c in text)}.")
    if choice.feature_columns is not None:
        inputs = _resolve(table, choice.feature_columns, "--feature-columns")
        clash = [names[c] for c in inputs if c in skipped]
        if clash:
            raise data_error("data-column", f"column '{clash[0]}' is both a feature and skipped",
                             hint="name it in --feature-columns or --skip-columns, not both")
    else:
        inputs = [c for c in range(len(names)) if table.numeric[c] and c not in skipped]
        # A file's only numeric column is the series itself, even when it counts up.
        if (inputs[:1] == [0] and sum(table.numeric) > 1 and 0 not in (targets or [])
                and looks_like_index(names[0], table.values[:, 0])):
            inputs = inputs[1:]
            values = table.values[:, 0]
            label = f"'{names[0]}'" if names[0] else "1 (no header)"
            notes.append(f"Skipped column {label} of {table.path.name}: it counts rows "
                         f"({values[0]:g}, {values[1]:g}, ... {values[-1]:g}), an index, not a measurement; "
                         f"name it in --feature-columns to use it.")
    if targets is not None and any(c in skipped for c in targets):
        raise data_error("data-column", "a target column is also in --skip-columns",
                         hint="name it in --target-columns or --skip-columns, not both")
    if not inputs:
        raise data_error("data-empty", f"{table.path} leaves no numeric input columns",
                         hint="one row per time step, numbers in columns; check --skip-columns"
                         + ("; " + notes[-1] if notes and notes[-1].startswith("Skipped") else ""))
    return Selection(
        inputs=table.values[:, inputs].astype(np.float32),
        targets=None if targets is None else table.values[:, targets].astype(np.float32),
        input_names=[names[c] for c in inputs],
        target_names=None if targets is None else [names[c] for c in targets],
        notes=notes,
    )
