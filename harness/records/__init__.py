"""Measurement records: the schema and its migration, the append-only store, run metadata and machine
fingerprint, the CPU's nominal peak, pytest-benchmark documents converted to records.

Knows nothing of MindSpore. Imports only the root modules (``harness.errors``).
"""
