"""Training-step implementations the step-time scenario times, one module each, behind one shape (``steps``):
pgan_ref's fused and ModelZoo three-graph steps (``pgan_ref_steps``), the user's own ModelZoo PGAN checkout
imported as it is (``modelzoo_code``, with the CPU run-time shims of ``modelzoo_shims``), the user's
pytorch_GAN_zoo checkout (``pytorch_gan_zoo``, torch imported lazily, with the shims of ``pgz_shims``), the
checkout-folder logic they share (``user_checkout``), the label values their records carry (``names``, which
the report reads too), and ``registry``, the names ``--impl`` accepts.

Imported by ``harness.scenarios`` (and what is above it); never imports ``harness.scenarios`` or anything above
it. May import ``pgan_ref``, MindSpore, torch (lazily, in the pytorch_GAN_zoo modules only), ``harness.logs``,
``harness.quality``, ``harness.judge``, ``harness.records`` and the root modules. Nothing of a user's checkout is copied here: it is imported from
the folder the user names.
"""
