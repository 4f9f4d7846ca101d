"""Performance history: per-commit measurements against a fixed anchor, change points, creep, noisy bisection, page.

Owns the history store (``store``: append-only records, pandas frames, accepted changes), measuring missing commits
with the A/B driver (``measure``), change-point and creep detection (``detect``), noisy bisection (``bisect``), the
trend table per entry (``trend``, also in the report) and the static HTML page (``page``).
May import ``harness.ab`` (the driver, revisions and statistics), the packages below it and the root modules;
nothing above it (report, commands).
"""
