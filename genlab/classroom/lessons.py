"""Lesson presets: small TOML files in ``lessons/`` that put a whole class on the same run.

A lesson has a ``title``, a short ``look_for`` text (what to watch while it trains), a
``[settings]`` table with the Train page's settings and, optionally, ``[variants.NAME]`` tables
that change a few settings (e.g. the same run as an AE). ``lesson_settings`` gives a lesson's
settings as one flat dict of strings, exactly what the Train page puts in its URL query
parameters; ``parse_settings`` reads such a dict back, checked. The keys, their bounds and
defaults are the settings table's (``genlab.settings``).
"""
from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from genlab.models import ConfigError
from genlab.settings import SettingError, resolve, to_text
from genlab.train.recipe import BY_STEPS, configs

LESSONS_DIR = Path(__file__).resolve().parent.parent.parent / "lessons"
MAX_LESSON_BYTES = 64 * 1024


class LessonError(SettingError):
    """A lesson or a settings dict that cannot be used; the message says why."""


@dataclass
class Lesson:
    name: str  # the file's stem: ``?lesson=NAME``
    title: str
    look_for: str
    settings: dict  # typed values, every key of genlab.settings.KEYS
    variants: dict[str, dict] = field(default_factory=dict)  # name -> typed overrides


def parse_settings(raw: Mapping, base: Mapping | None = None) -> dict:
    """Typed, checked settings from a flat mapping (query parameters as strings, or TOML
    values): ``genlab.settings.resolve``, and the model must be buildable."""
    try:
        s = resolve(raw, base)
        configs(s)
    except (SettingError, ConfigError) as exc:
        raise LessonError(str(exc)) from None
    return s


def to_query(s: Mapping) -> dict[str, str]:
    """Parsed settings as the flat dict of strings for the URL (inverse of ``parse_settings``)."""
    return to_text(s)


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


def train_run(query: Mapping, control=None, on_event=None):
    """Train the run that flat settings describe, as the Train page would (the data set at the
    lesson's size and colour, the model built with the seed); returns (model, data, result).
    The same settings and seed give the same loss history on the same kind of CPU."""
    from genlab.data import load_dataset
    from genlab.models import build_model
    from genlab.settings import default
    from genlab.train import fit
    s = parse_settings(query)
    data = load_dataset(s["dataset"], image_size=None if s["size"] == default("size", dataset=s["dataset"])
                        else s["size"], channels=None if s["channels"] == 1 else s["channels"])
    mc, tc = configs(s, **BY_STEPS)
    model = build_model(mc, seed=s["seed"])
    return model, data, fit(model, data, tc, control, on_event)
