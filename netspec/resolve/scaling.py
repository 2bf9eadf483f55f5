"""Applying a named scale while a spec is resolved (the rules: :mod:`netspec.spec.scales`).

``resolve`` calls :func:`select_scale` once, then :func:`scale_filters`,
:func:`scale_times` and :func:`scaled_input` at the three places a scale
changes the network: conv filters, repeat counts and the input, and gives
``${...}`` the functions ``filters(n)`` and ``repeats(n)`` (:meth:`Scaling.functions`).

Where the spec calls ``filters(...)`` (or ``repeats(...)``) in any expression,
it has said itself which numbers are widths (depths): the automatic rule for
that multiplier is then off, so nothing is scaled twice. EfficientNet needs
this: its expansion conv has ``6 · round_filters(filters_in)`` filters and its
squeeze-and-excitation conv ``round_filters(filters_in) // 4``, neither of
which is ``round_filters`` of the unscaled product.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any

from pydantic import BaseModel

from netspec.diagnostics import Diagnostic, did_you_mean, error
from netspec.ops import has
from netspec.spec.expr import BinaryOp, Call, Negate, Tree
from netspec.spec.scales import Scale, round_filters, round_repeats, scaled_input
from netspec.spec.values import Expr, Interp

__all__ = ["Scaling", "active_scale", "chosen_scale", "select_scale", "scale_attrs", "scale_filters", "scale_times",
           "scale_input", "called_functions"]


@dataclass(frozen=True)
class Scaling:
    """The chosen scale, and whether the spec places width and depth itself (``filters()``, ``repeats()``)."""

    scale: Scale
    explicit_width: bool = False
    explicit_depth: bool = False

    def functions(self) -> dict[str, Callable[[int], int]]:
        """``filters`` and ``repeats`` for ``${...}``: the scale's rounding rules."""
        return {"filters": lambda n: round_filters(n, self.scale), "repeats": lambda n: round_repeats(n, self.scale)}

# The scale chosen on the command line (--scale), for every spec a command loads
# while it runs; the library's own calls pass ``scale=`` explicitly instead.
_CHOSEN: ContextVar[str | None] = ContextVar("netspec_scale", default=None)


@contextmanager
def chosen_scale(name: str | None) -> Iterator[None]:
    """Resolve every spec loaded inside the block at scale ``name`` (None: unscaled)."""
    token = _CHOSEN.set(name)
    try:
        yield
    finally:
        _CHOSEN.reset(token)


def active_scale(explicit: str | None = None) -> str | None:
    """``explicit`` when given, else the scale chosen with :func:`chosen_scale`."""
    return explicit if explicit is not None else _CHOSEN.get()


def select_scale(spec, doc, name: str | None) -> tuple[Scaling | None, list[Diagnostic]]:
    """The scale ``name`` of ``spec`` (None when no scale is asked for), or an error saying which exist."""
    if name is None:
        return None, []
    scales = spec.scales or {}
    if name not in scales:
        if not scales:
            return None, [error("unknown-scale", f"--scale {name}: this spec declares no scales",
                                doc.span(()), "declare them under scales: (see docs/analysis.md), or drop --scale")]
        return None, [error("unknown-scale", f"--scale {name}: the spec has no scale '{name}'; its scales: "
                                             f"{', '.join(scales)}", doc.key_span(("scales",)),
                            did_you_mean(name, scales))]
    scale = scales[name]
    if scale.resolution is not None:
        spatial = len(spec.input) - 1
        if spatial < 1 or len(scale.resolution) not in (1, spatial):
            return None, [error("scale-resolution", f"scale '{name}' gives resolution {list(scale.resolution)} but "
                                                    f"the input {list(spec.input)} has {max(spatial, 0)} spatial axes",
                                doc.key_span(("scales", name, "resolution")))]
    called = called_functions(spec)
    return Scaling(scale, explicit_width="filters" in called, explicit_depth="repeats" in called), []


def scale_filters(filters: int, scaling: Scaling | None) -> int:
    """A conv's K under the automatic width rule (unchanged where the spec calls filters() itself)."""
    if scaling is None or scaling.explicit_width:
        return filters
    return round_filters(filters, scaling.scale)


def scale_times(times: int, scaling: Scaling | None) -> int:
    """A repeat's times under the automatic depth rule (unchanged where the spec calls repeats() itself)."""
    if scaling is None or scaling.explicit_depth:
        return times
    return round_repeats(times, scaling.scale)


def scale_attrs(op: str, attrs, scaling: Scaling | None):
    """``attrs`` of a conv or separable_conv with scaled filters; other ops unchanged."""
    if not has(op, "width_scaled"):
        return attrs
    filters = scale_filters(attrs.filters, scaling)
    return attrs if filters == attrs.filters else replace(attrs, filters=filters)


def scale_input(shape: tuple[int, ...], scaling: Scaling | None) -> tuple[int, ...]:
    return shape if scaling is None else scaled_input(shape, scaling.scale)


def called_functions(spec: Any) -> set[str]:
    """The names of the functions that the ``${...}`` expressions anywhere in ``spec`` call."""
    found: set[str] = set()
    pending: list[Any] = [spec]
    while pending:
        value = pending.pop()
        if isinstance(value, Expr):
            _calls(value.tree, found)
        elif isinstance(value, Interp):
            pending.extend(value.parts)
        elif isinstance(value, BaseModel):
            pending.extend(vars(value).values())
        elif isinstance(value, dict):
            pending.extend(value.values())
        elif isinstance(value, (list, tuple)):
            pending.extend(value)
        elif hasattr(value, "__dataclass_fields__"):
            pending.extend(vars(value).values())
    return found


def _calls(tree: Tree, found: set[str]) -> None:
    if isinstance(tree, Call):
        found.add(tree.function)
        for argument in tree.arguments:
            _calls(argument, found)
    elif isinstance(tree, Negate):
        _calls(tree.operand, found)
    elif isinstance(tree, BinaryOp):
        _calls(tree.left, found)
        _calls(tree.right, found)
