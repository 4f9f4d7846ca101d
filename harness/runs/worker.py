"""``python -m harness.runs.worker``: one msrun rank of a multi-device scenario (see ``runner.worker_main``)."""
import sys

from harness.runs.runner import worker_main

if __name__ == "__main__":
    sys.exit(worker_main())
