"""``pgan-harness check-log``: check MLPerf-style event logs against the compliance rules."""
from __future__ import annotations

from harness.logs import mllog

EXIT_VALID, EXIT_INVALID, EXIT_UNREADABLE = 0, 1, 2


def run(args) -> int:
    """Print each log's problems; return 0 if all valid, 1 if any invalid, 2 if any unreadable."""
    code = EXIT_VALID
    for path in args.logs:
        try:
            problems = mllog.check_log(path)
        except (OSError, UnicodeDecodeError) as e:
            print(f"{path}: unreadable: {e}")
            code = EXIT_UNREADABLE
            continue
        for p in problems:
            print(f"{path}:{p}")
        valid = mllog.is_valid(problems)
        print(f"{path}: {'valid' if valid else 'INVALID'}")
        if not valid and code == EXIT_VALID:
            code = EXIT_INVALID
    return code


def register(subparsers) -> None:
    """Register the ``check-log`` subcommand."""
    p = subparsers.add_parser(
        "check-log", help="check :::MLLOG event logs (exit 0 valid, 1 invalid, 2 unreadable)",
        description="Check event logs: one run_start first, one run_stop last with status success|aborted, "
                    "a seed before run_stop, matched scale_start/scale_stop, non-decreasing time_ms, "
                    "valid JSON; unknown keys are warnings.")
    p.add_argument("logs", nargs="+", metavar="LOG", help="event log files (events-{run_id}.log)")
    p.set_defaults(func=run)
