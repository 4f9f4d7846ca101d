"""``pgan-harness ab``: two revisions measured on this machine in one interleaved run; exit 0 ok, 1 regressed,
3 inconclusive, 2 cannot compare."""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import signal
import sys
import time
from pathlib import Path

import yaml

from harness.ab import revisions as revs
from harness.ab.driver import CLOCKS, DESIGNS, Entry, Settings, WorkerError, parse_entry, preset_entries, run_ab
from harness.ab.stats import overall
from harness.ab.table import ab_table
from harness.commands.gate import percent
from harness.judge.verdicts import AB_EXIT_CODES, Verdict

GATE_KEYS = {"base": "base", "entries": "entries", "max_slowdown": "max_slowdown", "budget_s": "budget_s",
             "preset": "preset", "burst": "burst", "min_blocks": "min_blocks"}


def load_gate_file(path: str) -> dict:
    """Return the settings of a gate file (base commit, entries, max_slowdown, budget_s, ...); ValueError if bad."""
    try:
        data = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as e:
        raise ValueError(f"{path}: cannot read ({e})") from None
    if not isinstance(data, dict) or "base" not in data:
        raise ValueError(f"{path}: expected a mapping with at least 'base' (keys: {', '.join(GATE_KEYS)})")
    unknown = sorted(set(data) - set(GATE_KEYS) - {"reason"})
    if unknown:
        raise ValueError(f"{path}: unknown keys {unknown}; accepted: {', '.join(GATE_KEYS)}, reason")
    return data


def apply_gate_file(args: argparse.Namespace) -> None:
    """Fill the options the user left unset from ``--gate-file`` (options given on the command line win)."""
    data = load_gate_file(args.gate_file)
    for key, attr in GATE_KEYS.items():
        if key in data and getattr(args, attr) is None:
            value = data[key]
            if key == "max_slowdown":
                value = percent(str(value))
            elif key == "entries":
                value = [str(v) for v in value]
            setattr(args, attr, value)


def calibration_code(run) -> int:
    """Return the exit code of ``--calibrate``: 1 if an A/A entry alarms, 3 if an injected slowdown is missed."""
    aa = [st.verdict.verdict for st in run.states if not st.entry.inject]
    injected = [st.verdict.verdict for st in run.states if st.entry.inject]
    if Verdict.REGRESSED in aa:
        return 1
    return 0 if all(v == Verdict.REGRESSED for v in injected) else 3


def _terminate(signum, frame):
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    """Measure the base and head revisions interleaved on this machine; print the table; return the exit code."""
    try:
        if args.gate_file:
            apply_gate_file(args)
        entries = [parse_entry(e) for e in args.entries] if args.entries else preset_entries(args.preset or
                                                                                            "cpu-smoke")
    except (ValueError, KeyError) as e:
        print(f"ab: {e}", file=sys.stderr)
        return 2
    if args.calibrate is None and not args.base:
        print("ab: give --base REV (or --gate-file FILE naming one, or --calibrate)", file=sys.stderr)
        return 2
    settings = Settings(preset=args.preset or "cpu-smoke", seed=args.seed, design=args.design, clock=args.clock,
                        burst=args.burst or 1, budget_s=args.budget_s or 300.0,
                        threshold=0.05 if args.max_slowdown is None else args.max_slowdown, alpha=args.alpha,
                        min_blocks=args.min_blocks or 10)
    if args.calibrate is not None:  # A/A of one revision, plus the same entries with injected compute
        entries = entries + [Entry(e.scale, e.phase, args.calibrate) for e in entries]
    elif args.inject:
        entries = [Entry(e.scale, e.phase, args.inject) for e in entries]
    previous = signal.signal(signal.SIGTERM, _terminate)
    t0 = time.monotonic()
    try:
        repo = revs.repo_root(Path.cwd())
        head = revs.describe(repo, args.head, "head", revs.interpreter(args.head_python, "--head-python"))
        base = head if args.calibrate is not None else \
            revs.describe(repo, args.base, "base", revs.interpreter(args.base_python, "--base-python"))
        revs.check_same_dependencies(repo, base, head)
        base, head = (revs.with_worker(repo, r) for r in (base, head))
        with contextlib.ExitStack() as stack:
            head = stack.enter_context(revs.checkout(repo, head))
            base = dataclasses.replace(head, role="base") if args.calibrate is not None \
                else stack.enter_context(revs.checkout(repo, base))
            print(f"ab: base {base.name} {base.commit[:10]} | head {head.name} {head.commit[:10]}"
                  f"{' (dirty)' if head.dirty else ''} | {settings.design} design, {settings.clock} time, "
                  f"{len(entries)} entries, budget {settings.budget_s:g} s", flush=True)
            result = run_ab(base, head, entries, settings, Path(args.out), progress=_progress if args.verbose else None)
    except (revs.CannotCompare, WorkerError) as e:
        print(f"ab: cannot compare: {e}", file=sys.stderr)
        return 2
    finally:
        signal.signal(signal.SIGTERM, previous)
    if not revs.same_environment(result.revs["base"], result.revs["head"]):
        print("environments: " + " | ".join(f"{role} {rev.python}: MindSpore {result.versions[role]['mindspore']}, "
                                              f"numpy {result.versions[role]['numpy']}, "
                                              f"Python {result.versions[role]['python']}"
                                              for role, rev in result.revs.items()))
    print(ab_table(result.summary).to_markdown(index=False, disable_numparse=True))
    verdict = overall(st.verdict.verdict for st in result.states)
    print(f"overall: {verdict} (threshold {settings.threshold:.0%}, {settings.design}/{settings.clock}, "
          f"{time.monotonic() - t0:.0f} s; records in {Path(args.out) / 'records.jsonl'})")
    return calibration_code(result) if args.calibrate is not None else AB_EXIT_CODES[verdict]


