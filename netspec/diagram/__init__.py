"""The documented deep path ``netspec.diagram``; the code lives in :mod:`netspec.report.diagram`."""

from netspec.report.diagram import to_dot
from netspec.report.render import graphviz_available, to_svg

__all__ = ["graphviz_available", "to_dot", "to_svg"]
