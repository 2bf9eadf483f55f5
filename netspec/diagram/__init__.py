"""The documented deep path ``netspec.diagram``; the code lives in :mod:`netspec.report.diagram`."""

from netspec.report.diagram import graphviz_available, to_dot, to_svg

__all__ = ["graphviz_available", "to_dot", "to_svg"]
