"""The scenario modules; ``harness.registry`` imports and registers them."""
