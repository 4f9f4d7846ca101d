"""``pgan-harness ab``: two revisions measured on this machine in one interleaved run; exit 0 ok, 1 regressed,
3 inconclusive, 2 bad input or cannot compare."""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import math
import os
import signal
import sys
import time
from pathlib import Path
from typing import Callable

import yaml
from pgan_ref.config import list_presets

from harness.ab import revisions as revs
from harness.ab.driver import (CLOCKS, DESIGNS, LIMITS, Entry, Settings, WorkerError, parse_entry, preset_entries,
                               run_ab, setting_problem)
from harness.ab.stats import overall
from harness.ab.table import ab_table
from harness.errors import BadInput
from harness.judge.verdicts import AB_EXIT_CODES, Verdict

# gate-file key -> (the Settings field it sets, how its value is read); ``base`` and ``entries`` are read apart
GATE_SETTINGS = {"max_slowdown": ("threshold", "percent"), "budget_s": ("budget_s", float), "preset": ("preset", str),
                 "burst": ("burst", int), "min_blocks": ("min_blocks", int), "alpha": ("alpha", float)}
GATE_KEYS = ("base", "entries", *GATE_SETTINGS, "reason")
DEFAULT_OUT = "results/ab"


def convert(value, kind):
    """Return ``value`` (an option's text or a YAML value) as ``kind`` (int, float, str or "percent": '5%' or 0.05),
    or None when it is not one (booleans are not numbers; a float is not an int)."""
    if isinstance(value, bool):
        return None
    if kind is str:
        return value if isinstance(value, str) else None
    try:
        if kind == "percent":
            text = str(value).strip()
            return float(text[:-1]) / 100 if text.endswith("%") else float(text)
        if kind is int:
            return int(value) if isinstance(value, int) or (isinstance(value, str) and value.strip().lstrip("+-")
                                                            .isdigit()) else None
        return float(value) if isinstance(value, (int, float, str)) else None
    except ValueError:
        return None


def checked(field: str, value, kind):
    """Return ``value`` read as ``kind`` when Settings.``field`` accepts it; else raise ValueError saying what it
    accepts."""
    out = convert(value, kind)
    problem = LIMITS[field][0] if out is None else setting_problem(field, out)
    if problem:
        raise ValueError(f"expected {problem}")
    return out


def option(field: str, kind) -> Callable[[str], object]:
    """Return an argparse ``type`` for an option setting Settings.``field`` (a bad value is a one-line usage error)."""

    def parse(text: str):
        try:
            return checked(field, text, kind)
        except ValueError as e:
            raise argparse.ArgumentTypeError(f"{e}, got {text!r}") from None

    parse.__name__ = field
    return parse


def injection(text: str) -> float:
    """Return an injected slowdown ('10%' or 0.1) > 0 and <= 1000 % (argparse type)."""
    return option("threshold", "percent")(text)


