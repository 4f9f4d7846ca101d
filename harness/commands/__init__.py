"""Subcommands of ``pgan-harness``: each public module defines ``register(subparsers)`` that sets ``func``;
``_options`` holds the option groups several commands share (declared once, as asv's common_args)."""
