"""Judging measurements: the verdict vocabulary, statistics, entries, baseline files, the measured-baseline gate,
model-card claims and checks against them.

Knows nothing of MindSpore. May import ``harness.records`` and the root modules.
"""
