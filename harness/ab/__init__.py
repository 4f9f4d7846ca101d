"""The same-machine A/B gate: revisions checked out, one worker each, paired bursts, sequential verdicts, its table.

May import ``harness.runs``, ``harness.scenarios`` (the worker side only), ``harness.records``, ``harness.judge``
and the root modules; nothing above it (report, commands).
"""
