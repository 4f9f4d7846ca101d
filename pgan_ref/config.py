"""Training configuration: the ModelZoo YAML as-is, named presets, variants and deviation switches."""
from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import logging
from dataclasses import dataclass, field, fields
from pathlib import Path

import yaml

log = logging.getLogger(__name__)
PRESET_DIR = Path(__file__).resolve().parent / "presets"


class ConfigError(ValueError):
    """A configuration key, value or file is wrong; the message says which and what to do."""


@dataclass
class Deviations:
    """The ModelZoo PGAN's differences from the reference (spec §5), each its own switch."""

    d1_no_minibatch_stddev: bool = False   # D1: no minibatch-stddev layer in D
    d2_maxpool_downsample: bool = False    # D2: D downsamples with max-pool instead of average
    d3_no_real_fade: bool = False          # D3: real images not faded during a transition
    d4_lrelu_torgb: bool = False           # D4: LeakyReLU on the new toRGB output at scales >= 8
    d5_adam_beta1_1e4: bool = False        # D5: Adam beta1 = 1e-4 instead of 0
    d6_gp_mix_fixed_normal: bool = False   # D6: GP mixing a ~ N(0,1) drawn once per compiled graph
    d7_no_mirror: bool = False             # D7: no horizontal mirror augmentation
    d8_no_crop: bool = False               # D8: whole 178x218 image squashed instead of 128x128 crop
    d9_fp16_downsample: bool = False       # D9: D pools in float16 (image path cast back; blend input float16)
    b2_reinit_d_at_8: bool = False         # B2: at 4->8, D's 4x4 fromRGB/conv/dense re-initialised
    b3_same_seed_all_ranks: bool = False   # B3: every rank draws the same latents
    b4_dynamic_loss_scale: bool = False    # B4: D and G train with dynamic loss scaling, window = scale_factor
    b5_g_plain_lr: bool = False            # B5: G's Adam keeps plain lr when lr_list is set (D: lr_list[scale])
    b6_modelzoo_rng_stream: bool = False   # B6: weights, latents, GP mix from one legacy numpy stream, ModelZoo order
    b9_modelzoo_step_structure: bool = False  # B9: three graph calls per iteration, host-side EMA by set_data

    @classmethod
    def all_on(cls) -> "Deviations":
        """Return the as-published ModelZoo behaviour: every switch on."""
        return cls(**{f.name: True for f in fields(cls)})

    def enabled(self) -> list[str]:
        """Return the names of the switches that are on."""
        return [f.name for f in fields(self) if getattr(self, f.name)]


VARIANTS = {"reference": Deviations, "modelzoo": Deviations.all_on}
FUSED, THREE_GRAPH = "fused", "modelzoo-3graph"  # step structures: one compiled graph, or the ModelZoo's three (B9)
CHECKPOINT_NAMES = ("pgan_ref", "modelzoo")  # the parameter names training writes (checkpoints.save_net)
# MindSpore 2.10's Ascend operator precision modes (mindspore.device_context.ascend.op_precision.precision_mode).
PRECISION_MODES = ("force_fp16", "allow_fp32_to_fp16", "allow_mix_precision", "must_keep_origin_dtype", "force_fp32",
                   "allow_fp32_to_bf16", "allow_mix_precision_fp16", "allow_mix_precision_bf16")


