"""The ``pgan-harness`` console script: one subcommand per module in ``harness.commands``.

Exit codes, the same for every subcommand: 0 ok, 1 regression (gate/compare) or a failed run, 2 bad input /
usage / cannot compare, 3 inconclusive, 130 interrupted. Bad input is one line on stderr, never a traceback
(``--debug`` shows it).
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import traceback

from pgan_ref.config import ConfigError
from pgan_ref.data import DataError
from pgan_ref.errors import CheckpointError

from harness import commands
from harness.errors import BadInput

EXIT_BAD_INPUT, EXIT_FAILED, EXIT_INTERRUPTED = 2, 1, 130
# Everything reported as bad input (exit 2, one line): ours and pgan_ref's config / data / checkpoint errors.
BAD_INPUT = (BadInput, ConfigError, DataError, CheckpointError)


class Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (and exit 2), like every other bad input."""

    def error(self, message: str):
        """Print ``PROG: error: MESSAGE (see PROG --help)`` and exit 2."""
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _add_debug(parser: argparse.ArgumentParser, top: bool = False) -> None:
    """Add ``--debug`` to ``parser`` and every subcommand parser below it."""
    parser.add_argument("--debug", action="store_true", default=False if top else argparse.SUPPRESS,
                        help="show the traceback of an error instead of one line")
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _add_debug(sub)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """Return the argument parser with every command module's subcommand registered, or only ``command``'s when it
    names one (the other modules' imports, MindSpore through ``run``'s scenarios, cost ~3 s and ~400 MB)."""
    parser = Parser(
        prog="pgan-harness",
        description="Reproducibility benchmark harness for PGAN on MindSpore: run scenarios, ingest "
                    "logs, compute FID, build baselines, report and gate.\n\nExit codes: 0 ok, 1 regression "
                    "or failed run, 2 bad input or cannot compare, 3 inconclusive, 130 interrupted.\n\n"
                    "Environment: ONEDNN_MAX_CPU_ISA (default AVX2: oneDNN's AVX-512 path falls back to a "
                    "reference convolution on CPU); PGAN_CPU_THREADS = default (MindSpore's choice) | N, "
                    "MindSpore's CPU kernel threads (the same value for every CPU command, msrun workers too; "
                    "more than the usable cores is accepted with a warning). Both are recorded in every record's "
                    "meta.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    names = sorted(m.name for m in pkgutil.iter_modules(commands.__path__)
                   if not m.name.startswith("_"))  # _name: shared option groups, not a command
    wanted = command and command.replace("-", "_")
    for name in [wanted] if wanted in names else names:
        importlib.import_module(f"{commands.__name__}.{name}").register(sub)
    _add_debug(parser, top=True)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the process exit code (bad input 2, interrupted 130, unexpected errors 1)."""
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(next((a for a in argv if not a.startswith("-")), None))  # the only top option is a flag
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted: records written so far are kept", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BAD_INPUT as e:
        if args.debug:
            traceback.print_exc()
        print(f"error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as e:  # noqa: BLE001  (the contract: one line, not a traceback, unless --debug)
        if args.debug:
            traceback.print_exc()
        print(f"error: unexpected {type(e).__name__}: {e} (rerun with --debug for the traceback)", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
