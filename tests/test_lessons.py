"""Lesson presets: the shipped lessons load and are checked, settings round-trip through the
flat dict the Train page's URL uses, clear errors, and the same lesson and seed give two
students (two processes) the same curves."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from genlab.classroom.lessons import (
    LessonError,
    from_settings,
    lesson_names,
    lesson_settings,
    list_lessons,
    load_lesson,
    parse_lesson,
    parse_settings,
    to_query,
)
from genlab.settings import KEYS

ROOT = Path(__file__).resolve().parent.parent
TITLES = {"AE vs VAE on MNIST (the second report's settings)", "VAE and GAN on faces (the first report)",
          "β-VAE: trading reconstruction for structure", "Posterior collapse, on purpose",
          "A GAN whose discriminator wins", "A 2-D latent you can walk"}


def test_shipped_lessons_load():
    lessons = list_lessons()
    assert TITLES <= {lesson.title for lesson in lessons}
    for lesson in lessons:
        assert len(lesson.look_for) > 80 and set(lesson.settings) == set(KEYS)
    second = load_lesson("ae-vs-vae-mnist")
    assert lesson_settings(second) == {
        "dataset": "mnist", "size": "28", "channels": "1", "kind": "vae", "arch": "conv", "latent": "32",
        "hidden": "32", "beta": "1.0", "lr": "0.001", "batch": "128", "epochs": "20", "seed": "1",
        "b1": "0.9", "b2": "0.999", "kl_warmup": "0.0", "lr_d": "", "smoothing": "0.0", "d_steps": "1",
        "schedule": "linear", "conditional": "0"}
    assert lesson_settings(second, "ae")["kind"] == "ae"
    gan = lesson_settings(load_lesson("faces-vae-gan"), "gan")
    assert (gan["kind"], gan["latent"], gan["lr"], gan["batch"], gan["size"]) == ("gan", "100", "0.0002", "64", "64")


@pytest.mark.parametrize("name", lesson_names())
def test_settings_round_trip(name):
    lesson = load_lesson(name)
    for variant in [None, *lesson.variants]:
        query = lesson_settings(lesson, variant)
        assert all(isinstance(v, str) for v in query.values())
        assert to_query(parse_settings(query)) == query
    again = from_settings(lesson.name, lesson.title, lesson.look_for, lesson_settings(lesson), lesson.variants)
    assert again == lesson


def test_the_alarm_knobs_reach_the_training_config():
    from genlab.train.recipe import train_config
    wins = load_lesson("gan-discriminator-wins")
    tc = train_config(wins.settings)
    assert (tc.lr, tc.lr_d, tc.label_smoothing, tc.d_steps) == (2e-5, 2e-3, 0.0, 1)
    smoothed = train_config(parse_settings(lesson_settings(wins, "smoothed")))
    assert (smoothed.lr, smoothed.lr_d, smoothed.label_smoothing) == (2e-4, 2e-4, 0.1)  # balanced + smoothing
    assert train_config(parse_settings(lesson_settings(wins, "balanced"))).lr_d == 2e-4
    warm = parse_settings(lesson_settings(load_lesson("posterior-collapse"), "warmup"))
    assert train_config(warm).kl_warmup_epochs == 4.0 and train_config(parse_settings({})).lr_d is None
    with pytest.raises(LessonError, match="D learning rate"):
        parse_settings({"kind": "vae", "lr_d": "0.001"})  # a GAN knob on a VAE, refused in words


def test_partial_query_takes_the_kinds_defaults():
    s = parse_settings({"kind": "gan", "dataset": "digits", "arch": "mlp"})
    assert (s["latent"], s["lr"], s["batch"], s["size"], s["hidden"]) == (100, 2e-4, 64, 8, (256, 512))


@pytest.mark.parametrize("query, words", [
    ({"lr": "10"}, "lr must be in (0, 1]"),
    ({"latent": "0"}, "latent must be between 1"),
    ({"epochs": "two"}, "epochs must be a whole number"),
    ({"kind": "diffusion"}, "kind must be one of ae, vae, gan"),
    ({"dataset": "cifar10"}, "dataset must be one of"),
    ({"colour": "red"}, "Unknown setting colour"),
    ({"beta": "nan"}, "beta must be in [0, 1000]"),
    ({"arch": "conv", "size": "30"}, "size must be one of 8, 16, 28, 32, 64, not 30"),
    ({"hidden": "400,x"}, "hidden takes 1 to 8 whole numbers"),
])
def test_bad_settings_are_refused_in_one_sentence(query, words):
    with pytest.raises(LessonError) as err:
        parse_settings(query)
    assert words in str(err.value) and "\n" not in str(err.value)


def test_bad_lessons_are_refused(tmp_path):
    with pytest.raises(LessonError, match="There is no lesson 'nope'; the lessons are: ae-vs-vae-mnist"):
        load_lesson("nope")
    with pytest.raises(LessonError, match="lowercase letters"):
        load_lesson("../secrets")
    with pytest.raises(LessonError, match="not valid TOML"):
        parse_lesson("x", "title = ")
    with pytest.raises(LessonError, match="needs a look_for text"):
        parse_lesson("x", 'title = "T"\n[settings]\nkind = "vae"\n')
    with pytest.raises(LessonError, match="Lesson 'x': latent must be between"):
        parse_lesson("x", 'title = "T"\nlook_for = "L"\n[settings]\nlatent = -1\n')
    with pytest.raises(LessonError, match="unknown entries: author"):
        parse_lesson("x", 'title = "T"\nlook_for = "L"\nauthor = "me"\n[settings]\n')
    with pytest.raises(LessonError, match="no variant 'gan'"):
        lesson_settings(load_lesson("latent-2d"), "gan")


def test_the_faces_lesson_is_available_with_the_faces_data_set():
    faces = load_lesson("faces-vae-gan")  # the first report's 64×64 faces (offline: scikit-image's)
    assert faces.settings["dataset"] == "faces" and faces.settings["size"] == 64
    with pytest.raises(LessonError, match="dataset must be one of .*faces"):
        parse_settings({"dataset": "celeba"})


STUDENT = """
import json, sys
from genlab.classroom.lessons import train_run
model, data, result = train_run(json.loads(sys.argv[1]))
print(json.dumps({"status": result.status,
                  "history": [{k: v for k, v in r.items() if k != "images_per_s"} for r in result.history],
                  "test": result.test_history,
                  "weights": sum(float(t.double().abs().sum()) for t in model.state_dict().values())}))
