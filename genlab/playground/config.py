"""The playground's settings as URL text and back: its rows live in ``genlab.settings``
(``PLAYGROUND``), checked by the same ``parse`` as every training setting."""
from __future__ import annotations

from collections.abc import Mapping

from genlab.settings import PLAY_BY_KEY, PLAY_DEFAULTS, SettingError, parse


def resolve(raw: Mapping) -> dict:
    """Every playground setting typed and checked from ``raw`` (text or typed; missing: the
    defaults); unknown keys are refused in words. Settings of another family are kept (a share
    link stays whole when the family changes)."""
    unknown = sorted(set(raw) - set(PLAY_BY_KEY))
    if unknown:
        raise SettingError(f"Unknown playground setting{'s' if len(unknown) > 1 else ''} "
                           f"{', '.join(unknown)}; they are {', '.join(PLAY_BY_KEY)}.")
    family = parse("family", raw.get("family", PLAY_BY_KEY["family"].default), table=PLAY_BY_KEY)
    return {k: parse(k, raw[k], table=PLAY_BY_KEY) if k in raw else default(k, family)
            for k in PLAY_BY_KEY}


def default(key: str, family: str):
    """Setting ``key``'s default for ``family``."""
    return PLAY_DEFAULTS.get(family, {}).get(key, PLAY_BY_KEY[key].default)


def to_text(s: Mapping) -> dict[str, str]:
    """Playground settings as URL text (inverse of ``resolve``)."""
    def text(key: str) -> str:
        v, t = s[key], PLAY_BY_KEY[key].type
        return str(int(bool(v))) if t == "bool" else repr(float(v)) if t == "float" else str(v)
    return {k: text(k) for k in PLAY_BY_KEY if k in s}


def applies(key: str, family: str) -> bool:
    """Whether setting ``key`` means anything to ``family``."""
    kinds = PLAY_BY_KEY[key].kinds
    return not kinds or family in kinds
