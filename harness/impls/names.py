"""The ``impl`` and ``structure`` label values step-time records carry, in one place: the implementations write
them and the report reads them without importing an implementation. pgan_ref's own step structures (``fused``,
``modelzoo-3graph``, which the ModelZoo code's step shares) are ``pgan_ref.config``'s ``FUSED`` / ``THREE_GRAPH``."""

OURS = "pgan_ref"  # the implementation whose records carry no ``impl`` label (their identity predates the label)
MODELZOO_CODE = "modelzoo-code"  # the user's ModelZoo PGAN checkout (mindspore-ai/models research/cv/PGAN)
PYTORCH_GAN_ZOO = "pytorch-gan-zoo"  # the user's facebookresearch/pytorch_GAN_zoo checkout
PGZ_OPTIMIZE = "pgz-optimize"  # ProgressiveGAN.optimizeParameters: D step, G step, avgG EMA, in eager torch
