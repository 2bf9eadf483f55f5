"""Applying a named scale while a spec is resolved (the rules: :mod:`netspec.spec.scales`).

``resolve`` calls :func:`select_scale` once, then :func:`scale_filters`,
:func:`scale_times` and :func:`scaled_input` at the three places a scale
changes the network: conv filters, repeat counts and the input.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import replace

from netspec.diagnostics import Diagnostic, did_you_mean, error
from netspec.ops import has
from netspec.spec.scales import Scale, round_filters, round_repeats, scaled_input

__all__ = ["active_scale", "chosen_scale", "select_scale", "scale_attrs", "scale_filters", "scale_times", "scale_input"]

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


def select_scale(spec, doc, name: str | None) -> tuple[Scale | None, list[Diagnostic]]:
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
    return scale, []


def scale_filters(filters: int, scale: Scale | None) -> int:
    return filters if scale is None else round_filters(filters, scale)


def scale_times(times: int, scale: Scale | None) -> int:
    return times if scale is None else round_repeats(times, scale)


def scale_attrs(op: str, attrs, scale: Scale | None):
    """``attrs`` of a conv or separable_conv with scaled filters; other ops unchanged."""
    if scale is None or not has(op, "width_scaled"):
        return attrs
    return replace(attrs, filters=round_filters(attrs.filters, scale))


def scale_input(shape: tuple[int, ...], scale: Scale | None) -> tuple[int, ...]:
    return shape if scale is None else scaled_input(shape, scale)
