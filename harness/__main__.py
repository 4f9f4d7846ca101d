"""``python -m harness`` runs the ``pgan-harness`` CLI."""
import sys

from harness.cli import main

sys.exit(main())