"""


@pytest.mark.parametrize("name", ["ae-vs-vae-mnist", "gan-discriminator-wins"])
def test_same_lesson_same_seed_same_curves(name):
    """Two students, two processes: two epochs of the lesson on the 8x8 digits."""
    query = {**lesson_settings(load_lesson(name)), "dataset": "digits", "size": "8", "epochs": "2"}
    env = {**os.environ, "GENLAB_OFFLINE": "1"}
    procs = [subprocess.Popen([sys.executable, "-c", STUDENT, json.dumps(query)], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]  # at the same time, as two students would
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (_, err) in zip(procs, outs):
        assert p.returncode == 0, err
    a, b = (json.loads(out) for out, _ in outs)
    assert a["status"] == "done" and len(a["history"]) >= 3
    assert a == b  # every logged loss at the same steps, the test curve, the weights


def test_the_posterior_collapse_lesson_shows_its_alarm():
    """Its text promises the 'Posterior collapse' alarm. The epoch-level checks wait 150 steps
    and two epoch ends in a row: the offline MNIST subset has 32 steps per epoch, so 5 epochs
    never got there; 8 do. β = 1 (the "beta1" variant) raises no alarm."""
    from genlab.classroom.lessons import train_run
    lesson = load_lesson("posterior-collapse")
    assert "Posterior collapse" in lesson.look_for
    for variant, want in ((None, ["posterior_collapse"]), ("beta1", [])):
        alarms = []
        _, _, result = train_run(lesson_settings(lesson, variant), on_event=lambda e, seen=alarms: (
            seen.append(e.alarm["id"]) if e.kind == "alarm" else None))
        assert result.status == "done"
        assert [a for a in alarms if a == "posterior_collapse"] == want, (variant, alarms)