@dataclass
class PGANConfig:
    """Everything that defines a PGAN training run (names follow the ModelZoo ``910_config.yaml``)."""

    scales: list[int] = field(default_factory=lambda: [4, 8, 16, 32, 64, 128])
    depth: list[int] = field(default_factory=lambda: [512, 512, 512, 512, 256, 128])
    num_batch: list[int] = field(default_factory=lambda: [48000, 96000, 96000, 96000, 96000, 96000])
    alpha_jumps: list[int] = field(default_factory=lambda: [0, 600, 600, 600, 600, 600])
    alpha_size_jumps: list[int] = field(default_factory=lambda: [32, 32, 32, 32, 32, 32])
    batch_size: int = 16
    batch_size_list: list[int] = field(default_factory=list)  # per-scale batch sizes (ModelZoo key; [] = batch_size)
    lr: float = 0.001
    lr_list: list[float] = field(default_factory=list)  # per-scale learning rates (ModelZoo key; [] = lr)
    latent: int = 512
    lambda_gp: float = 10.0
    epsilon_drift: float = 0.001
    leaky: float = 0.2
    beta1: float = 0.0
    beta2: float = 0.99
    adam_eps: float = 1e-8
    ema_decay: float = 0.999
    loss_scale_value: float = 12.0  # B4: initial loss scale 2**loss_scale_value (ModelZoo YAML key)
    scale_factor: float = 10.0      # B4: the scale is divided by this on overflow, multiplied after a window
    scale_window: int = 1000        # the YAML's window; the ModelZoo code passes scale_factor instead (B4)
    precision_mode: str = ""        # Ascend operator precision mode (device_context.ascend.op_precision); "" = default
    mirror: bool = True
    model_save_step: int = 10000
    ckpt_save_dir: str = "./checkpoint"
    checkpoint_names: str = "pgan_ref"  # names written: pgan_ref | modelzoo (the ModelZoo's eval.py loads these)
    log_every: int = 100
    monitor_every: int = 200
    num_workers: int = 2
    seed: int = 0
    file_name: str = "PGAN"
    file_format: str = "MINDIR"
    variant: str = "reference"
    deviations: Deviations = field(default_factory=Deviations)

    def __post_init__(self):
        if isinstance(self.deviations, dict):
            self.deviations = _build(Deviations, self.deviations, "deviations")
        self.validate()

    def validate(self) -> None:
        """Raise ConfigError when a value has the wrong type or range, or the per-scale lists disagree."""
        check_values(self)
        n = len(self.scales)
        for name in ("batch_size_list", "lr_list"):  # as the ModelZoo's train.py: empty, or one per scale
            if getattr(self, name) and len(getattr(self, name)) != n:
                raise ConfigError(f"config key {name!r} has {len(getattr(self, name))} entries but 'scales' has {n}: "
                                  f"give one value per scale, or [] to use {name.removesuffix('_list')!r}")
        for name in ("depth", "num_batch", "alpha_jumps", "alpha_size_jumps"):
            if len(getattr(self, name)) < n:
                raise ConfigError(f"config key {name!r} has {len(getattr(self, name))} entries but "
                                  f"'scales' has {n}: give one value per scale")
        if self.scales[0] != 4 or any(b != 2 * a for a, b in zip(self.scales, self.scales[1:])):
            raise ConfigError(f"'scales' must start at 4 and double each step, got {self.scales}")
        if self.batch_size < 1 or self.latent < 1 or min(self.depth[:n]) < 1:
            raise ConfigError("batch_size, latent and every depth must be positive")
        if not 0 <= self.beta1 < 1 or not 0 < self.beta2 < 1:
            raise ConfigError(f"Adam betas must satisfy 0 <= beta1 < 1, 0 < beta2 < 1 (got {self.beta1}, {self.beta2})")
        if self.precision_mode not in ("", *PRECISION_MODES):
            raise ConfigError(f"unknown precision_mode {self.precision_mode!r}; choose one of "
                              f"{', '.join(PRECISION_MODES)} (Ascend only) or leave it unset")
        if self.variant not in VARIANTS:
            raise ConfigError(f"unknown variant {self.variant!r}; choose one of {sorted(VARIANTS)}")
        if self.checkpoint_names not in CHECKPOINT_NAMES:
            raise ConfigError(f"config key 'checkpoint_names' = {self.checkpoint_names!r} is not accepted: expected "
                              f"one of {', '.join(CHECKPOINT_NAMES)}")
        if self.checkpoint_names == "modelzoo" and not (self.deviations.d1_no_minibatch_stddev
                                                        and self.deviations.d4_lrelu_torgb):
            raise ConfigError("checkpoint_names=modelzoo needs the ModelZoo's network (deviations "
                              "d1_no_minibatch_stddev and d4_lrelu_torgb on, as in --variant modelzoo): its eval.py "
                              "could not load these weights or would compute something else with them")

    @property
    def n_scales(self) -> int:
        """Return the number of scales trained."""
        return len(self.scales)

    def effective_beta1(self) -> float:
        """Return Adam beta1 after the D5 switch (1e-4) is applied."""
        return 1e-4 if self.deviations.d5_adam_beta1_1e4 else self.beta1

    def batch_size_at(self, s_idx: int) -> int:
        """Return the batch size of scale index ``s_idx``: ``batch_size_list[s_idx]``, else ``batch_size``."""
        return self.batch_size_list[s_idx] if self.batch_size_list else self.batch_size

    def lr_d(self, s_idx: int) -> float:
        """Return D's learning rate at scale index ``s_idx``: ``lr_list[s_idx]``, else ``lr`` (the ModelZoo's)."""
        return self.lr_list[s_idx] if self.lr_list else self.lr

    def lr_g(self, s_idx: int) -> float:
        """Return G's learning rate at scale index ``s_idx``: as D's, or plain ``lr`` under B5 (the ModelZoo's)."""
        return self.lr if self.deviations.b5_g_plain_lr else self.lr_d(s_idx)

    def effective_mirror(self) -> bool:
        """Return whether mirror augmentation is on after the D7 switch."""
        return self.mirror and not self.deviations.d7_no_mirror

    def loss_scale_window(self) -> int:
        """Return the loss-scale window the ModelZoo code uses: ``scale_factor``, not ``scale_window`` (B4)."""
        return int(self.scale_factor)

    def to_dict(self) -> dict:
        """Return the config as plain data (JSON/YAML serialisable)."""
        return dataclasses.asdict(self)

    def hash(self) -> str:
        """Return the sha256 of the canonical JSON form (excluding paths and names that do not change results).

        Keys added after the first hashed form (B4/B5/B6/B9/D9, precision_mode, the per-scale lists) count only when they
        act: switches
        that are off, loss-scale keys without B4 and an unset precision mode are left out, so configs that do
        not use them keep the hash (and the checkpoints) they had before those keys existed.
        """
        d = self.to_dict()
        d.pop("ckpt_save_dir", None)
        d.pop("checkpoint_names", None)  # how parameters are named on disk; either layout is read back
        for switch in ("b4_dynamic_loss_scale", "b9_modelzoo_step_structure", "d9_fp16_downsample", "b5_g_plain_lr",
                       "b6_modelzoo_rng_stream"):
            if not d["deviations"][switch]:
                del d["deviations"][switch]
        for key in ("batch_size_list", "lr_list"):
            if not d[key]:
                del d[key]
        if not self.deviations.b4_dynamic_loss_scale:
            for key in ("loss_scale_value", "scale_factor", "scale_window"):
                del d[key]
        if not self.precision_mode:
            del d["precision_mode"]
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class Range:
    """The values a numeric config key (or each entry of a per-scale list) accepts: ``low``..``high``."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False  # ``low`` itself is refused
    high_open: bool = False

    def accepts(self, value: float) -> bool:
        """Return whether ``value`` lies in the range."""
        above = self.low is None or (value > self.low if self.low_open else value >= self.low)
        below = self.high is None or (value < self.high if self.high_open else value <= self.high)
        return above and below

    def describe(self) -> str:
        """Return the range as text, e.g. ``>= 1`` or ``in [0, 1)``."""
        if self.low is not None and self.high is not None:
            return f"in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}{')' if self.high_open else ']'}"
        if self.low is not None:
            return f"{'>' if self.low_open else '>='} {self.low:g}"
        return f"{'<' if self.high_open else '<='} {self.high:g}" if self.high is not None else "any"


# Accepted ranges of the numeric keys (per entry for the per-scale lists). A key's type is its default's
# type in PGANConfig (lists: one integer per scale; Deviations: booleans); a key without a range here
# accepts any value of its type. Add a row when a numeric key is added.
RANGES = {
    "scales": Range(4), "depth": Range(1), "num_batch": Range(1), "alpha_jumps": Range(0),
    "alpha_size_jumps": Range(1), "batch_size": Range(1), "lr": Range(0, low_open=True), "latent": Range(1),
    "batch_size_list": Range(1), "lr_list": Range(0, low_open=True),
    "lambda_gp": Range(0), "epsilon_drift": Range(0), "leaky": Range(0, 1, high_open=True),
    "beta1": Range(0, 1, high_open=True), "beta2": Range(0, 1, low_open=True, high_open=True),
    "adam_eps": Range(0, low_open=True), "ema_decay": Range(0, 1), "model_save_step": Range(1),
    "log_every": Range(1), "monitor_every": Range(1), "num_workers": Range(1), "seed": Range(0),
    "loss_scale_value": Range(0, 127), "scale_factor": Range(1, low_open=True), "scale_window": Range(1),
}
FLOAT_LISTS = {"lr_list"}  # per-scale lists of numbers (the others hold integers)
_KIND_TEXT = {bool: "true or false", int: "an integer", float: "a number", str: "a text", list: "a list of integers"}


def _check_value(key: str, value, default):
    """Return ``value`` if it has ``default``'s type (ints pass for floats, numeric text becomes a float), else raise
    ConfigError saying what is accepted."""
    kind = type(default)
    rng = RANGES.get(key)
    accepted = _KIND_TEXT.get(kind, kind.__name__) + (f" {rng.describe()}" if rng else "")
    if kind is list:
        what = "numbers" if key in FLOAT_LISTS else "integers"
        accepted = f"a list of {what} {rng.describe() if rng else ''}, one per scale, e.g. {default[:3] or [1, 2]}"
    bad = ConfigError(f"config key {key!r} = {value!r} is not accepted: expected {accepted}")
    if kind is list:
        item = (int, float) if key in FLOAT_LISTS else int
        if not isinstance(value, list) or (not value and default) or \
                not all(isinstance(v, item) and not isinstance(v, bool) for v in value):
            raise bad
        if rng and not all(rng.accepts(v) for v in value):
            raise bad
        return value
    if kind is float and isinstance(value, str):  # YAML 1.1 reads 1e-3 (no dot) as text
        try:
            value = float(value)
        except ValueError:
            raise bad from None
    accepted_types = (int, float) if kind is float else kind  # an int stays as given: config hashes are unchanged
    if not isinstance(value, accepted_types) or (kind is not bool and isinstance(value, bool)):
        raise bad
    if rng and (value != value or not rng.accepts(value)):  # value != value: NaN
        raise bad
    return value


def check_values(cfg: "PGANConfig") -> None:
    """Check every key's type and range (numeric text for a float key becomes a float); raise ConfigError."""
    for f in fields(PGANConfig):
        default = f.default_factory() if f.default is dataclasses.MISSING else f.default
        if isinstance(default, Deviations):
            if not isinstance(cfg.deviations, Deviations):
                _deviation_map(cfg.deviations)
            for d in fields(Deviations):
                _check_value(f"deviations.{d.name}", getattr(cfg.deviations, d.name), d.default)
        else:
            setattr(cfg, f.name, _check_value(f.name, getattr(cfg, f.name), default))


