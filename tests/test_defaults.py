"""One table of defaults per model kind: the trainer's settings, the model's latent size and the
CLI's help all read genlab.settings, so changing the table changes them all."""
import dataclasses

import pytest

from genlab import settings as defaults
from genlab.models import ModelConfig
from genlab.settings import DEFAULTS, KindDefaults, defaults_for
from genlab.train import TrainConfig


@pytest.mark.parametrize("kind", ["ae", "vae", "gan"])
def test_trainer_and_model_take_the_kinds_defaults(kind):
    d = defaults_for(kind)
    tc = TrainConfig().resolved(kind)
    assert (tc.epochs, tc.batch_size, tc.lr, tc.betas) == (d.epochs, d.batch_size, d.lr, d.betas)
    assert ModelConfig(kind=kind).latent_dim == d.latent_dim
    assert ModelConfig.from_dict({"kind": kind, "arch": "mlp"}).latent_dim == d.latent_dim
    given = TrainConfig(epochs=3, batch_size=7, lr=0.01, betas=(0.8, 0.9)).resolved(kind)
    assert (given.epochs, given.batch_size, given.lr, given.betas) == (3, 7, 0.01, (0.8, 0.9))


def test_the_gan_defaults_follow_dcgan():
    assert DEFAULTS["gan"] == KindDefaults(latent_dim=100, lr=2e-4, betas=(0.5, 0.999),
                                           batch_size=64, epochs=50)


def test_changing_the_table_changes_every_reader(monkeypatch):
    changed = dataclasses.replace(DEFAULTS["vae"], latent_dim=7, lr=3e-3, batch_size=33, epochs=4)
    monkeypatch.setitem(DEFAULTS, "vae", changed)
    tc = TrainConfig().resolved("vae")
    assert (tc.lr, tc.batch_size, tc.epochs) == (3e-3, 33, 4)
    assert ModelConfig(kind="vae").latent_dim == 7
    from genlab.cli.main import build_parser
    sub = build_parser()._subparsers._group_actions[0].choices["train"]
    text = sub.format_help()
    assert "latent size (default 7; 100 for a GAN)" in " ".join(text.split())
    assert "batch size (default 33; 64 for a GAN)" in " ".join(text.split())


def test_an_unknown_kind_is_refused_in_words():
    with pytest.raises(ValueError, match="Model kind must be one of ae, vae, gan, flow, ddpm, not 'diffusion'"):
        defaults.defaults_for("diffusion")
