"""The one verdict vocabulary of card checks, the measured-baseline gate, ``compare`` and the A/B gate."""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Iterable


class Verdict(StrEnum):
    """A verdict; its value is the string written to tables, JSON and CSV (a ``str``, so it compares as one)."""

    # a measurement against a baseline or another run (gate, compare, A/B)
    REGRESSED = "regressed"
    IMPROVED = "improved"
    NO_CHANGE = "no change"
    INCONCLUSIVE = "inconclusive"
    INCOMPARABLE = "incomparable"
    # a measurement against a model-card claim
    REPRODUCES = "reproduces"
    NOT_SHOWN = "not shown equivalent"
    DIFFERS = "differs"
    SAME = "same"
    NOT_COMPARABLE = "not comparable"
    NO_CLAIM = "no card claim"
    NO_DATA = "no data"
    NOT_RECORDED = "not recorded"
    # the card against itself
    CONSISTENT = "consistent"
    INCONSISTENT = "inconsistent"
    # a row that is information only
    NONE = "—"


# Worst first: an overall comparison verdict is its worst entry's (A/B gate).
SEVERITY = (Verdict.REGRESSED, Verdict.INCONCLUSIVE, Verdict.NO_CHANGE, Verdict.IMPROVED)
# Worst first: the exit code of a set of measured-baseline comparisons (gate, compare); otherwise 0.
GATE_EXIT_CODES = {Verdict.INCOMPARABLE: 2, Verdict.REGRESSED: 1, Verdict.INCONCLUSIVE: 3}
# The exit code of an A/B run's overall verdict.
AB_EXIT_CODES = {Verdict.REGRESSED: 1, Verdict.INCONCLUSIVE: 3, Verdict.NO_CHANGE: 0, Verdict.IMPROVED: 0}
# Worst first: the verdict of a card row judged in parts (e.g. per loss, per device count).
CARD_SEVERITY = (Verdict.DIFFERS, Verdict.INCONSISTENT, Verdict.NOT_SHOWN, Verdict.NOT_COMPARABLE,
                 Verdict.NOT_RECORDED, Verdict.NO_DATA, Verdict.NO_CLAIM, Verdict.REPRODUCES, Verdict.CONSISTENT,
                 Verdict.SAME, Verdict.NONE)


@dataclass(frozen=True)
class Judgement:
    """A verdict and the sentence a report prints for it (tests read ``verdict``; readers read ``text``)."""

    verdict: Verdict
    text: str

    def __str__(self) -> str:
        return self.text


def worst(verdicts: Iterable[Verdict], order: tuple[Verdict, ...] = SEVERITY,
          default: Verdict = Verdict.INCONCLUSIVE) -> Verdict:
    """Return the first verdict of ``order`` among ``verdicts`` (``default`` when none is)."""
    given = set(verdicts)
    return next((v for v in order if v in given), default)


def gate_exit_code(verdicts: Iterable[Verdict]) -> int:
    """Return 2 if any verdict is incomparable, else 1 if any regressed, else 3 if any inconclusive, else 0."""
    given = set(verdicts)
    return next((code for v, code in GATE_EXIT_CODES.items() if v in given), 0)
