"""``python -m harness`` runs the ``pgan-harness`` CLI."""
import sys

from .cli import main

sys.exit(main())
