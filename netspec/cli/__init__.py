"""The ``netspec`` command line: :func:`main` (the console entry point) and the parser.

``main`` holds the dispatcher and error handling, ``options`` the argument
helpers several commands share, ``commands/<name>.py`` one sub-command each.
"""

from netspec.cli.main import COMMANDS, UNSCALED, build_parser, main

__all__ = ["COMMANDS", "UNSCALED", "build_parser", "main"]
