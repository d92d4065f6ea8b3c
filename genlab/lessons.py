"""Lesson presets: small TOML files in ``lessons/`` that put a whole class on the same run.

A lesson has a ``title``, a short ``look_for`` text (what to watch while it trains), a
``[settings]`` table with the Train page's settings and, optionally, ``[variants.NAME]`` tables
that change a few settings (e.g. the same run as an AE). ``lesson_settings`` gives a lesson's
settings as one flat dict of strings, exactly what the Train page puts in its URL query
parameters; ``parse_settings`` reads such a dict back, checked. The keys:

    dataset  mnist | fashion-mnist | digits | faces          size     image size in pixels
    channels 1 (gray) | 3 (RGB)                             kind     ae | vae | gan
    arch     conv | mlp                                     latent   latent size
    hidden   MLP widths "400" or "512,256"; conv: first layer width "32"
    beta     VAE KL weight                                  lr       Adam learning rate
    batch    batch size                                     epochs   epochs
    seed     seed of weights, batches and noise
"""
from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from genlab.data import BUILTIN
from genlab.defaults import KNOBS, defaults_for, knob_kind_error
from genlab.models.config import DEFAULT_HIDDEN, ConfigError, ModelConfig

LESSONS_DIR = Path(__file__).resolve().parent.parent / "lessons"
KEYS = ("dataset", "size", "channels", "kind", "arch", "latent", "hidden", "beta", "lr", "batch",
        "epochs", "seed", "kl_warmup", "lr_d", "smoothing", "d_steps", "conditional")
# the health alarms' knobs (genlab.defaults.KNOBS): the lesson key -> TrainConfig's field
KNOB_FIELDS = {"kl_warmup": "kl_warmup_epochs", "lr_d": "lr_d", "smoothing": "label_smoothing",
               "d_steps": "d_steps"}
# data sets a lesson may name that this installation does not have, and what to do instead
NOT_HERE = {k: v for k, v in {"faces": "The 64×64 grayscale faces of the first lab report are not shipped with GenLab; "
                     "put face images in a folder or .zip and choose it as the data set on the Train "
                     "page (image size 64, gray)."}.items() if k not in BUILTIN}  # once a helper ships it, it is here
NATIVE_SIZE = {"digits": 8, "faces": 64}
MAX_LESSON_BYTES = 64 * 1024


class LessonError(ValueError):
    """A lesson or a settings dict that cannot be used; the message says why."""


@dataclass
class Lesson:
    name: str  # the file's stem: ``?lesson=NAME``
    title: str
    look_for: str
    settings: dict  # typed values, every key of KEYS
    variants: dict[str, dict] = field(default_factory=dict)  # name -> typed overrides

    @property
    def available(self) -> bool:
        return self.settings["dataset"] not in NOT_HERE


def _int(key: str, v, lo: int, hi: int) -> int:
    try:
        if isinstance(v, bool) or (isinstance(v, float) and not v.is_integer()):
            raise ValueError
        out = int(str(v).strip()) if not isinstance(v, (int, float)) else int(v)
    except (TypeError, ValueError):
        raise LessonError(f"{key} must be a whole number, not {v!r}.") from None
    if not lo <= out <= hi:
        raise LessonError(f"{key} must be between {lo:,} and {hi:,}, not {out}.")
    return out


def _float(key: str, v, lo: float, hi: float, lo_open: bool = False) -> float:
    try:
        if isinstance(v, bool):
            raise ValueError
        out = float(v)
    except (TypeError, ValueError):
        raise LessonError(f"{key} must be a number, not {v!r}.") from None
    if not math.isfinite(out) or not (lo < out <= hi if lo_open else lo <= out <= hi):
        raise LessonError(f"{key} must be in {'(' if lo_open else '['}{lo:g}, {hi:g}], not {v}.")
    return out


def _choice(key: str, v, options) -> str:
    out = str(v).strip().lower()
    if out not in options:
        raise LessonError(f"{key} must be one of {', '.join(options)}, not {v!r}.")
    return out


def _hidden(v) -> tuple[int, ...]:
    parts = v if isinstance(v, (list, tuple)) else str(v).replace(" ", "").split(",")
    sizes = tuple(_int("hidden", p, 1, 8192) for p in parts if str(p) != "")
    if not sizes or len(sizes) > 8:
        raise LessonError(f"hidden takes 1 to 8 whole numbers like 400 or 512,256, not {v!r}.")
    return sizes


def _optional_lr(v) -> float | None:
    """The D learning rate: empty (or "same") means the learning rate's own value."""
    return None if v is None or str(v).strip().lower() in ("", "none", "same") else \
        _float("lr_d", v, 0.0, 1.0, lo_open=True)


def _flag(key: str, v) -> bool:
    out = str(v).strip().lower()
    if out not in ("1", "0", "true", "false", "yes", "no"):
        raise LessonError(f"{key} must be true or false (1 or 0), not {v!r}.")
    return out in ("1", "true", "yes")


def _channels(v) -> int:
    out = _int("channels", v, 1, 3)
    if out == 2:
        raise LessonError("channels must be 1 (gray) or 3 (RGB), not 2.")
    return out


