"""Scenarios: the scenario API (``api``), the plugins (``step_time``, ``loss_ranges``, ``fid``, ``quality``,
``mindir_latency``, sharing ``common``; ``mindir_files``: the user's MindIR files for ``mindir_latency``), the
registry that imports and registers them, the timing core and the MindIR runtime the plugins use.

Plugins import ``api`` and never ``registry``. May import ``harness.logs``, ``harness.quality``, ``harness.judge``,
``harness.records`` and the root modules; never ``harness.runs`` or anything above it.
"""
