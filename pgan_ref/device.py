"""Device and data-parallel setup: the one place that knows about CPU / GPU / Ascend and msrun's environment."""
from __future__ import annotations

import os

from ._env import HOST_BLOCKING_VAR
from .cpu_threads import cpu_threads

DEVICES = ("CPU", "GPU", "Ascend")


def apply_cpu_threads() -> None:
    """Set MindSpore's CPU kernel threads from ``PGAN_CPU_THREADS`` unless it asks for MindSpore's default or this
    process already set them (e.g. the A/B worker's boot): MindSpore accepts the setting once per process."""
    import mindspore as ms
    from mindspore._c_expression import RuntimeConf

    threads = cpu_threads()
    if threads is not None and not RuntimeConf.get_instance().is_op_threads_num_configured():
        ms.device_context.cpu.op_tuning.threads_num(threads)


def apply_host_blocking_run() -> None:
    """Make MindSpore run host-side dispatch on the calling thread (``MS_DEV_HOST_BLOCKING_RUN=1``) unless the user set it.

    By default a compiled step called from PyNative goes through MindSpore's asynchronous pipeline, and waiting
    for its results (``asnumpy``, ``synchronize``) spins the Python thread (``AsyncRQueue::Wait`` is a busy
    loop): on a 2-core CPU it takes one of the two cores the step's kernels run on, and the step takes ~2x as
    long (the ModelZoo's GRAPH_MODE cells never wait that way). MindSpore reads the variable at the first
    operation it dispatches, so this must run before any.
    """
    os.environ.setdefault(HOST_BLOCKING_VAR, "1")


def launched_by_msrun() -> bool:
    """Return True when msrun started this process: a worker, or the scheduler (MS_ROLE=MS_SCHED) that
    runs the same script and must call ``init()`` to serve the cluster."""
    return bool(os.environ.get("MS_ROLE"))


def setup(device_target: str = "CPU", device_id: int | None = None) -> tuple[int, int]:
    """Select the device (on CPU with ``PGAN_CPU_THREADS`` kernel threads) and, under msrun, join the
    data-parallel group; return (rank, group_size)."""
    import mindspore as ms

    if device_target not in DEVICES:
        raise ValueError(f"unknown device {device_target!r}; choose one of {', '.join(DEVICES)}")
    if device_target == "CPU":
        apply_host_blocking_run()
        apply_cpu_threads()
    if device_id is None and device_target != "CPU":
        device_id = int(os.environ.get("DEVICE_ID", "0"))
    if device_id is None:
        ms.set_device(device_target)
    else:
        ms.set_device(device_target, device_id)
    if not launched_by_msrun():
        return 0, 1
    from mindspore.communication import get_group_size, get_rank, init

    init()  # HCCL on Ascend, NCCL on GPU, mccl on CPU; the scheduler process serves the cluster and exits here
    ms.set_auto_parallel_context(parallel_mode=ms.ParallelMode.DATA_PARALLEL, gradients_mean=True)
    return get_rank(), get_group_size()


def apply_precision(cfg, device_target: str = "CPU") -> dict:
    """Pass the config's ``precision_mode`` to MindSpore's Ascend op-precision setting; return it for records' meta.

    A thin pass-through (untested off Ascend): on CPU and GPU nothing is set (``applied`` False); a mode of
    None means MindSpore's default (``must_keep_origin_dtype`` on Ascend).
    Call it before the first graph compiles; MindSpore refuses to change the mode once set.
    """
    mode = cfg.precision_mode or None
    if device_target == "Ascend" and mode:
        import mindspore as ms

        ms.device_context.ascend.op_precision.precision_mode(mode)
    return {"device": device_target, "precision_mode": mode, "applied": device_target == "Ascend"}