def _progress(st) -> None:
    v = st.verdict
    print(f"  {st.entry.name}: {v.n} blocks ({st.clock}), ratio {v.ratio:.3f} [{v.ci_low:.3f}, {v.ci_high:.3f}] {v.verdict}",
          file=sys.stderr, flush=True)


def register(subparsers) -> None:
    """Add the ``ab`` subcommand."""
    p = subparsers.add_parser(
        "ab", help="same-machine A/B gate: base vs head revision, interleaved, in one run",
        description="Measure the step time of a base revision and a head revision (default: the working tree) "
                    "on this machine in one run: one long-lived worker per revision, each running its own code "
                    "from a temporary git worktree, bursts of steps paired side by side. Exit 0 no regression, "
                    "1 regression, 3 inconclusive after the budget, 2 usage error or cannot compare.")
    p.add_argument("--base", metavar="REV", help="base revision (commit, branch, tag)")
    p.add_argument("--head", metavar="REV", help="head revision (default: the working tree, marked dirty if edited)")
    p.add_argument("--base-python", metavar="PATH",
                   help="interpreter whose environment runs the base (default: this one); with --head-python, "
                        "compares two environments, e.g. two MindSpore versions, on one revision or two (their "
                        "pyproject pins are then not required to agree); each needs this project's dependencies")
    p.add_argument("--head-python", metavar="PATH",
                   help="interpreter whose environment runs the head (default: this one)")
    p.add_argument("--gate-file", metavar="FILE",
                   help="YAML with base, entries, max_slowdown, budget_s, preset, burst, min_blocks (e.g. "
                        "reports/baselines/gate.yaml); options given here win")
    p.add_argument("--scenario", default="step-time", choices=["step-time"], help="what is measured (step-time)")
    p.add_argument("--preset", help="preset whose steps are timed (default cpu-smoke)")
    p.add_argument("--entries", nargs="+", metavar="SCALE:PHASE",
                   help="entries to gate, e.g. 8:stable 16:fade (default: every scale and phase of the preset)")
    p.add_argument("--budget-s", type=float, metavar="S",
                   help="wall-clock budget of the whole run incl. compiles; sampling stops when spent (default 300)")
    p.add_argument("--max-slowdown", type=percent, metavar="PCT",
                   help="smallest slowdown that counts as a regression (default 5%%)")
    p.add_argument("--alpha", type=float, default=0.01, help="significance level of the signed-rank test (0.01)")
    p.add_argument("--min-blocks", type=int,
                   help="blocks per entry before any verdict (default 10); a block is two rounds, the sides "
                        "swapping cores, and its mean log-ratio is one independent observation")
    p.add_argument("--burst", type=int, help="steps per side per round (default 1)")
    p.add_argument("--design", choices=DESIGNS, default="duet",
                   help="duet: both sides at once, pinned to one core each, cores swapped every round (default); "
                        "alternate: one side at a time on all cores, A B B A")
    p.add_argument("--clock", choices=(*CLOCKS, "both"), default="both",
                   help="statistic judged: wall or process-CPU seconds per step, or both (default: the worse "
                        "verdict of the two; CPU time is less noisy, wall time also sees waiting); both are recorded")
    p.add_argument("--seed", type=int, default=0, help="seed of both sides' data and latents (default 0)")
    p.add_argument("--calibrate", type=percent, nargs="?", const=0.10, metavar="PCT",
                   help="gate sensitivity: the head revision against itself (A/A) and with real extra compute "
                        "worth PCT (default 10%%) of each step; exit 0 if A/A is quiet and the slowdown is found, "
                        "1 if A/A alarms, 3 if the slowdown is missed")
    p.add_argument("--inject", type=percent, metavar="PCT",
                   help="testing the gate: the head's timed steps get real extra compute (numpy matmuls) worth PCT "
                        "of the step")
    p.add_argument("--out", default="results/ab", metavar="DIR", help="records.jsonl and worker logs go here")
    p.add_argument("-v", "--verbose", action="store_true", help="print each entry's running verdict")
    p.set_defaults(func=run)
