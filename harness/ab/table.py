"""The A/B result table, from the ``ab_ratio`` summary records: what ``ab`` prints and the report's A/B section."""
from __future__ import annotations

import math

import pandas as pd


def _ms(seconds) -> str:
    return "-" if seconds is None else f"{1e3 * seconds:.1f}"


def _ratio(lab: dict, ratio) -> str:
    if ratio is None or not math.isfinite(ratio):
        return "-"
    if not math.isfinite(lab["ci_low"]):  # no look reached: the estimate alone
        return f"{ratio:.3f}"
    return f"{ratio:.3f} [{lab['ci_low']:.3f}, {lab['ci_high']:.3f}]"


def ab_table(records: list[dict], runs: bool = False) -> pd.DataFrame:
    """Return one row per ``ab_ratio`` record: entry, clock judged, medians (ms), ratio with the look's interval, p,
    blocks, MDE95, verdict; the realised injection when any entry had one; with ``runs``, the run and its two commits first."""
    summaries = [r for r in records if r["metric"] == "ab_ratio"]
    injected = any(r["labels"].get("inject") for r in summaries)
    rows = []
    for r in summaries:
        lab = r["labels"]
        head = lab["head_commit"][:10] + (" (dirty)" if lab.get("head_dirty") else "")
        rows.append({**({"run": r["run_id"], "base": lab["base_commit"][:10], "head": head} if runs else {}),
                     "scale": lab["scale"], "phase": lab["phase"], "clock": lab["clock"],
                     **({"inject (realised)": f"{lab['inject']:.0%} ({lab['injected_fraction']:.1%})"}
                        if injected else {}),
                     "base ms": _ms(lab.get("base_median_s")), "head ms": _ms(lab.get("head_median_s")),
                     "ratio [interval]": _ratio(lab, r["value"]), "p": f"{lab['pvalue']:.2g}", "blocks": lab["n"],
                     "MDE95": f"{lab['mde']:.1%}" if math.isfinite(lab["mde"]) else "-", "verdict": lab["verdict"]})
    return pd.DataFrame(rows)
