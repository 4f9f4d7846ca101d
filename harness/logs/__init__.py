"""Logs: real PGAN training / 310 logs read into records (``ingest``) and the MLPerf-style event log (``mllog``).

May import ``harness.judge`` (the card facts), ``harness.records`` and the root modules.
"""
