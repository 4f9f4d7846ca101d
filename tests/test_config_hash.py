"""Config hashes identify what changes results: they are stable across releases for configs that do not use new keys."""
from __future__ import annotations

import pytest

from pgan_ref.config import load_config

# Hashes of the reference presets computed by the code before the B4/B9/precision keys existed (commit f76be50):
# checkpoints written then must still resume (the trainer refuses a folder whose hash differs).
HASHES_BEFORE_B4_B9 = {
    "cpu-smoke": "bcd170f1e795b4c01bdf1e31a78e7dc52544743fc5200c80520d866dbca4920b",
    "full-4-16": "e73f873f5c933f50388a927556dae097d0be05bfb0f344742e0394120dc3388d",
    "modelzoo-910": "712136fb4c5ef9e7db542d4863667605ce6fcf4476f3e12fdbc84fe7dd64699b",
}


@pytest.mark.parametrize("preset", sorted(HASHES_BEFORE_B4_B9))
def test_reference_presets_keep_their_hash(preset):
    assert load_config(preset=preset).hash() == HASHES_BEFORE_B4_B9[preset]


def test_loss_scale_keys_count_only_with_b4():
    base = load_config(preset="cpu-smoke")
    assert load_config(preset="cpu-smoke", overrides={"loss_scale_value": 5}).hash() == base.hash()
    b4 = {"deviations.b4_dynamic_loss_scale": True}
    with_b4 = load_config(preset="cpu-smoke", overrides=b4)
    assert with_b4.hash() != base.hash()
    assert load_config(preset="cpu-smoke", overrides={**b4, "loss_scale_value": 5}).hash() != with_b4.hash()


def test_switches_and_precision_mode_change_the_hash_when_set():
    base = load_config(preset="cpu-smoke").hash()
    assert load_config(preset="cpu-smoke", overrides={"deviations.b9_modelzoo_step_structure": True}).hash() != base
    assert load_config(preset="cpu-smoke", overrides={"precision_mode": "force_fp32"}).hash() != base
