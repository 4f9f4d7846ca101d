"""Process environment that must be fixed before MindSpore is imported (CPU conv speed trap)."""
import os

# oneDNN picks a reference (50-200x slower) convolution on AVX-512/AMX CPUs unless capped to AVX2.
# Only a default: a value the user set is kept. It has no effect on Ascend or GPU.
os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "AVX2")
# MindSpore's C++ logging is noisy at INFO/WARNING on CPU; keep errors unless the user asked otherwise.
os.environ.setdefault("GLOG_v", "3")

# MindSpore's PyNative pipeline: "1" runs host dispatch inline (see ``pgan_ref.device.apply_host_blocking_run``).
HOST_BLOCKING_VAR = "MS_DEV_HOST_BLOCKING_RUN"

# MindSpore's CPU kernel threads (see ``pgan_ref.cpu_threads``): default (MindSpore's) or a positive integer.
CPU_THREADS_VAR = "PGAN_CPU_THREADS"

SPEED_ENV_VARS = (
    "ONEDNN_MAX_CPU_ISA",
    CPU_THREADS_VAR,
    HOST_BLOCKING_VAR,
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "OPENBLAS_CORETYPE",
    "MS_WORKER_NUM",
    "RANK_SIZE",
    "DEVICE_ID",
    "GLOG_v",
    "MS_DEV_JIT_SYNTAX_LEVEL",
)


def speed_env() -> dict:
    """Return the speed-relevant environment variables and their values (None when unset)."""
    return {k: os.environ.get(k) for k in SPEED_ENV_VARS}
