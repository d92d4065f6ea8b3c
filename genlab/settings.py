"""ONE table of every training setting: its name, type, bounds, default (per model kind where it
differs), CLI flag, URL / lesson key, widget label and help. The CLI parser, the Train page's
widgets and URL, the lessons and the Ray path are derived from it (``genlab.train.recipe``
turns checked settings into the model and training configs for all of them), and
``ModelConfig`` / ``TrainConfig`` validate with the same bounds. No torch import: the CLI checks
its arguments before torch loads."""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class KindDefaults:
    latent_dim: int | None  # None: set by the model config (flow / ddpm: C*H*W)
    lr: float
    betas: tuple[float, float]
    batch_size: int
    epochs: int


DEFAULTS: dict[str, KindDefaults] = {
    # the second lab report: latent 32, Adam 1e-3, batch 128, 20 epochs
    "ae": KindDefaults(latent_dim=32, lr=1e-3, betas=(0.9, 0.999), batch_size=128, epochs=20),
    "vae": KindDefaults(latent_dim=32, lr=1e-3, betas=(0.9, 0.999), batch_size=128, epochs=20),
    # DCGAN (and the report): latent 100, Adam 2e-4 with beta1 = 0.5, batch 64, 50 epochs
    "gan": KindDefaults(latent_dim=100, lr=2e-4, betas=(0.5, 0.999), batch_size=64, epochs=50),
    # flow matching and DDPM on the small U-Net: Adam 1e-3, batch 128 (DDPM used 2e-4 on a far
    # larger net; on 4,000 MNIST digits, 3 epochs of the lesson DDPM reached a Fréchet distance
    # of 410 with 1e-3 and 553 with 5e-4, and the 0.94 M default U-Net trained stably with
    # 1e-3); the latent is the image-shaped noise (C*H*W, set by the model config)
    "flow": KindDefaults(latent_dim=None, lr=1e-3, betas=(0.9, 0.999), batch_size=128, epochs=10),
    "ddpm": KindDefaults(latent_dim=None, lr=1e-3, betas=(0.9, 0.999), batch_size=128, epochs=10),
}
NOISE_KINDS = ("flow", "ddpm")  # their latent is the starting noise: latent_dim = C*H*W
SCHEDULES = ("linear", "cosine")  # DDPM noise schedules (genlab.models.schedules)
# MLP: widths of the hidden layers; conv: channels of the first conv layer (doubles per layer)
DEFAULT_HIDDEN = {("mlp", "ae"): (400,), ("mlp", "vae"): (400,), ("mlp", "gan"): (256, 512),
                  ("conv", "ae"): (32,), ("conv", "vae"): (32,), ("conv", "gan"): (64,),
                  # the U-Net's base width: 32 the default size (0.94 M weights), below 32 the
                  # lesson size (two resolutions, ~52 MFLOP per 28x28 image)
                  ("conv", "flow"): (32,), ("conv", "ddpm"): (32,)}
DATASETS = ("mnist", "fashion-mnist", "digits", "faces")  # the built-in data sets (genlab.data)
NATIVE_SIZE = {"digits": 8, "faces": 64}  # the built-in data sets' own image size; others 28
SIZES = (8, 16, 28, 32, 64)
MAX_HIDDEN_LAYERS, MAX_WIDTH = 8, 8192


class SettingError(ValueError):
    """A setting's value that cannot be used; the message says which and why."""


@dataclass(frozen=True)
class Setting:
    key: str  # the URL's and the lessons' name
    type: str  # int | float | str | bool | sizes (a list of whole numbers)
    label: str  # the Train page's widget label
    help: str
    flag: str  # the CLI's
    target: str  # data | model | train: which config it ends in ...
    field: str  # ... as this field
    default: object = None  # a value, or "kind" / "hidden" / "size": looked up (see default())
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    choices: tuple = ()
    kinds: tuple[str, ...] = ()  # the model kinds it applies to (empty: all)
    optional: bool = False  # may be empty (None): lr_d, "the same as lr"

    def holds(self, v: float) -> bool:
        """Whether the number ``v`` lies within this setting's bounds (none: any finite value)."""
        return math.isfinite(v) and (self.lo is None or (self.lo < v if self.lo_open else self.lo <= v)
                                     and (v < self.hi if self.hi_open else v <= self.hi))

    def bounds_text(self) -> str:
        return (f"{'(' if self.lo_open else '['}{self.lo:g}, {self.hi:g}{')' if self.hi_open else ']'}"
                if self.type == "float" else f"between {self.lo:,} and {self.hi:,}")


