"""pgan-harness: scenarios, records, statistics, reports and gates for PGAN reproducibility."""
from pgan_ref import _env  # noqa: F401  (sets ONEDNN_MAX_CPU_ISA before mindspore loads)
