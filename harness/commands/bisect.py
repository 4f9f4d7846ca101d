"""``pgan-harness bisect``: the commit between --good and --bad that made an entry slower, by noisy bisection
with duet A/B probes; exit 0 culprit named (or no regression), 3 inconclusive, 2 bad input."""
from __future__ import annotations

import argparse

from harness.commands.history import add_measure_options, entries_of, repo_line, settings_from
from harness.errors import at_least
from harness.history.bisect import bisect
from harness.history.store import HistoryStore


def _evidence(e) -> str:
    if e.verdict == "skipped":
        return f"  probe {e.commit.sha[:10]} (#{e.index}): skipped: {e.reason}"
    return (f"  probe {e.commit.sha[:10]} (#{e.index}, try {e.attempt}): {e.verdict}, ratio {e.ratio:.3f} "
            f"[{e.ci_low:.3f}, {e.ci_high:.3f}], p={e.pvalue:.2g}, {e.blocks} blocks ({e.clock})")


def run(args: argparse.Namespace) -> int:
    """Bisect; print every probe's evidence, the path and the culprit; return the exit code."""
    _, commits, good = repo_line(f"{args.good}..{args.bad}", args.good)
    entry = entries_of([args.entry])[0]
    print(f"bisect: {len(commits) - 1} commit(s) after good {good[:10]}, entry {entry.name}, threshold "
          f"{args.threshold:.0%}", flush=True)
    result = bisect(commits, entry, settings_from(args), HistoryStore(args.history), args.max_tries,
                    report=lambda e: print(_evidence(e), flush=True))
    print("path: " + " -> ".join(f"[{commits[g].sha[:7]}..{commits[b].sha[:7]}]" for g, b in result.path))
    print(f"runs: {result.runs}")
    if result.outcome == "culprit":
        c = result.culprit
        print(f"culprit: {c.sha} {c.subject}")
        return 0
    print(f"bisect: {result.outcome}" + ("" if result.outcome == "no regression" else
                                          f" between {commits[result.path[-1][0]].sha[:10]} and "
                                          f"{commits[result.path[-1][1]].sha[:10]}"))
    return 0 if result.outcome == "no regression" else 3


def register(subparsers) -> None:
    """Add the ``bisect`` subcommand."""
    p = subparsers.add_parser(
        "bisect", help="noisy bisection: the commit that made an entry slower, by duet A/B probes",
        description="Find the first commit after --good (first-parent line to --bad) that is slower than --good: "
                    "each probe is a duet A/B run of the commit against --good, three outcomes (regressed: look "
                    "earlier; no change or improved: look later; inconclusive: measured again, the new blocks pooled "
                    "with the earlier ones up to the next planned look of at least twice the blocks, then stop, never "
                    "guess); commits that cannot be measured are skipped. Every probe's "
                    "ratio, CI and p are printed and stored in the history (anchor = --good). Exit 0 culprit found "
                    "or no regression, 3 inconclusive, 2 bad input.")
    p.add_argument("--good", required=True, metavar="REV", help="a revision known to be fast (the probes' base)")
    p.add_argument("--bad", required=True, metavar="REV", help="a later revision known to be slow")
    p.add_argument("--entry", default="16:stable", metavar="SCALE:PHASE", help="the entry judged (default 16:stable)")
    p.add_argument("--max-tries", type=at_least(1), default=3, help="A/B runs of one commit while inconclusive (default 3)")
    add_measure_options(p)
    p.set_defaults(func=run)
