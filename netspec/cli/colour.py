"""Whether to colour what a command prints: a terminal that is not ``dumb``, and no ``NO_COLOR``."""

from __future__ import annotations

import os
from typing import TextIO


def use_color(stream: TextIO) -> bool:
    """True when ``stream`` is a terminal that takes colour (https://no-color.org)."""
    return stream.isatty() and os.environ.get("NO_COLOR") is None and os.environ.get("TERM") != "dumb"
