"""The ``netspec`` command line.

Each sub-command lives in ``netspec/cli/commands/<name>.py`` (``-`` as ``_``) with ``HELP``,
``add_arguments(parser)`` and ``run(args) -> int``. Command modules import
JAX only inside ``run``, so building the parser (and running ``check`` or
``summary``) never loads it.

Exit status: 0 success, 1 the spec/data/run has errors (diagnostics
printed), 2 wrong command-line usage, 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib
import os
import sys

from netspec.allocator import keep_freed_memory
from netspec.cli.colour import use_color
from netspec.diagnostics import NetspecError, render
from netspec.resolve.scaling import chosen_scale
from netspec.version import __version__

# Order shown in --help. Every name is a module in netspec.cli.commands.
COMMANDS = (
    "check", "summary", "diff", "expand", "schema", "export",
    "train", "eval", "predict", "bench",
    "features", "explain", "filters", "activations", "top-patches", "maximize", "compare", "augment-preview", "graph", "weights",
)

UNSCALED = ("schema", "diff", "compare")  # commands without one spec to scale (diff has its own --scale-a/--scale-b)

DESCRIPTION = "netspec: compile declarative YAML network specs into Flax NNX models, check them, train them."


# Errors writing the command's output (stdout to /dev/full, a full disk, a read-only file system):
# the user's environment, not a bug.
OUTPUT_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO, errno.EFBIG}


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not fail again."""
    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="netspec", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"netspec {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        module = importlib.import_module(f"netspec.cli.commands.{name.replace('-', '_')}")
        command_parser = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(command_parser)
        if name not in UNSCALED:
            command_parser.add_argument("--scale", metavar="NAME", default=None,
                                        help="resolve the spec at one of its named scales (scales: in the spec)")
        command_parser.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    keep_freed_memory()  # before JAX starts its threads (netspec/allocator.py)
    parser = build_parser()
    args = parser.parse_args(argv)  # exits 2 on usage errors
    args.argv = list(argv) if argv is not None else sys.argv[1:]  # to rerun the command (netspec.cli.supervise)
    try:
        with chosen_scale(getattr(args, "scale", None)):
            status = int(args._run(args) or 0)
        sys.stdout.flush()  # a full device must fail here, inside the handlers, not at exit
        return status
    except NetspecError as exc:
        print(render(exc.diagnostics, color=use_color(sys.stderr)), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("netspec: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `netspec summary ... | head`
        return 0
    except OSError as exc:
        if exc.errno not in OUTPUT_ERRORS:
            raise
        _silence_stdout()
        print(f"netspec: error: cannot write the output: {exc.strerror}", file=sys.stderr)
        return 1
    except Exception as exc:  # a bug in netspec, not a user error: say so, briefly
        if os.environ.get("NETSPEC_DEBUG"):
            raise
        print(f"netspec: internal error: {type(exc).__name__}: {exc}\n"
              "  this is a bug in netspec; rerun with NETSPEC_DEBUG=1 for the full traceback and report it",
              file=sys.stderr)
        return 3


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
