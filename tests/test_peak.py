"""The nominal CPU peak: closed forms from the metadata, the oneDNN ISA cap, and where no peak exists."""
from harness.records.peak import nominal_peak, vector_isa

XEON = {"device": "CPU", "cpu": {"count": 2, "hz_advertised": "2.1000 GHz", "avx512": True, "avx2": True},
        "env": {"ONEDNN_MAX_CPU_ISA": "AVX2"}}


def test_the_isa_cap_halves_an_avx512_peak():
    capped, why = nominal_peak(XEON)
    assert capped == 2 * 2.1e9 * 8 * 2 * 2 and "134 GFLOP/s" in why and "AVX2" in why
    full, _ = nominal_peak({**XEON, "env": {"ONEDNN_MAX_CPU_ISA": None}})
    assert full == 2 * capped and vector_isa({**XEON, "env": {"ONEDNN_MAX_CPU_ISA": "AVX512_CORE"}}) == "AVX512"


def test_no_peak_off_cpu_or_without_a_clock():
    assert nominal_peak({**XEON, "device": "Ascend"})[0] is None
    assert nominal_peak({**XEON, "cpu": {**XEON["cpu"], "hz_advertised": None}})[0] is None
    epyc = {"device": "CPU", "cpu": {"count": 2, "hz_advertised": "2450.000 MHz", "avx512": False, "avx2": True}}
    assert nominal_peak(epyc)[0] == 2 * 2.45e9 * 32