# one checked value per key (a query parameter's text or a TOML value) -> its typed value
RULES = {"dataset": lambda v: _choice("dataset", v, (*BUILTIN, *NOT_HERE)),
         "kind": lambda v: _choice("kind", v, ("ae", "vae", "gan")),
         "size": lambda v: _int("size", v, 4, 256), "channels": _channels,
         "arch": lambda v: _choice("arch", v, ("conv", "mlp")),
         "latent": lambda v: _int("latent", v, 1, 4096), "hidden": _hidden,
         "beta": lambda v: _float("beta", v, 0.0, 1000.0),
         "lr": lambda v: _float("lr", v, 0.0, 1.0, lo_open=True),
         "batch": lambda v: _int("batch", v, 1, 65_536), "epochs": lambda v: _int("epochs", v, 1, 100_000),
         "seed": lambda v: _int("seed", v, 0, 2**31 - 1),
         "kl_warmup": lambda v: _float("kl_warmup", v, 0.0, 100_000.0), "lr_d": _optional_lr,
         "smoothing": lambda v: _float("smoothing", v, 0.0, 0.49),
         "d_steps": lambda v: _int("d_steps", v, 1, 10), "conditional": lambda v: _flag("conditional", v)}


def parse_value(key: str, v):
    """One setting (``key`` of KEYS) checked and typed on its own; LessonError in words."""
    return RULES[key](v)


def parse_settings(raw: Mapping, base: Mapping | None = None) -> dict:
    """Typed, checked settings from a flat mapping (query parameters as strings, or TOML
    values). Missing keys come from ``base``, else from the kind's defaults (genlab.defaults);
    unknown keys are refused. The model must be buildable (ModelConfig.validate)."""
    unknown = sorted(set(raw) - set(KEYS))
    if unknown:
        raise LessonError(f"Unknown setting{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
                          f"the settings are {', '.join(KEYS)}.")
    merged = {**(base or {}), **raw}
    s: dict = {"dataset": parse_value("dataset", merged.get("dataset", "mnist"))}
    s["kind"] = parse_value("kind", merged.get("kind", "vae"))
    d = defaults_for(s["kind"])
    s["size"] = parse_value("size", merged.get("size", NATIVE_SIZE.get(s["dataset"], 28)))
    s["channels"] = parse_value("channels", merged.get("channels", 1))
    s["arch"] = parse_value("arch", merged.get("arch", "conv"))
    s["latent"] = parse_value("latent", merged.get("latent", d.latent_dim))
    s["hidden"] = parse_value("hidden", merged.get("hidden", DEFAULT_HIDDEN[(s["arch"], s["kind"])]))
    s["beta"] = parse_value("beta", merged.get("beta", 1.0))
    s["lr"] = parse_value("lr", merged.get("lr", d.lr))
    s["batch"] = parse_value("batch", merged.get("batch", d.batch_size))
    s["epochs"] = parse_value("epochs", merged.get("epochs", d.epochs))
    s["seed"] = parse_value("seed", merged.get("seed", 1))
    for key, name in KNOB_FIELDS.items():
        s[key] = parse_value(key, merged[key]) if key in merged else KNOBS[name]
    s["conditional"] = parse_value("conditional", merged.get("conditional", False))
    why = knob_kind_error(s["kind"], **{name: s[key] for key, name in KNOB_FIELDS.items()})
    if why:
        raise LessonError(why)
    try:
        model_config(s)
    except ConfigError as exc:
        raise LessonError(str(exc)) from None
    return s


def model_config(s: Mapping) -> ModelConfig:
    """The ModelConfig of parsed settings."""
    classes = len(BUILTIN.get(s["dataset"], ())) if s.get("conditional") else 0
    if s.get("conditional") and classes < 2:
        raise ConfigError(f"conditional needs a data set with classes; {s['dataset']} has none.")
    return ModelConfig(s["kind"], s["arch"], s["channels"], s["size"], s["latent"], tuple(s["hidden"]),
                       s["beta"], num_classes=classes).validate()


LOG_EVERY = 10  # a lesson's curve has a point every 10 steps (and at each epoch's end)


def train_config(s: Mapping, **extra):
    """The TrainConfig of parsed settings (``extra``: e.g. ``grid_every_s`` for the app); the
    Adam betas are the kind's defaults. The losses are read every ``LOG_EVERY`` steps and never
    by the clock, so every student's curve has its points at the same steps and, with the same
    seed on the same kind of CPU, the same values."""
    from genlab.train import TrainConfig
    knobs = {name: s.get(key, KNOBS[name]) for key, name in KNOB_FIELDS.items()}
    return TrainConfig(**{"epochs": s["epochs"], "batch_size": s["batch"], "lr": s["lr"], "seed": s["seed"],
                          "betas": defaults_for(s["kind"]).betas, "log_every": LOG_EVERY,
                          "progress_every_s": 1e9, **knobs, **extra})


FLOATS = ("beta", "lr", "kl_warmup", "lr_d", "smoothing")


