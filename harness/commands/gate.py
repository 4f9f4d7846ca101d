"""``pgan-harness gate``: results vs a measured baseline; exit 0 ok, 1 regressed, 3 inconclusive, 2 incomparable."""
from __future__ import annotations

import argparse
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd

from harness.errors import BadInput, at_least
from harness.judge import gate
from harness.judge.baseline_files import baseline_entries, load_baseline
from harness.judge.entries import group_entries
from harness.judge.verdicts import GATE_EXIT_CODES, Verdict
from harness.records.store import read_records


def percent(text: str) -> float:
    """Return '5%' or '0.05' as the fraction 0.05 (argparse type: a negative or non-number is a usage error)."""
    try:
        value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        value = math.nan
    if not value >= 0 or math.isinf(value):
        raise argparse.ArgumentTypeError(f"expected a percentage >= 0 such as 5% or 0.05, got {text!r}")
    return value


def load_calibration(path: str | None, baseline: dict) -> dict | None:
    """Return the calibration file if it exists and was measured on the baseline's machine, else None."""
    if not path or not Path(path).exists():
        return None
    calib = load_baseline(path, "calibration")
    if baseline["machine_fingerprint"] not in calib["machine_fingerprint"]:
        print(f"warning: calibration {path} is from another machine; ignored", file=sys.stderr)
        return None
    return calib


def nothing_in_common(ref_a: str, ref_b: str, base: dict[str, dict], current: dict[str, dict]) -> str:
    """Return why two runs' entries do not meet: the labels that differ for a shared scenario/metric, or what
    each run measured."""
    def pairs(entries):
        return {f"{e['scenario']}/{e['metric']}": e["labels"] for e in entries.values()}

    in_a, in_b = pairs(base), pairs(current)
    shared = sorted(set(in_a) & set(in_b))
    if not shared:
        return f"{ref_a} has {', '.join(sorted(in_a))}; {ref_b} has {', '.join(sorted(in_b))}"
    la, lb = in_a[shared[0]], in_b[shared[0]]
    differ = ", ".join(f"{k} {la.get(k)} in {ref_a}, {lb.get(k)} in {ref_b}"
                       for k in sorted(set(la) | set(lb)) if la.get(k) != lb.get(k))
    return f"{shared[0]} labels differ: {differ}"


def run(args: argparse.Namespace) -> int:
    """Gate the results against the baseline and print what moved; return the exit code.

    While the verdict is inconclusive and ``--more-cmd`` is given, the command is run (it should append more
    records of the same protocol to the results) and the gate is repeated, at most ``--budget`` times.
    """
    baseline = load_baseline(args.baseline, "measured")
    calib = load_calibration(args.calibration or str(Path(args.baseline).with_name("calibration.json")), baseline)
    for attempt in range(args.budget + 1):
        if attempt:
            print(f"inconclusive: asking for more samples ({attempt}/{args.budget}): {args.more_cmd}", flush=True)
            if subprocess.run(args.more_cmd, shell=True).returncode != 0:
                print(f"--more-cmd failed: {args.more_cmd}", file=sys.stderr)
                return 2
        code = _gate_once(args, baseline, calib)
        if code != GATE_EXIT_CODES[Verdict.INCONCLUSIVE] or not args.more_cmd:
            return code
    return code


def _gate_once(args: argparse.Namespace, baseline: dict, calib: dict | None) -> int:
    records = read_records(args.results)
    if not records:
        print(f"no records under {', '.join(args.results)}", file=sys.stderr)
        return 2
    problems = gate.comparability(baseline, records, args.allow_machine_mismatch)
    if problems:
        print("incomparable with the baseline:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 2
    base, current = baseline_entries(baseline), group_entries(records)
    rows = gate.compare_entries(base, current, gate.threshold_function(args.max_slowdown, calib), args.metric,
                                args.loss_margin)
    if not rows:
        only = f" of metric {', '.join(args.metric)}" if args.metric else ""
        results = ", ".join(args.results)
        raise BadInput(f"{args.baseline} and {results} have no measurement{only} in common (same scenario, metric "
                       f"and labels): {nothing_in_common(args.baseline, results, base, current)}")
    print(rows_table(rows))
    missing = len(set(base) - set(current))
    if missing:
        print(f"note: {missing} baseline entries have no current measurement", file=sys.stderr)
    return gate.exit_code(rows)


def rows_table(rows: list[gate.Row]) -> str:
    """Return the gate rows (at least one) as a compact markdown table."""
    df = pd.DataFrame([r.__dict__ for r in rows])
    df["ratio [CI]"] = [f"{r:.3f} [{lo:.3f}, {hi:.3f}]" if math.isfinite(r) else "-"
                        for r, lo, hi in zip(df.ratio, df.ci_low, df.ci_high)]
    df["p"] = [f"{p:.2g}" if math.isfinite(p) else "-" for p in df.pvalue]
    df["threshold"] = [f"{t:.0%}" if math.isfinite(t) else "-" for t in df.threshold]
    cols = ["metric", "labels", "unit", "base", "current", "ratio [CI]", "p", "threshold", "verdict", "reason"]
    return df[cols].to_markdown(index=False, floatfmt=".4g")


def add_threshold_options(p: argparse.ArgumentParser) -> None:
    """Add the options shared by ``gate`` and ``compare``."""
    p.add_argument("--max-slowdown", type=percent, default=0.05, metavar="PCT",
                   help="smallest relative slowdown that counts (default 5%%; raised to k x A/A noise if calibrated)")
    p.add_argument("--metric", action="append", help="only these metrics (repeatable; default all)")
    p.add_argument("--loss-margin", type=percent, default=0.1, metavar="PCT",
                   help="widen the baseline loss envelope by this fraction of its width (default 10%%)")


def register(subparsers) -> None:
    """Add the ``gate`` subcommand."""
    p = subparsers.add_parser("gate", help="regression gate against a measured baseline",
                              description="Compare results with a measured baseline (`baseline --from-results`). "
                                          "Exit 0 no regression, 1 regression, 3 inconclusive, 2 usage error, "
                                          "incomparable machine/protocol, or no measurement in common.")
    p.add_argument("--baseline", required=True, metavar="FILE", help="measured baseline (`baseline --from-results`)")
    p.add_argument("--results", required=True, nargs="+", metavar="DIR", help="result directories (records.jsonl)")
    p.add_argument("--calibration", metavar="FILE",
                   help="A/A calibration from `calibrate` (default: calibration.json beside the baseline)")
    p.add_argument("--allow-machine-mismatch", action="store_true",
                   help="gate even if the machine fingerprint differs")
    p.add_argument("--more-cmd", metavar="CMD",
                   help="shell command that appends more records to --results; run while the verdict is "
                        "inconclusive (e.g. the same `bench --smoke --out ...` again)")
    p.add_argument("--budget", type=at_least(0), default=1, metavar="N",
                   help="at most N extra measurement rounds through --more-cmd (default 1)")
    add_threshold_options(p)
    p.set_defaults(func=run)
