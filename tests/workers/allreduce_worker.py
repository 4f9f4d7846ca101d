"""Test worker for ``harness.runs.launch``: all-reduce ``rank + 1`` over the msrun cluster and report the sum."""
import argparse
import os
import signal
import time

from harness.runs.launch import worker_done
from pgan_ref.device import setup


def main() -> None:
    """Join the cluster, all-reduce and write this rank's result; optionally die, hang or fail on one rank."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--results-dir", required=True)
    parser.add_argument("--die-rank", type=int, default=-1, help="this rank SIGKILLs itself after init")
    parser.add_argument("--hang-rank", type=int, default=-1, help="this rank sleeps after the all-reduce")
    parser.add_argument("--fail-rank", type=int, default=-1, help="this rank reports status 'error'")
    args = parser.parse_args()
    rank, size = setup("CPU")  # joins the msrun cluster (the scheduler process serves it and exits here)
    if rank == args.die_rank:
        os.kill(os.getpid(), signal.SIGKILL)
    import numpy as np
    from mindspore import Tensor, ops

    total = ops.AllReduce()(Tensor(np.array([rank + 1.0], np.float32))).asnumpy()
    print(f"rank {rank}/{size}: all-reduce sum {total[0]}", flush=True)
    if rank == args.hang_rank:
        time.sleep(3600)
    if rank == args.fail_rank:
        worker_done(args.results_dir, status="error", error="injected failure")
    else:
        worker_done(args.results_dir, allreduce_sum=float(total[0]), group_size=size)


if __name__ == "__main__":
    main()