def to_query(s: Mapping) -> dict[str, str]:
    """Parsed settings as the flat dict of strings for the URL (inverse of ``parse_settings``)."""
    def text(k: str) -> str:
        v = s[k]
        if v is None or isinstance(v, bool):
            return "" if v is None else str(int(v))
        return ",".join(map(str, v)) if k == "hidden" else repr(float(v)) if k in FLOATS else str(v)
    return {k: text(k) for k in KEYS}


def lesson_settings(lesson: Lesson, variant: str | None = None) -> dict[str, str]:
    """A lesson's settings (or one variant's) as the Train page's query parameters."""
    if variant is None:
        return to_query(lesson.settings)
    if variant not in lesson.variants:
        raise LessonError(f"Lesson {lesson.name!r} has no variant {variant!r}; it has "
                          f"{', '.join(lesson.variants) or 'none'}.")
    return to_query(parse_settings(lesson.variants[variant], lesson.settings))


def from_settings(name: str, title: str, look_for: str, query: Mapping,
                  variants: Mapping[str, Mapping] | None = None) -> Lesson:
    """A Lesson from the Train page's flat settings (e.g. to save the run on screen as one)."""
    settings = parse_settings(query)
    return Lesson(_checked_name(name), str(title), str(look_for), settings,
                  {k: _variant(k, v, settings) for k, v in (variants or {}).items()})


def _variant(name: str, raw: Mapping, base: dict) -> dict:
    if not isinstance(raw, Mapping):
        raise LessonError(f"Variant {name!r} must be a table of settings.")
    parsed = parse_settings(raw, base)
    return {k: parsed[k] for k in raw}


def _checked_name(name: str) -> str:
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,63}", str(name)):
        raise LessonError(f"A lesson name is lowercase letters, digits and '-', not {name!r}.")
    return str(name)


def parse_lesson(name: str, text: str) -> Lesson:
    """A Lesson from the text of its TOML file, checked."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LessonError(f"Lesson {name!r} is not valid TOML ({exc}).") from None
    extra = sorted(set(doc) - {"title", "look_for", "settings", "variants"})
    if extra:
        raise LessonError(f"Lesson {name!r} has unknown entries: {', '.join(extra)}.")
    for key in ("title", "look_for"):
        if not isinstance(doc.get(key), str) or not doc[key].strip():
            raise LessonError(f"Lesson {name!r} needs a {key} text.")
    if not isinstance(doc.get("settings"), dict):
        raise LessonError(f"Lesson {name!r} needs a [settings] table.")
    try:
        return from_settings(name, doc["title"].strip(), doc["look_for"].strip(), doc["settings"],
                             doc.get("variants") or {})
    except LessonError as exc:
        raise LessonError(f"Lesson {name!r}: {exc}") from None


def load_lesson(name: str, folder: str | os.PathLike | None = None) -> Lesson:
    """The lesson ``lessons/NAME.toml``; LessonError names the lessons there if it is not."""
    folder = Path(folder) if folder else LESSONS_DIR
    path = folder / f"{_checked_name(name)}.toml"
    if not path.is_file():
        raise LessonError(f"There is no lesson {name!r}; the lessons are: "
                          f"{', '.join(lesson_names(folder)) or 'none'}.")
    if path.stat().st_size > MAX_LESSON_BYTES:
        raise LessonError(f"Lesson {name!r} is larger than {MAX_LESSON_BYTES // 1024} KB; not a lesson.")
    return parse_lesson(name, path.read_text(encoding="utf-8"))


def lesson_names(folder: str | os.PathLike | None = None) -> list[str]:
    folder = Path(folder) if folder else LESSONS_DIR
    return sorted(p.stem for p in folder.glob("*.toml")) if folder.is_dir() else []


def list_lessons(folder: str | os.PathLike | None = None) -> list[Lesson]:
    """Every lesson in ``folder`` (default ``lessons/``), by name."""
    return [load_lesson(n, folder) for n in lesson_names(folder)]


def require_available(lesson: Lesson) -> None:
    """Raise LessonError, saying what to do, when the lesson's data set is not here."""
    if not lesson.available:
        raise LessonError(f"Lesson '{lesson.title}' needs the {lesson.settings['dataset']} data set, "
                          f"which is not available here. {NOT_HERE[lesson.settings['dataset']]}")


def train_run(query: Mapping, control=None, on_event=None):
    """Train the run that flat settings describe, as the Train page would (the data set at the
    lesson's size and colour, the model built with the seed); returns (model, data, result).
    The same settings and seed give the same loss history on the same kind of CPU."""
    from genlab.data import load_dataset
    from genlab.models import build_model
    from genlab.train import fit
    s = parse_settings(query)
    if s["dataset"] in NOT_HERE:
        raise LessonError(f"The {s['dataset']} data set is not available here. {NOT_HERE[s['dataset']]}")
    native = NATIVE_SIZE.get(s["dataset"], 28)
    data = load_dataset(s["dataset"], image_size=None if s["size"] == native else s["size"],
                        channels=None if s["channels"] == 1 else s["channels"])
    model = build_model(model_config(s), seed=s["seed"])
    return model, data, fit(model, data, train_config(s), control, on_event)
