"""Judging measurements against model-card claims: numbers in, a ``Judgement`` (verdict and its sentence) out."""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from harness.judge import stats
from harness.judge.verdicts import CARD_SEVERITY, Judgement, Verdict, worst

TOLERANCE = 0.10  # relative band within which a timing "reproduces" a claim
NOT_COMPARABLE = Judgement(Verdict.NOT_COMPARABLE, "not comparable (different device)")
NO_CLAIM = Judgement(Verdict.NO_CLAIM, "no card claim")
NONE = Judgement(Verdict.NONE, "—")


def joined(parts: Sequence[Judgement], empty: Judgement = NONE) -> Judgement:
    """Return one judgement of a row judged in parts: the worst verdict, the sentences joined by '; '."""
    if not parts:
        return empty
    return Judgement(worst((p.verdict for p in parts), CARD_SEVERITY, Verdict.NONE), "; ".join(p.text for p in parts))


def prefixed(prefix: str, j: Judgement) -> Judgement:
    """Return ``j`` with its sentence prefixed (e.g. by the loss or device count it is about)."""
    return Judgement(j.verdict, prefix + j.text)


def interval(claim: float, lo: float, hi: float) -> Judgement:
    """Return whether ``claim`` lies in our interval [lo, hi] widened by the tolerance."""
    if lo * (1 - TOLERANCE) <= claim <= hi * (1 + TOLERANCE):
        return Judgement(Verdict.REPRODUCES, f"reproduces (±{TOLERANCE:.0%})")
    return Judgement(Verdict.DIFFERS, f"differs ({(lo + hi) / 2 / claim:.2f}x)")


def projected_total(claim: float, lo: float, hi: float, same_device: bool) -> Judgement:
    """Return the verdict on a projected total training time vs the card's total (NaN claim: none)."""
    if math.isnan(claim):
        return NO_CLAIM
    return interval(claim, lo, hi) if same_device else NOT_COMPARABLE


def in_range(values: np.ndarray, card: list | None, factor: float, what: str = "steps") -> Judgement:
    """Return how many of ``values`` (already rescaled by ``factor``) lie within the card's [low, high] range."""
    if not card or not values.size:
        return NO_CLAIM if not card else Judgement(Verdict.NO_DATA, "no data")
    scaled = "" if factor == 1 else f", x{factor:.3g} to the card's batch"
    inside = (values >= card[0]) & (values <= card[1])
    return Judgement(Verdict.REPRODUCES if inside.all() else Verdict.DIFFERS,
                     f"{inside.mean():.0%} of {values.size} {what} within card range{scaled}")


def same_text(ours: str, claim) -> Judgement:
    """Return whether our recorded text equals the card's (case and surrounding space ignored)."""
    if ours == "n/a":
        return Judgement(Verdict.NOT_RECORDED, "not recorded")
    if claim is None:
        return Judgement(Verdict.NO_CLAIM, "—")
    same = ours.strip().lower() == str(claim).strip().lower()
    return Judgement(Verdict.SAME, "same") if same else Judgement(Verdict.DIFFERS, "differs")


def device(same: bool) -> Judgement:
    """Return whether we measured on the card's device."""
    return Judgement(Verdict.SAME, "same device") if same else Judgement(Verdict.DIFFERS, "different device")


def mindspore_version(ours: str, claim) -> Judgement:
    """Return whether our MindSpore version is the card's (a difference is information only)."""
    return Judgement(Verdict.SAME, "same") if claim == ours else Judgement(Verdict.DIFFERS, "differs (information)")


def batch(batches: set[int], lrs: set[float], claims: dict) -> Judgement:
    """Return whether our per-device batch sizes and learning rates are the card's (its batch read per device too)."""
    if not batches:
        return Judgement(Verdict.NOT_RECORDED, "not recorded")
    per_device = (claims.get("batch_per_device") or {}).get("per_device")
    ok = batches <= {claims.get("batch_size"), per_device}
    note = f" (card's {claims.get('batch_size')} read as {per_device} x {claims['batch_per_device']['devices']})" \
        if per_device else ""
    lr_ok = None if not lrs or claims.get("lr") is None else lrs == {float(claims["lr"])}
    lr_text = "" if lr_ok is None else "; lr matches" if lr_ok else "; lr differs"
    verdict = Verdict.SAME if ok and lr_ok is not False else Verdict.DIFFERS
    return Judgement(verdict, ("batch matches" if ok else "batch differs") + note + lr_text)


def step_time(samples: np.ndarray, claim: float) -> Judgement:
    """Return TOST of "our step times reproduce the card's per-step claim within the tolerance"."""
    t = stats.tost_scalar(samples, claim, TOLERANCE)
    if t.equivalent:
        return Judgement(Verdict.REPRODUCES, f"reproduces (±{TOLERANCE:.0%}, TOST p={t.pvalue:.2g})")
    return Judgement(Verdict.NOT_SHOWN, f"not shown equivalent ({t.estimate:.2f}x)")


def card_schedule(per_step: float, implied: float) -> Judgement:
    """Return whether the s/it the card's total implies over its own schedule agrees with its per-step figure."""
    if abs(implied / per_step - 1) <= TOLERANCE:
        return Judgement(Verdict.CONSISTENT, "consistent")
    return Judgement(Verdict.INCONSISTENT, f"inconsistent ({per_step / implied:.2f}x)")
