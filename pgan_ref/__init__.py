"""Reference Progressive Growing of GANs (Karras et al. 2018) in MindSpore, with the ModelZoo's deviations as switches."""
from . import _env  # noqa: F401  (sets ONEDNN_MAX_CPU_ISA before mindspore loads)
