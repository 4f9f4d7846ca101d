"""``pgan-harness baseline``: write a baseline file from a model card or from measured results."""
from __future__ import annotations

import argparse
import sys

import yaml

from harness.errors import BadInput
from harness.judge.baseline_files import build_measured_baseline, check_replaceable, save_baseline
from harness.judge.modelcard import baseline_from_model_card
from harness.records.store import read_records


def run(args: argparse.Namespace) -> int:
    """Build the baseline, write it to ``--out`` (or YAML on stdout), print warnings to stderr; return 0 (bad input
    raises)."""
    if args.out:
        check_replaceable(args.out, args.force)
    if args.from_model_card:
        data = baseline_from_model_card(args.from_model_card)
    else:
        records = read_records(args.from_results)
        if not records:
            raise BadInput(f"no records under {', '.join(args.from_results)}; expected result folders holding "
                           f"records.jsonl")
        try:
            data = build_measured_baseline(records, args.from_results)
        except ValueError as e:
            raise BadInput(f"cannot build a baseline: {e}") from None
    for warning in data.get("warnings", []):
        print(f"warning: {warning}", file=sys.stderr)
    if args.out:
        print(f"wrote {save_baseline(data, args.out)}", file=sys.stderr)
    else:
        sys.stdout.write(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    return 0


def register(subparsers) -> None:
    """Add the ``baseline`` subcommand."""
    p = subparsers.add_parser("baseline", help="parse a model card, or freeze measured results, into a baseline file",
                              description="Write a baseline file (YAML for .yaml/.yml, JSON otherwise): the claims "
                                          "of a ModelZoo model card, or the raw samples, machine fingerprint and "
                                          "protocol of measured results (for `gate`).")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--from-model-card", metavar="README.md", help="ModelZoo model card (Chinese or English)")
    src.add_argument("--from-results", metavar="DIR", nargs="+", help="result directories (records.jsonl)")
    p.add_argument("--out", metavar="FILE", help="output file, replaced atomically (default: YAML on stdout); an "
                                                 "existing file that is not a baseline file is refused")
    p.add_argument("--force", action="store_true", help="replace an existing --out file even if it is not a baseline")
    p.set_defaults(func=run)
