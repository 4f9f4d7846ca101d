"""``python -m harness.worker``: one msrun rank of a multi-device scenario (see ``runner.worker_main``)."""
import sys

from .runner import worker_main

if __name__ == "__main__":
    sys.exit(worker_main())
