"""One table of every training setting (genlab.settings): each surface offers exactly its
settings with its bounds and defaults (the CLI's argparse actions, the Train page's widgets and
URL, a lesson TOML), and every path that starts a run (the CLI, its Ray variant, a lesson TOML,
the Train page opened by a share URL) turns the same words into the same model and training
configs, for every model kind and built-in data set."""
import argparse
import functools
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from genlab.classroom.lessons import LessonError, parse_lesson, parse_settings
from genlab.cli.main import build_parser
from genlab.cli.ray import _spec as ray_spec
from genlab.cli.train import settings_from_args
from genlab.data import BUILTIN, load_dataset
from genlab.settings import BY_KEY, DATASETS, KEYS, KNOB_KEYS, TABLE, default, resolve
from genlab.train.recipe import BY_STEPS, configs, data_args, recipe
from pages._ui.train_url import BY_QUERY, bounds

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def train_actions() -> dict[str, argparse.Action]:
    sub = build_parser()._subparsers._group_actions[0].choices["train"]
    return {a.dest: a for a in sub._actions if a.option_strings}


def edges(s):
    """(values the setting must accept, values it must refuse), from its bounds and choices."""
    if s.choices:
        bad = ["30"] if s.type == "int" else ["nope"]
        return [str(c) for c in s.choices], bad
    if s.type == "bool":
        return [], []
    if s.type == "sizes":
        return [f"{s.lo}", f"{s.hi}", f"{s.lo},{s.hi}"], [f"{s.lo - 1}", f"{s.hi + 1}", "x"]
    step = 1 if s.type == "int" else max(1e-9, 1e-6 * (s.hi - s.lo))
    ok = [v for v, open_ in ((s.lo, s.lo_open), (s.hi, s.hi_open)) if not open_]
    bad = [v for v, open_ in ((s.lo, s.lo_open), (s.hi, s.hi_open)) if open_]
    bad += [s.lo - step, s.hi + step]
    fmt = (lambda v: str(int(v))) if s.type == "int" else repr
    return [fmt(v) for v in ok], [fmt(v) for v in bad]


def test_the_cli_offers_every_setting_with_the_tables_bounds_and_defaults():
    actions = train_actions()
    assert set(KEYS) <= set(actions)
    for s in TABLE:
        a = actions[s.key]
        assert a.option_strings == [s.flag]
        if s.key == "dataset":  # a built-in name, or the path of the user's images
            assert a.default == s.default
            continue
        if s.type == "bool":
            assert isinstance(a, argparse._StoreTrueAction) and a.default is False
            continue
        good, bad = edges(s)
        for text in good:
            assert a.type(text) is not None or s.optional, (s.key, text)
        for text in bad:
            with pytest.raises(argparse.ArgumentTypeError):
                a.type(text)
    # nothing given: the table's defaults, for every kind
    for kind in BY_KEY["kind"].choices:
        args = build_parser().parse_args(["train", "--model", kind])
        assert settings_from_args(args) == resolve({"kind": kind})


def test_a_lesson_accepts_exactly_the_tables_keys_and_bounds():
    for s in TABLE:
        good, bad = edges(s)
        base = {"kind": s.kinds[0]} if s.kinds and s.key in (*KNOB_KEYS, "schedule") else {}
        if s.key in ("size", "hidden"):
            base["arch"] = "mlp"  # any size, any number of layers
        if s.key == "conditional":
            good = ["1", "0"]
        for text in good:
            parse_settings({**base, s.key: text})
        for text in bad:
            with pytest.raises(LessonError):
                parse_settings({**base, s.key: text})
    with pytest.raises(LessonError, match="Unknown setting"):
        parse_settings({"latent_dim": "3"})
    assert set(parse_settings({})) == set(KEYS)


def train_page(query: dict) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=240)
    at.run()
    for k, v in query.items():
        at.query_params[k] = v
    at.switch_page("pages/train.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize("kind", ["ae", "vae", "gan", "flow", "ddpm"])
def test_the_train_page_widgets_and_url_follow_the_table(kind):
    at = train_page({"kind": kind, "dataset": "digits"})
    shown = {w.key: w for w in at.number_input}
    url = dict(at.query_params)
    for s in TABLE:
        f = BY_QUERY[s.key]
        ctx = {"dataset": "digits", "kind": kind, "arch": at.radio(key="tr_arch").value}
        applies = f.when(ctx)
        if s.type in ("int", "float") and not s.choices:
            w = shown.get(f.key(ctx))
            assert (w is not None) == applies, (s.key, kind)
            if w is None:
                continue
            assert w.label == s.label and w.help == s.help, s.key
            assert (w.min, w.max) == (bounds(s.key)["min_value"], bounds(s.key)["max_value"]), s.key
            assert w.value == default(s.key, kind, ctx["arch"], "digits"), s.key
        if url:  # the URL says every setting that applies, under the table's key
            assert (s.key in url) == applies, (s.key, kind, url)
    assert set(url) - {"lesson", "variant", "projector"} <= set(KEYS)


def combos():
    for ds in DATASETS:
        for kind in BY_KEY["kind"].choices:
            yield ds, kind, kind != "ae" and len(BUILTIN[ds]) >= 2


WORDS = {"epochs": "3", "seed": "5", "batch": "32"}


@functools.cache
def loaded(ds: str, **load):
    return load_dataset(ds, **load)


@pytest.mark.parametrize("ds, kind, cond", list(combos()))
def test_every_path_gives_the_same_configs(ds, kind, cond):
    words = {"dataset": ds, "kind": kind, **WORDS, **({"conditional": "1"} if cond else {})}
    want = configs(resolve(words))
    want = (want[0], recipe(want[1]))
    argv = ["train", "--model", kind, "--dataset", ds, "--epochs", "3", "--seed", "5",
            "--batch-size", "32", *(["--conditional"] if cond else [])]
    args = build_parser().parse_args(argv)
    s = settings_from_args(args)
    cli = configs(s, loaded(ds, **data_args(s)))  # as cmd_train: the data set loaded, then configs
    assert (cli[0], recipe(cli[1])) == want
    ray, _ = ray_spec(build_parser().parse_args([*argv, "--ray", "127.0.0.1:1"]))
    assert (ray.model, recipe(ray.train)) == want
    toml = "\n".join(f'{k} = "{v}"' for k, v in words.items())
    lesson = parse_lesson("x", f'title = "T"\nlook_for = "L"\n[settings]\n{toml}\n')
    les = configs(lesson.settings, **BY_STEPS)
    assert (les[0], recipe(les[1])) == want
    at = train_page(words)  # the Train page opened by a share URL with the same words
    spec = at.session_state["tr_spec"]
    assert spec is not None, [e.value for e in at.error]
    assert (spec.model, recipe(spec.train)) == want
    assert want[0].num_classes == (10 if cond else 0)
