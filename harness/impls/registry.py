"""The implementations ``--impl`` accepts: name, what it is, the ``--set`` key naming the user's code, its steps."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

from harness.errors import BadInput
from harness.impls import modelzoo_code, pgan_ref_steps, pytorch_gan_zoo
from harness.impls.names import OURS
from harness.impls.steps import ScaleStep, StepRequest


@dataclass(frozen=True)
class Impl:
    """One implementation: ``steps(request)`` yields its timed scale steps; ``folder_option`` names the ``--set`` key
    of the user's checkout it imports (None: ours), ``check_folder`` validates it (and what the implementation needs
    installed); ``multi_device`` for N devices."""

    name: str
    help: str
    steps: Callable[[StepRequest], Iterator[ScaleStep]]
    folder_option: str | None = None
    check_folder: Callable[[str], object] | None = None
    multi_device: bool = False


IMPLS = {i.name: i for i in (
    Impl(OURS, "this repository's pgan_ref (fused step; under --variant modelzoo also the ModelZoo three-graph "
               "structure)", pgan_ref_steps.scale_steps, multi_device=True),
    Impl(modelzoo_code.IMPL, "the user's ModelZoo PGAN checkout at --set modelzoo_dir=PATH, imported as it is "
                             "(its train.py loop body; CPU shims applied and recorded)",
         modelzoo_code.scale_steps, "modelzoo_dir", modelzoo_code.checkout_root),
    Impl(pytorch_gan_zoo.IMPL, "the user's pytorch_GAN_zoo checkout at --set pgz_dir=PATH, imported as it is (its "
                               "ProgressiveGAN.optimizeParameters per iteration, in torch: needs "
                               f"{pytorch_gan_zoo.INSTALL}; shims applied and recorded)",
         pytorch_gan_zoo.scale_steps, "pgz_dir", pytorch_gan_zoo.check_checkout),
)}
FOLDER_OPTIONS = tuple(i.folder_option for i in IMPLS.values() if i.folder_option)


def checked(name: str, options: dict, devices: int) -> Impl:
    """Return implementation ``name`` after checking its folder option and device count, else raise BadInput."""
    impl = IMPLS[name]
    for key in FOLDER_OPTIONS:
        if options.get(key) and key != impl.folder_option:
            owner = next(i.name for i in IMPLS.values() if i.folder_option == key)
            raise BadInput(f"--set {key} applies to --impl {owner}, not --impl {name}")
    if impl.folder_option:
        if not options.get(impl.folder_option):
            raise BadInput(f"--impl {name} needs --set {impl.folder_option}=PATH (the checkout to import)")
        impl.check_folder(options[impl.folder_option])
    if devices > 1 and not impl.multi_device:
        raise BadInput(f"--impl {name} runs on one device; drop --devices {devices}")
    return impl
