"""Run metadata and the machine fingerprint: device, versions, git state, CPU, speed environment."""
from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import os
import platform
import socket
import subprocess
from pathlib import Path

from pgan_ref._env import speed_env
from pgan_ref.cpu_threads import cpu_threads

from harness.records.schema import dig


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=Path(__file__).resolve().parent, capture_output=True,
                             text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def _pkg_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _cann_version() -> str | None:
    """Return the CANN toolkit version where an Ascend software stack is installed, else None."""
    roots = [os.environ.get("ASCEND_TOOLKIT_HOME"), os.environ.get("ASCEND_HOME_PATH"),
             "/usr/local/Ascend/ascend-toolkit/latest"]
    for root in filter(None, roots):
        for info in Path(root).glob("*/ascend_toolkit_install.info"):
            for line in info.read_text(errors="replace").splitlines():
                if line.startswith("version="):
                    return line.split("=", 1)[1].strip()
    return None


@functools.lru_cache(maxsize=1)
def _cpu_info() -> dict:
    import cpuinfo  # py-cpuinfo; slow (~1 s), so asked once per process

    info = cpuinfo.get_cpu_info()
    flags = sorted(info.get("flags", []))
    return {"brand": info.get("brand_raw"), "arch": info.get("arch"), "count": info.get("count"),
            "vendor": info.get("vendor_id_raw"), "l2_cache_size": info.get("l2_cache_size"),
            "l3_cache_size": info.get("l3_cache_size"), "hz_advertised": info.get("hz_advertised_friendly"),
            "hz_actual": info.get("hz_actual_friendly"),
            "flags_sha256": hashlib.sha256(" ".join(flags).encode()).hexdigest()[:16],
            "avx512": any(f.startswith("avx512") for f in flags), "avx2": "avx2" in flags}


# Fields that identify a machine for comparing timings; volatile ones (current MHz, hostname) excluded.
FINGERPRINT_FIELDS = ("device", "device_count", "cpu.brand", "cpu.arch", "cpu.count", "cpu.flags_sha256",
                      "memory_gib", "mindspore", "cann", "env.ONEDNN_MAX_CPU_ISA")


def machine_fields(meta: dict) -> dict:
    """Return the non-volatile machine-identifying fields of a record's ``meta``."""
    return {f: dig(meta, f) for f in FINGERPRINT_FIELDS}


def fingerprint(meta: dict) -> str:
    """Return a short hash of the machine-identifying, non-volatile fields of ``meta``."""
    key = json.dumps(machine_fields(meta), sort_keys=True, default=str)
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def collect_meta(device: str = "CPU", device_count: int = 1) -> dict:
    """Return the run metadata every record carries (device, versions, git, CPU, env, kernel threads, fingerprint).

    ``cpu_threads`` is the CPU kernel thread count ``PGAN_CPU_THREADS`` resolves to (None: MindSpore's default).
    """
    try:
        import psutil
        mem = round(psutil.virtual_memory().total / 2**30)
    except ImportError:  # pragma: no cover - psutil is a dependency
        mem = None
    status = _git("status", "--porcelain", "--untracked-files=no")
    meta = {
        "device": device, "device_count": int(device_count),
        "mindspore": _pkg_version("mindspore"), "cann": _cann_version(),
        "numpy": _pkg_version("numpy"), "python": platform.python_version(),
        "git_commit": _git("rev-parse", "HEAD"), "git_dirty": None if status is None else bool(status),
        "hostname": socket.gethostname(), "os": platform.platform(), "memory_gib": mem,
        "cpu": _cpu_info(), "env": speed_env(), "cpu_threads": cpu_threads() if device == "CPU" else None,
    }
    meta["machine_fingerprint"] = fingerprint(meta)
    return meta