_S = Setting
TABLE: tuple[Setting, ...] = (
    _S("dataset", "str", "Data set", "mnist, fashion-mnist, digits, faces (the CLI also takes a "
       "folder or .zip of your images)", "--dataset", "data", "dataset", "mnist", choices=DATASETS),
    _S("size", "int", "Image size", "image size in pixels (default: the data set's own; 28 for "
       "your images)", "--image-size", "data", "image_size", "size", choices=SIZES),
    _S("channels", "int", "Colour", "1 gray, 3 RGB", "--channels", "data", "channels", 1,
       choices=(1, 3)),
    _S("kind", "str", "Model", "model kind", "--model", "model", "kind", "vae",
       choices=tuple(DEFAULTS)),
    _S("arch", "str", "Architecture", "architecture", "--arch", "model", "arch", "conv",
       choices=("conv", "mlp")),
    _S("latent", "int", "Latent size", "latent size", "--latent-dim", "model", "latent_dim", "kind", 1, 4096, optional=True),
    _S("hidden", "sizes", "Hidden sizes", "MLP: hidden widths, e.g. 400 or 512,256; conv: width of "
       "the first layer", "--hidden", "model", "hidden", "hidden", 1, MAX_WIDTH),
    _S("beta", "float", "β (KL weight)", "VAE only: β > 1 trades reconstruction for a more regular "
       "latent space; β = 0 is a plain (noisy) AE.", "--beta", "model", "beta", 1.0, 0.0, 1000.0,
       kinds=("vae",)),
    _S("lr", "float", "Learning rate", "Adam learning rate", "--lr", "train", "lr", "kind",
       0.0, 1.0, lo_open=True),
    _S("b1", "float", "Adam β1", "Adam's β1", "--b1", "train", "betas", "kind", 0.0, 0.9999),
    _S("b2", "float", "Adam β2", "Adam's β2", "--b2", "train", "betas", "kind", 0.0, 0.9999),
    _S("batch", "int", "Batch size", "batch size", "--batch-size", "train", "batch_size", "kind",
       1, 65_536),
    _S("epochs", "int", "Epochs", "epochs", "--epochs", "train", "epochs", "kind", 1, 100_000),
    _S("seed", "int", "Seed", "seed of the initial weights, the batches and the noise", "--seed",
       "train", "seed", 1, 0, 2**31 - 1),
    # the knobs the health alarms recommend (genlab.train.health); their defaults: the seed recipes
    _S("kl_warmup", "float", "KL warm-up (epochs)", "VAE: β rises linearly from 0 to its value "
       "over this many epochs (0: no warm-up). Against posterior collapse.", "--kl-warmup",
       "train", "kl_warmup_epochs", 0.0, 0.0, 100_000.0, kinds=("vae",)),
    _S("lr_d", "float", "D learning rate", "GAN: the discriminator's own learning rate; empty: the "
       "same as the generator's. Lower it when the discriminator wins.", "--lr-d", "train", "lr_d",
       None, 0.0, 1.0, lo_open=True, kinds=("gan",), optional=True),
    _S("smoothing", "float", "Label smoothing", "GAN: one-sided label smoothing; the "
       "discriminator's target for real images is 1 − this (0.1 is usual; 0: none).",
       "--label-smoothing", "train", "label_smoothing", 0.0, 0.0, 0.5, hi_open=True,
       kinds=("gan",)),
    _S("d_steps", "int", "D steps per G step", "GAN: discriminator updates for each generator "
       "update.", "--d-steps", "train", "d_steps", 1, 1, 10, kinds=("gan",)),
    _S("schedule", "str", "Noise schedule", "DDPM: the noise schedule of its 1,000 steps", "--schedule",
       "model", "schedule", "linear", choices=SCHEDULES, kinds=("ddpm",)),
    _S("conditional", "bool", "Conditional", "VAE/GAN: tell the model each image's class (a data "
       "set with classes)", "--conditional", "model", "num_classes", False,
       kinds=("vae", "gan", "flow", "ddpm")),
)
BY_KEY: dict[str, Setting] = {s.key: s for s in TABLE}
KEYS = tuple(BY_KEY)
KNOBS = {s.field: s.default for s in TABLE if s.key in ("kl_warmup", "lr_d", "smoothing", "d_steps")}
KNOB_KEYS = {s.key: s.field for s in TABLE if s.field in KNOBS}


def defaults_for(kind: str) -> KindDefaults:
    """The defaults of model ``kind``."""
    try:
        return DEFAULTS[kind]
    except KeyError:
        raise ValueError(f"Model kind must be one of {', '.join(DEFAULTS)}, not {kind!r}.") from None


def default(key: str, kind: str = "vae", arch: str = "conv", dataset: str = "mnist"):
    """The default of setting ``key`` for a run of this kind, architecture and data set."""
    d = BY_KEY[key].default
    if d == "kind":
        kd = defaults_for(kind)
        return {"latent": kd.latent_dim, "lr": kd.lr, "b1": kd.betas[0], "b2": kd.betas[1],
                "batch": kd.batch_size, "epochs": kd.epochs}[key]
    if d == "hidden":
        return DEFAULT_HIDDEN[(arch, kind)]
    if d == "size":
        return NATIVE_SIZE.get(dataset, 28)
    return d