def _deviation_map(value) -> dict:
    """Return ``value`` if it is a mapping of deviation switches, else raise ConfigError."""
    if not isinstance(value, dict):
        raise ConfigError(f"config key 'deviations' = {value!r} is not accepted: expected a mapping of switch "
                          f"names to true/false (or --set deviations.NAME=true)")
    return value


# ModelZoo 910_config.yaml keys that this implementation accepts but has no use for (warned, not fatal).
MODELZOO_IGNORED = {"enable_modelarts", "data_url", "train_url", "checkpoint_url", "data_path", "output_path",
                    "load_path", "device_target", "dataset_name", "name", "resume_load_scale",
                    "train_data_path", "resume_check_d", "resume_check_g", "ckpt_file", "enable_profiling"}


def _build(cls, data: dict, where: str):
    known = {f.name for f in fields(cls)}
    bad = [k for k in data if k not in known]
    if bad:
        hints = {k: difflib.get_close_matches(k, known, n=1) for k in bad}
        msg = ", ".join(f"{k!r}" + (f" (did you mean {h[0]!r}?)" if h else "") for k, h in hints.items())
        raise ConfigError(f"unknown {where} key(s): {msg}; known keys: {', '.join(sorted(known))}")
    return cls(**data)


def _read_yaml(path: Path) -> dict:
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist: pass --config_path to a 910_config.yaml-style "
                          f"file or use --preset with one of {', '.join(list_presets())}")
    try:
        docs = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
    except UnicodeDecodeError as e:
        raise ConfigError(f"config file {path} is not UTF-8 text (byte {e.object[e.start]:#04x} at offset "
                          f"{e.start}): save it as UTF-8") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"config file {path} is not valid YAML: {' '.join(str(e).split())}") from e
    data = docs[0] if docs else None  # ModelZoo files carry a second document of help strings
    if data is None:
        raise ConfigError(f"config file {path} is empty: give at least the keys that differ from the defaults, "
                          f"e.g. scales, depth, num_batch (see the presets in {PRESET_DIR})")
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of keys to values")
    return data


