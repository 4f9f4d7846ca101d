"""The markdown report: records as pandas tables, the model card's table, plots and the rendering around them.

Knows nothing of MindSpore. May import ``harness.ab`` (its table), ``harness.quality``, ``harness.judge`` and
``harness.records``.
"""