def _number(s: Setting, v, name: str):
    text = repr(v) if isinstance(v, str) else str(v)
    if isinstance(v, bool):
        raise SettingError(f"{name} must be a {'whole ' if s.type == 'int' else ''}number, not {text}.")
    if s.type == "int":
        try:
            out = int(v) if isinstance(v, int) or (isinstance(v, float) and v.is_integer()) \
                else int(str(v).strip())
        except (TypeError, ValueError):
            raise SettingError(f"{name} must be a whole number, not {text}.") from None
    else:
        try:
            out = float(v)
        except (TypeError, ValueError):
            raise SettingError(f"{name} must be a number, not {text}.") from None
    if not s.holds(out):
        raise SettingError(f"{name} must be {'in ' if s.type == 'float' else ''}{s.bounds_text()}, "
                           f"not {str(v).strip()}.")
    return out


def parse(key: str, v, name: str | None = None, table: Mapping[str, Setting] = BY_KEY):
    """One setting's value (a URL's or the CLI's text, or a TOML value) checked and typed;
    SettingError in words, naming the setting as ``name`` (default: its key). ``table``: the
    rows to look ``key`` up in (the training settings, or the playground's ``PLAY_BY_KEY``)."""
    s, name = table[key], name or key
    if s.optional and (v is None or str(v).strip().lower() in ("", "none", "same")):
        return None
    if s.type == "bool":
        out = str(v).strip().lower()
        if out not in ("1", "0", "true", "false", "yes", "no"):
            raise SettingError(f"{name} must be true or false (1 or 0), not {v!r}.")
        return out in ("1", "true", "yes")
    if s.type == "sizes":
        parts = v if isinstance(v, (list, tuple)) else str(v).replace(" ", "").split(",")
        try:
            sizes = tuple(_number(_S("", "int", "", "", "", "", "", None, s.lo, s.hi), p, name)
                          for p in parts if str(p) != "")
        except SettingError:
            sizes = ()
        if not sizes or len(sizes) > MAX_HIDDEN_LAYERS:
            raise SettingError(f"{name} takes 1 to {MAX_HIDDEN_LAYERS} whole numbers between 1 and "
                               f"{MAX_WIDTH} like 400 or 512,256, not {v!r}.")
        return sizes
    if s.choices and s.type == "str":
        out = str(v).strip().lower()
        if out not in s.choices:
            raise SettingError(f"{name} must be one of {', '.join(s.choices)}, not {v!r}.")
        return out
    out = _number(s, v, name) if s.lo is not None or s.type == "int" else v
    if s.choices and out not in s.choices:
        raise SettingError(f"{name} must be one of {', '.join(map(str, s.choices))}, not {v}.")
    return out


def kind_error(kind: str, values: Mapping) -> str | None:
    """Why an alarm knob (KL warm-up, the GAN's D learning rate, label smoothing, D steps) set
    away from its default does not apply to model ``kind``; None if every one applies.
    ``values`` by setting key."""
    for key in KNOB_KEYS:
        s = BY_KEY[key]
        if kind in s.kinds or values.get(key, s.default) == s.default:
            continue
        noun, who = s.label.split(" (")[0], " or ".join(k.upper() for k in s.kinds)
        if s.type == "float" and s.kinds == ("vae",):
            return f"{noun} applies to a {who} only; leave it at {s.default:g}."
        noun = noun[0].lower() + noun[1:] if noun[1:2].islower() else noun
        return f"The {noun} applies to a {who} only; leave it at its default."
    return None


def knob_kind_error(kind: str, **fields) -> str | None:
    """``kind_error`` for TrainConfig's field names (the alarm knobs)."""
    return kind_error(kind, {k: fields[f] for k, f in KNOB_KEYS.items() if f in fields})


def resolve(raw: Mapping, base: Mapping | None = None) -> dict:
    """Every setting, typed and checked, from ``raw`` (missing keys from ``base``, else the
    defaults of the kind, architecture and data set); unknown keys and settings that do not
    apply to the kind are refused in words. Values may be text (a URL) or typed (TOML)."""
    unknown = sorted(set(raw) - set(KEYS))
    if unknown:
        raise SettingError(f"Unknown setting{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
                           f"the settings are {', '.join(KEYS)}.")
    merged = {**(base or {}), **raw}
    s: dict = {}
    for key in ("dataset", "kind", "arch"):
        s[key] = parse(key, merged[key]) if key in merged else BY_KEY[key].default
    for key in KEYS:
        if key not in s:
            s[key] = parse(key, merged[key]) if key in merged else default(
                key, s["kind"], s["arch"], s["dataset"])
    why = kind_error(s["kind"], s)
    if why:
        raise SettingError(why)
    return s


