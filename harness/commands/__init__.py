"""Subcommands of ``pgan-harness``: each module defines ``register(subparsers)`` that sets ``func``."""
