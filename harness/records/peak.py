"""The CPU's nominal fp32 peak, from the run metadata: what an achieved FLOP/s is a fraction of."""
from __future__ import annotations

import re

FMA_UNITS = 2  # vector FMA units per core assumed (Intel Skylake-SP and later Xeons, AMD Zen 2 and later)
LANES = {"AVX512": 16, "AVX2": 8}  # fp32 lanes of the widest vector ISA oneDNN may use


def _hz(text: str | None) -> float | None:
    m = re.match(r"\s*([\d.]+)\s*([kMG]?)Hz", text or "")
    return float(m.group(1)) * {"": 1, "k": 1e3, "M": 1e6, "G": 1e9}[m.group(2)] if m else None


def vector_isa(meta: dict) -> str | None:
    """Return the widest vector ISA the convolutions may use: the CPU's, capped by ``ONEDNN_MAX_CPU_ISA``."""
    cpu = meta.get("cpu") or {}
    isa = "AVX512" if cpu.get("avx512") else "AVX2" if cpu.get("avx2") else None
    cap = ((meta.get("env") or {}).get("ONEDNN_MAX_CPU_ISA") or "").upper()
    if isa == "AVX512" and cap.startswith(("AVX2", "AVX_", "SSE")):
        isa = "AVX2"
    return isa


def nominal_peak(meta: dict) -> tuple[float | None, str]:
    """Return (FLOP/s, how it was derived) for a CPU run: cores x advertised clock x fp32 lanes x 2 (FMA) x
    FMA units; (None, why) when the metadata cannot give it (not a CPU run, unknown clock or ISA)."""
    cpu = meta.get("cpu") or {}
    if meta.get("device") != "CPU":
        return None, f"no CPU peak for device {meta.get('device')}"
    hz, isa, cores = _hz(cpu.get("hz_advertised")), vector_isa(meta), cpu.get("count")
    if not (hz and isa and cores):
        return None, "CPU clock, core count or vector ISA unknown"
    flops = cores * hz * LANES[isa] * 2 * FMA_UNITS
    return flops, (f"{cores} cores x {hz / 1e9:g} GHz (advertised) x {LANES[isa]} fp32 lanes ({isa}) x 2 (FMA) "
                   f"x {FMA_UNITS} FMA units = {flops / 1e9:.0f} GFLOP/s")
