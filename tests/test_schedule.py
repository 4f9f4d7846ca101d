"""The iteration counts and alpha table equal the spec's formula on 1 and 8 devices."""
import math

import numpy as np
import pytest

from pgan_ref.config import load_config
from pgan_ref.schedule import alpha_table, iterations, schedule_summary


def spec_alpha(i, jumps, size, n):
    """The spec's formula, written independently: 1 - floor(i/K)/J while i < J*K, else 0."""
    j = jumps / n
    return 1 - math.floor(i / size) / j if i < j * size else 0.0


@pytest.mark.parametrize("devices", [1, 8])
def test_alpha_table_every_iteration_matches_spec(devices):
    cfg = load_config(preset="modelzoo-910")
    for s in range(cfg.n_scales):
        table = alpha_table(cfg.num_batch[s], cfg.alpha_jumps[s], cfg.alpha_size_jumps[s], devices)
        assert len(table) == cfg.num_batch[s] // devices
        expected = np.array([spec_alpha(i, cfg.alpha_jumps[s], cfg.alpha_size_jumps[s], devices)
                             for i in range(len(table))])
        np.testing.assert_array_equal(table, expected)


def test_known_schedule_points():
    one = alpha_table(96000, 600, 32, 1)
    assert one[0] == 1.0 and one[31] == 1.0 and one[32] == pytest.approx(1 - 1 / 600)
    assert one[19199] == pytest.approx(1 / 600) and one[19200] == 0.0
    eight = alpha_table(96000, 600, 32, 8)
    assert len(eight) == 12000 and eight[32] == pytest.approx(1 - 1 / 75) and eight[2400] == 0.0
    assert np.all(alpha_table(48000, 0, 32, 1) == 0.0)


def test_totals_in_iterations_and_images():
    cfg = load_config(preset="modelzoo-910")
    one, eight = schedule_summary(cfg, 1), schedule_summary(cfg, 8)
    assert sum(r["iterations"] for r in one) == 528_000
    assert sum(r["iterations"] for r in eight) == 66_000
    assert sum(r["images"] for r in one) == 8_448_000 == sum(r["images"] for r in eight)
    assert one[1]["fade_images"] == 307_200
    assert iterations(96000, 8) == 12000
