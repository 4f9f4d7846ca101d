"""Running a registered scenario in this process or in N ``msrun`` ranks: runner, launcher, reaper, rank worker.

May import ``harness.scenarios``, ``harness.logs``, ``harness.records`` and the root modules.
"""