def load_gate_file(path: str) -> dict:
    """Return the checked fields of a gate file: ``base`` (str), ``entries`` (list of str) and Settings fields by
    their Settings names; BadInput names the file, the key, the value and what is accepted."""
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except OSError as e:
        raise BadInput(f"gate file {path}: cannot read it ({e.strerror})") from None
    except UnicodeDecodeError as e:
        raise BadInput(f"gate file {path}: not a text file (byte {e.start} is not UTF-8); expected YAML with "
                       f"{', '.join(GATE_KEYS)}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = getattr(e, "problem", None) or " ".join(str(e).split())
        raise BadInput(f"gate file {path}: not valid YAML ({what}{where})") from None
    if not isinstance(data, dict) or "base" not in data:
        raise BadInput(f"gate file {path}: expected a mapping with at least 'base' (keys: {', '.join(GATE_KEYS)})")
    unknown = sorted(str(k) for k in set(data) - set(GATE_KEYS))
    if unknown:
        raise BadInput(f"gate file {path}: unknown keys {unknown}; accepted: {', '.join(GATE_KEYS)}")
    out = {}
    if not isinstance(data["base"], (str, int)) or isinstance(data["base"], bool) or not str(data["base"]).strip():
        raise BadInput(f"gate file {path}: base: {data['base']!r}: expected a commit, branch or tag")
    out["base"] = str(data["base"])
    if "entries" in data:
        entries = data["entries"]
        if not isinstance(entries, list) or not entries or not all(isinstance(e, str) for e in entries):
            raise BadInput(f"gate file {path}: entries: {entries!r}: expected a non-empty list of SCALE:PHASE "
                           f"strings, e.g. [\"4:stable\", \"8:fade\"]")
        out["entries"] = entries
    for key in (k for k in data if k in GATE_SETTINGS):  # in the file's order: the first bad field is named
        field, kind = GATE_SETTINGS[key]
        try:
            out[field] = checked(field, data[key], kind)
        except ValueError as e:
            raise BadInput(f"gate file {path}: {key}: {data[key]!r}: {e}") from None
    if "reason" in data and not isinstance(data["reason"], str):
        raise BadInput(f"gate file {path}: reason: {data['reason']!r}: expected text")
    return out


def gather(args: argparse.Namespace) -> tuple[Settings, list[Entry], str | None]:
    """Return the settings, the entries and the base revision from the options and the gate file (options win);
    BadInput on anything that is not accepted, before anything starts."""
    from_file = load_gate_file(args.gate_file) if args.gate_file else {}
    where = f"gate file {args.gate_file}: " if args.gate_file else ""
    fields = {f.name: getattr(args, f.name) for f in dataclasses.fields(Settings) if getattr(args, f.name, None)
              is not None}
    settings = Settings(**{**{k: v for k, v in from_file.items() if k not in ("base", "entries")}, **fields})
    if settings.preset not in list_presets():
        source = "--preset" if args.preset is not None else f"{where}preset"
        raise BadInput(f"{source} {settings.preset!r}: unknown preset; accepted: {', '.join(list_presets())}")
    known = preset_entries(settings.preset)
    texts = args.entries if args.entries is not None else from_file.get("entries")
    source = "--entries" if args.entries is not None else f"{where}entries"
    entries = []
    for text in texts or []:
        try:
            entry = parse_entry(text)
        except ValueError as e:
            raise BadInput(f"{source}: {e}") from None
        if entry not in known:
            raise BadInput(f"{source}: entry {text!r} is not timed by preset {settings.preset}; accepted: "
                           f"{' '.join(e.name for e in known)}")
        entries.append(entry)
    if args.calibrate is not None and args.inject is not None:
        raise BadInput("--calibrate and --inject exclude each other (--calibrate already injects PCT)")
    base = args.base if args.base is not None else from_file.get("base")
    if args.calibrate is None and not base:
        raise BadInput("give --base REV (or --gate-file FILE naming one, or --calibrate)")
    return settings, entries or known, base


def output_folder(path: str) -> Path:
    """Return the folder ``path`` for records and worker logs, made if missing; BadInput when it cannot be."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise BadInput(f"--out {path}: exists and is not a folder; give a folder for records.jsonl and the worker logs")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise BadInput(f"--out {path}: cannot make the folder ({e.strerror}); give a writable folder") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise BadInput(f"--out {path}: the folder is not writable; give a writable folder")
    return out


def calibration_code(run) -> int:
    """Return the exit code of ``--calibrate``: 1 if an A/A entry alarms, 3 if an injected slowdown is missed."""
    aa = [st.verdict.verdict for st in run.states if not st.entry.inject]
    injected = [st.verdict.verdict for st in run.states if st.entry.inject]
    if Verdict.REGRESSED in aa:
        return 1
    return 0 if all(v == Verdict.REGRESSED for v in injected) else 3


def undecided_slowdowns(run) -> list:
    """Return the entries left inconclusive whose ratio is beyond the threshold (what ``--strict`` fails)."""
    bound = 1 + run.s.threshold
    return [st for st in run.states if st.verdict.verdict == Verdict.INCONCLUSIVE
            and math.isfinite(st.verdict.ratio) and st.verdict.ratio > bound]


def strict_line(states, settings: Settings, gate_file: str | None) -> str:
    """Return the one line ``--strict`` prints for undecided slowdowns: which entries and what to do."""
    which = ", ".join(f"{st.entry.name} {st.verdict.ratio - 1:+.1%} after {st.verdict.n} blocks" for st in states)
    budget = f"budget_s in {gate_file}" if gate_file else "--budget-s"
    return (f"FAIL (strict): undecided slowdown beyond {settings.threshold:.0%}: {which}; rerun on a quieter machine "
            f"or with a larger {budget} to decide it, or, if the slowdown is deliberate, move the base past it")


def _terminate(signum, frame):
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    """Measure the base and head revisions interleaved on this machine; print the table; return the exit code."""
    try:
        settings, entries, base_rev = gather(args)
        out = output_folder(args.out)
    except BadInput as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.calibrate is not None:  # A/A of one revision, plus the same entries with injected compute
        entries = entries + [Entry(e.scale, e.phase, args.calibrate) for e in entries]
    elif args.inject is not None:
        entries = [Entry(e.scale, e.phase, args.inject) for e in entries]
    previous = signal.signal(signal.SIGTERM, _terminate)
    t0 = time.monotonic()
    try:
        repo = revs.repo_root(Path.cwd())
        head = revs.describe(repo, args.head, "head", revs.interpreter(args.head_python, "--head-python"))
        base = head if args.calibrate is not None else \
            revs.describe(repo, base_rev, "base", revs.interpreter(args.base_python, "--base-python"))
        revs.check_same_dependencies(repo, base, head)
        base, head = (revs.with_worker(repo, r) for r in (base, head))
        with contextlib.ExitStack() as stack:
            head = stack.enter_context(revs.checkout(repo, head))
            base = dataclasses.replace(head, role="base") if args.calibrate is not None \
                else stack.enter_context(revs.checkout(repo, base))
            print(f"ab: base {base.name} {base.commit[:10]} | head {head.name} {head.commit[:10]}"
                  f"{' (dirty)' if head.dirty else ''} | {settings.design} design, {settings.clock} time, "
                  f"{len(entries)} entries, budget {settings.budget_s:g} s", flush=True)
            result = run_ab(base, head, entries, settings, out, progress=_progress if args.verbose else None,
                            say=lambda line: print(f"ab: {line}", flush=True))
    except (revs.CannotCompare, WorkerError) as e:
        print(f"error: cannot compare: {e}", file=sys.stderr)
        return 2
    finally:
        signal.signal(signal.SIGTERM, previous)
    if not revs.same_environment(result.revs["base"], result.revs["head"]):
        print("environments: " + " | ".join(f"{role} {rev.python}: MindSpore {result.versions[role]['mindspore']}, "
                                              f"numpy {result.versions[role]['numpy']}, "
                                              f"Python {result.versions[role]['python']}"
                                              for role, rev in result.revs.items()))
    print(ab_table(result.summary).to_markdown(index=False, disable_numparse=True))
    for st in result.states:
        if st.verdict.verdict == Verdict.INCONCLUSIVE:
            print(f"  {st.entry.name}: {st.verdict.reason}")
    verdict = overall(st.verdict.verdict for st in result.states)
    print(f"overall: {verdict} (threshold {settings.threshold:.0%}, {settings.design}/{settings.clock}, "
          f"{time.monotonic() - t0:.0f} s of a {settings.budget_s:g} s budget; records in {out / 'records.jsonl'})")
    if args.calibrate is not None:
        return calibration_code(result)
    suspects = undecided_slowdowns(result) if args.strict else []
    if suspects:
        print(strict_line(suspects, settings, args.gate_file))
        return 1
    return AB_EXIT_CODES[verdict]


def _progress(st) -> None:
    v = st.verdict
    print(f"  {st.entry.name}: {v.n} blocks ({st.clock}), ratio {v.ratio:.3f} [{v.ci_low:.3f}, {v.ci_high:.3f}] "
          f"{v.verdict}", file=sys.stderr, flush=True)


def register(subparsers) -> None:
    """Add the ``ab`` subcommand."""
    p = subparsers.add_parser(
        "ab", help="same-machine A/B gate: base vs head revision, interleaved, in one run",
        description="Measure the step time of a base revision and a head revision (default: the working tree) "
                    "on this machine in one run: one long-lived worker per revision, each running its own code "
                    "from a temporary git worktree, bursts of steps paired side by side, judged by a "
                    "group-sequential t design on block log-ratios (README: 'Same-machine A/B gate'). Exit 0 no "
                    "regression, 1 regression (or, with --strict, an undecided slowdown), 3 inconclusive after the "
                    "budget, 2 bad input or cannot compare. Every value is checked before anything starts.")
    p.add_argument("--base", metavar="REV", help="base revision (commit, branch, tag)")
    p.add_argument("--head", metavar="REV", help="head revision (default: the working tree, marked dirty if edited)")
    p.add_argument("--base-python", metavar="PATH",
                   help="interpreter whose environment runs the base (default: this one); with --head-python, "
                        "compares two environments, e.g. two MindSpore versions, on one revision or two (their "
                        "pyproject pins are then not required to agree); each must import mindspore, numpy, scipy "
                        "and yaml (checked first)")
    p.add_argument("--head-python", metavar="PATH",
                   help="interpreter whose environment runs the head (default: this one)")
    p.add_argument("--gate-file", metavar="FILE",
                   help="YAML with base, entries (a list), max_slowdown, budget_s, preset, burst, min_blocks, alpha, "
                        "reason (e.g. reports/baselines/gate.yaml); every field is checked; options given here win")
    p.add_argument("--scenario", default="step-time", choices=["step-time"], help="what is measured (step-time)")
    p.add_argument("--preset", type=option("preset", str), help="preset whose steps are timed (default cpu-smoke)")
    p.add_argument("--entries", nargs="+", metavar="SCALE:PHASE",
                   help="entries to gate, e.g. 8:stable 16:fade (default: every scale and phase of the preset)")
    p.add_argument("--budget-s", dest="budget_s", type=option("budget_s", float), metavar="S",
                   help="wall-clock budget of the whole run incl. compiles, seconds > 0 (default 300); after the "
                        "compiles the run says what a verdict for every entry needs against what is left")
    p.add_argument("--max-slowdown", dest="threshold", type=option("threshold", "percent"), metavar="PCT",
                   help="smallest slowdown that counts as a regression, > 0 (default 5%%)")
    p.add_argument("--alpha", type=option("alpha", float),
                   help="error rate, over all looks, of a false 'regressed' and of a false 'no change' "
                        "(0 < alpha < 0.5, default 0.01; with --clock both each clock gets half)")
    p.add_argument("--min-blocks", dest="min_blocks", type=option("min_blocks", int), metavar="N",
                   help="the first look, in blocks (2-100, default 3); a block is two rounds, the sides swapping "
                        "cores, and its mean log-ratio is one independent observation; later looks at ~1.5x each")
    p.add_argument("--burst", type=option("burst", int), metavar="K",
                   help="steps per side per round (1-1000, default 1)")
    p.add_argument("--design", choices=DESIGNS, default=None,
                   help="duet: both sides at once, pinned to one core each, cores swapped every round (default); "
                        "alternate: one side at a time on all cores, A B B A")
    p.add_argument("--clock", choices=(*CLOCKS, "both"), default=None,
                   help="statistic judged: wall or process-CPU seconds per step, or both (default: the worse "
                        "verdict of the two, each at alpha/2; CPU time is less noisy, wall time also sees waiting); "
                        "both are recorded")
    p.add_argument("--seed", type=option("seed", int), default=None,
                   help="seed of both sides' data and latents (integer >= 0, default 0)")
    p.add_argument("--calibrate", type=injection, nargs="?", const=0.10, metavar="PCT",
                   help="gate sensitivity: the head revision against itself (A/A) and with real extra compute "
                        "worth PCT (> 0, default 10%%) of each step; exit 0 if A/A is quiet and the slowdown is "
                        "found, 1 if A/A alarms, 3 if the slowdown is missed")
    p.add_argument("--inject", type=injection, metavar="PCT",
                   help="testing the gate: the head's timed steps get real extra compute (numpy matmuls) worth PCT "
                        "(> 0) of the step")
    p.add_argument("--strict", action="store_true",
                   help="an entry left inconclusive whose ratio is beyond the threshold fails (exit 1, one line "
                        "naming it and what to do), as CI runs it")
    p.add_argument("--out", default=DEFAULT_OUT, metavar="DIR",
                   help=f"folder for records.jsonl and the worker logs (default {DEFAULT_OUT}; made if missing)")
    p.add_argument("-v", "--verbose", action="store_true", help="print each entry's verdict at each look")
    p.set_defaults(func=run)