def _parse_value(text: str):
    """Parse a ``--set`` value as YAML (numbers, lists, booleans) falling back to the raw string."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def apply_overrides(data: dict, overrides: dict) -> dict:
    """Return ``data`` updated with ``key=value`` overrides; dotted keys reach into ``deviations``."""
    out = {**data, "deviations": dict(_deviation_map(data.get("deviations") or {}))}
    for key, value in overrides.items():
        value = _parse_value(value) if isinstance(value, str) else value
        if key.startswith("deviations."):
            out["deviations"][key.split(".", 1)[1]] = value
        elif key == "deviations":
            out["deviations"].update(_deviation_map(value))
        else:
            out[key] = value
    return out


def load_config(path: str | Path | None = None, *, preset: str | None = None, variant: str | None = None,
                overrides: dict | None = None, strict: bool = False) -> PGANConfig:
    """Return a config from a ModelZoo-style YAML file or a named preset, with a variant and overrides.

    Keys of the ModelZoo file that we do not use are warned about (``strict`` makes them errors);
    unknown keys in presets or overrides are always errors.
    """
    if (path is None) == (preset is None):
        raise ConfigError("give exactly one of a config file path or a preset name")
    data = _read_yaml(Path(path) if path else preset_path(preset))
    known = {f.name for f in fields(PGANConfig)}
    unused = sorted(k for k in data if k not in known)
    if unused and path is not None and not strict:
        log.warning("config %s: keys not used by pgan_ref (ignored): %s", path, ", ".join(unused))
        data = {k: v for k, v in data.items() if k in known}
    elif unused and path is not None:
        data = {k: v for k, v in data.items() if k not in MODELZOO_IGNORED}
    if "ckpt_save_dir" not in data and "ckpt_dir" in data:
        data["ckpt_save_dir"] = data.pop("ckpt_dir")
    data = apply_overrides(data, overrides or {})
    if variant is not None:
        data["variant"] = variant
    variant_name = data.get("variant", "reference")
    if variant_name not in VARIANTS:
        raise ConfigError(f"unknown variant {variant_name!r}; choose one of {sorted(VARIANTS)}")
    base = dataclasses.asdict(VARIANTS[variant_name]())
    data["deviations"] = {**base, **data.get("deviations", {})}
    return _build(PGANConfig, data, "config")


def list_presets() -> list[str]:
    """Return the names of the bundled presets."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


def preset_path(name: str) -> Path:
    """Return the YAML file of preset ``name`` or raise ConfigError listing the known presets."""
    p = PRESET_DIR / f"{name}.yaml"
    if not p.is_file():
        raise ConfigError(f"unknown preset {name!r}; known presets: {', '.join(list_presets())}")
    return p
