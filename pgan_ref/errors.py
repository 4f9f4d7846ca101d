"""Errors that several pgan_ref modules raise about checkpoints (a leaf module: importing it loads nothing)."""


class CheckpointError(ValueError):
    """A checkpoint is missing, unreadable or damaged, or does not match the requested scale or config."""
