"""The 2-D playground's library (genlab.playground): the grid JS divergence, exact optimiser-step
counting per part, every family learning (its JS divergence falls), frames whose views change as
training goes, the settings rows, and the worker process answering a one-step command."""
import time

import numpy as np
import pytest
import torch

from genlab.playground import data2d
from genlab.playground.config import resolve, to_text
from genlab.playground.divergence import js_bits, modes_covered
from genlab.playground.pack import pack, unpack
from genlab.playground.trainer import Trainer
from genlab.playground.views import Views
from genlab.playground.worker import PlayWorker
from genlab.settings import PLAYGROUND, SettingError

torch.set_num_threads(1)


def test_divergence_zero_for_the_same_one_bit_for_disjoint_and_a_small_floor():
    a = data2d.sample("moons", 5000, 1)
    assert js_bits(a, a) < 1e-9
    left = np.random.default_rng(0).normal([-2.5, 0], 0.2, (5000, 2))
    right = np.random.default_rng(1).normal([2.5, 0], 0.2, (5000, 2))
    assert js_bits(left, right) > 0.99
    for name in data2d.DATASETS[:-1]:  # two independent samples of the same data: near 0
        assert js_bits(data2d.sample(name, 5000, 1), data2d.sample(name, 5000, 2)) < 0.02, name
    assert modes_covered(data2d.sample("gaussians8", 5000, 1)) == 8
    assert modes_covered(right) <= 1


def _params(m):
    return [p.detach().clone() for p in m.parameters()]


def _moved(before, m):
    return any(not torch.equal(a, b) for a, b in zip(before, m.parameters()))


def test_one_step_is_exactly_one_optimiser_step_of_the_part_named():
    tr = Trainer(resolve({"family": "gan", "d_steps": 3}))
    d0, g0 = _params(tr.D), _params(tr.G)
    tr.step("d")
    assert tr.counts == {"d": 1, "g": 0} and _moved(d0, tr.D) and not _moved(g0, tr.G)
    d0 = _params(tr.D)
    tr.step("g")
    assert tr.counts == {"d": 1, "g": 1} and _moved(g0, tr.G) and not _moved(d0, tr.D)
    tr.step("iteration")
    assert tr.counts == {"d": 4, "g": 2} and tr.iterations == 1
    for fam in ("vae", "flow", "ddpm"):
        tr = Trainer(resolve({"family": fam}))
        tr.step()
        assert tr.counts == {"model": 1} and tr.iterations == 1
        with pytest.raises(ValueError, match="no part"):
            tr.step("d")


@pytest.mark.parametrize("family,steps", [("gan", 400), ("vae", 300), ("flow", 300), ("ddpm", 300)])
def test_each_family_learns_and_its_views_change(family, steps):
    tr = Trainer(resolve({"family": family, "data": "moons"}))
    real = data2d.sample("moons", 5000, 77)
    views = Views(tr)
    js0, (m0, a0) = js_bits(real, tr.sample(5000)), unpack(pack(*views.frame()))
    for _ in range(steps):
        tr.step()
    js1, (m1, a1) = js_bits(real, tr.sample(5000)), unpack(pack(*views.frame()))
    assert js1 < js0 - 0.1, (js0, js1)
    assert np.array_equal(a0["real"], a1["real"])  # the same data points drawn ...
    changing = {"gan": ("fake", "heat", "warp", "grad"), "vae": ("fake", "mu", "sd", "warp", "codes"),
                "flow": ("fake", "traj", "field"), "ddpm": ("fake", "traj", "field")}[family]
    for name in changing:  # ... while what the model does with them moves
        assert a0[name].shape == a1[name].shape
        assert np.abs(a0[name].astype(float) - a1[name].astype(float)).mean() > 1e-3, name
    assert m1["counts"] != m0["counts"]


def test_the_settings_rows_check_their_values_and_round_trip_as_text():
    s = resolve({"family": "vae", "latent": "1", "lr": "0.01"})
    assert s["latent"] == 1 and s["lr"] == 0.01 and resolve(to_text(s)) == s
    assert resolve({"family": "ddpm"})["batch"] == 1024  # a family's own default
    for bad in ({"lr": "2"}, {"latent": "3"}, {"width": "0"}, {"data": "mnist"}, {"nope": "1"}):
        with pytest.raises(SettingError):
            resolve(bad)
    assert all(s.target == "play" and s.help for s in PLAYGROUND)


def test_the_worker_process_takes_one_step_of_the_named_part():
    w = PlayWorker(resolve({"family": "gan"}))
    try:
        def next_frame(timeout=60):
            end = time.time() + timeout
            while time.time() < end:
                msgs = [m for m in w.messages() if m[0] == "frame"]
                if msgs:
                    return unpack(msgs[-1][2])[0]
                time.sleep(0.05)
            raise AssertionError("no frame from the worker")
        assert next_frame()["counts"] == {"d": 0, "g": 0}
        w.step("d")
        assert next_frame()["counts"] == {"d": 1, "g": 0}
        w.step("iteration")
        meta = next_frame()
        assert meta["counts"] == {"d": 2, "g": 1} and meta["js"] > meta["floor"]
    finally:
        w.close()
    assert not w.alive()


@pytest.mark.parametrize("family", ["flow", "ddpm"])
def test_the_sampler_runs_the_weights_running_average_and_0_means_the_raw_weights(family):
    """Setting "ema": after each step the average moves (1 - ema) of the way to the new weights,
    and the sampler and the field drawn use it; with 0 they use the network as trained."""
    tr = Trainer(resolve({"family": family, "ema": "0.5"}), None)
    avg = [p.detach().clone() for p in tr.net.parameters()]
    for _ in range(3):
        tr.step()
        avg = [0.5 * a + 0.5 * p.detach() for a, p in zip(avg, tr.net.parameters())]
    assert tr.sampler_net is tr.ema
    for a, e, p in zip(avg, tr.ema.parameters(), tr.net.parameters()):
        assert torch.allclose(a, e, atol=1e-6) and not torch.equal(e, p)
    tr.average_from_here()  # one step pressed by hand: the views show the weights as trained
    assert all(torch.equal(e, p) for e, p in zip(tr.ema.parameters(), tr.net.parameters()))
    raw = Trainer(resolve({"family": family, "ema": "0"}), None)
    raw.step()
    assert raw.ema is None and raw.sampler_net is raw.net