def to_text(s: Mapping) -> dict[str, str]:
    """Checked settings as the flat dict of strings a URL carries (inverse of ``resolve``)."""
    def text(key: str) -> str:
        v, t = s[key], BY_KEY[key].type
        if v is None:
            return ""
        if t == "bool":
            return str(int(bool(v)))
        return ",".join(map(str, v)) if t == "sizes" else repr(float(v)) if t == "float" else str(v)
    return {k: text(k) for k in KEYS if k in s}


# --- the 2-D playground (pages/playground.py, genlab.playground): its own rows, same kind of row;
# target "play": they end in the playground's trainer settings, never in a training run's config
PLAY_DATASETS = ("gaussians8", "moons", "ring", "spiral", "checkerboard", "drawn")
PLAY_FAMILIES = ("gan", "vae", "flow", "ddpm")
PLAYGROUND: tuple[Setting, ...] = (
    _S("data", "str", "Data", "the 2-D data: 8 Gaussians on a ring, two moons, a ring, a spiral, "
       "a checkerboard, or points you draw", "", "play", "data", "gaussians8", choices=PLAY_DATASETS),
    _S("n", "int", "Sample size", "how many data points the model learns from", "", "play", "n",
       2000, 50, 20_000),
    _S("family", "str", "Model", "GAN, VAE, flow matching or DDPM", "", "play", "family", "gan",
       choices=PLAY_FAMILIES),
    _S("lr", "float", "Learning rate", "Adam learning rate (the GAN's generator; the VAE's, flow's "
       "and DDPM's only network)", "", "play", "lr", 1e-3, 0.0, 0.1, lo_open=True),
    _S("lr_d", "float", "D learning rate", "GAN: the discriminator's Adam learning rate", "",
       "play", "lr_d", 1e-3, 0.0, 0.1, lo_open=True, kinds=("gan",)),
    _S("d_steps", "int", "D steps per G step", "GAN: discriminator updates in each iteration, "
       "before its one generator update", "", "play", "d_steps", 1, 1, 10, kinds=("gan",)),
    _S("width", "int", "Width", "units in each hidden layer of every network", "", "play", "width",
       128, 4, 512),
    _S("depth", "int", "Depth", "hidden layers of every network", "", "play", "depth", 3, 1, 6),
    _S("noise", "int", "Noise size", "GAN: the size of the generator's input noise (its first two "
       "dimensions make the warped grid)", "", "play", "noise", 2, 1, 16, kinds=("gan",)),
    _S("latent", "int", "Latent size", "VAE: a 1-D or 2-D latent", "", "play", "latent", 2,
       choices=(1, 2), kinds=("vae",)),
    _S("beta", "float", "β (KL weight)", "VAE: the KL term's weight; raise it (or the decoder's "
       "noise) for posterior collapse", "", "play", "beta", 1.0, 0.0, 100.0, kinds=("vae",)),
    _S("sigma", "float", "Decoder noise σ", "VAE: the decoder's fixed standard deviation; a large "
       "one makes the latent not worth its KL cost", "", "play", "sigma", 0.1, 0.01, 2.0,
       kinds=("vae",)),
    _S("batch", "int", "Batch size", "points in each optimiser step", "", "play", "batch", 256,
       8, 4096),
    _S("steps", "int", "Sampler steps", "flow (Euler) and DDPM (DDIM): steps from noise to data",
       "", "play", "steps", 25, 2, 200, kinds=("flow", "ddpm")),
    _S("ema", "float", "Weight average", "flow and DDPM: the sampler (and the field drawn) use "
       "a running average of the network's weights with this decay, as diffusion models are "
       "sampled; 0.9 averages about the last 10 steps while playing; one step pressed, slow "
       "motion and 0 show the raw weights", "", "play", "ema",
       0.9, 0.0, 0.999, kinds=("flow", "ddpm")),
    _S("seed", "int", "Seed", "seed of the data, the initial weights and the noise", "", "play",
       "seed", 1, 0, 2**31 - 1),
    _S("slow", "bool", "Slow motion", "a few iterations a second, one frame each", "", "play",
       "slow", False),
)
PLAY_BY_KEY: dict[str, Setting] = {s.key: s for s in PLAYGROUND}
# where a family's default differs from the row's (measured on 8 Gaussians, 15 s, 2 loaded cores:
# flow at lr 3e-3 JS 0.045 bit against 0.18 at 1e-3; DDPM needs the larger batch, 0.09 vs 0.27)
PLAY_DEFAULTS = {"flow": {"lr": 3e-3}, "ddpm": {"lr": 3e-3, "batch": 1024}}

