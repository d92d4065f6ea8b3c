"""GenLab's noise schedules and samplers (genlab.models.schedules) against diffusers' schedulers:
the same betas and abar, and the same step for the same model output, to 1e-5. diffusers is a
test-only dependency (requirements-dev.txt); nothing is downloaded, the schedulers are built
from their configs."""
import pytest
import torch

from genlab.models import schedules as S

diffusers = pytest.importorskip("diffusers")
TOL = dict(atol=1e-5, rtol=1e-5)
SHAPE = (4, 3, 8, 8)


def _rand(seed: int, shape=SHAPE) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


def _ddpm(schedule: str, **kw):
    name = {"linear": "linear", "cosine": "squaredcos_cap_v2"}[schedule]
    return diffusers.DDPMScheduler(num_train_timesteps=1000, beta_schedule=name,
                                   timestep_spacing="trailing", **kw)


def _ddim(schedule: str, **kw):
    name = {"linear": "linear", "cosine": "squaredcos_cap_v2"}[schedule]
    return diffusers.DDIMScheduler(num_train_timesteps=1000, beta_schedule=name,
                                   timestep_spacing="trailing", **kw)


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_schedules_equal_diffusers(schedule):
    ref = _ddpm(schedule)
    betas = S.beta_schedule(schedule)
    assert betas.shape == (1000,) and betas.dtype == torch.float32
    torch.testing.assert_close(betas, ref.betas, **TOL)
    torch.testing.assert_close(S.alphas_cumprod(betas), ref.alphas_cumprod, **TOL)
    assert 0 < float(betas.min()) and float(betas.max()) <= float(torch.tensor(0.999))


def test_linear_and_cosine_differ_and_an_unknown_schedule_is_refused():
    lin, cos = (S.alphas_cumprod(S.beta_schedule(n)) for n in ("linear", "cosine"))
    assert float((lin - cos).abs().max()) > 0.1  # a mix-up of the two would show
    with pytest.raises(ValueError, match="linear, cosine"):
        S.beta_schedule("squared")


@pytest.mark.parametrize("steps", [50, 20, 7])
def test_timesteps_are_diffusers_trailing(steps):
    ref = _ddim("linear")
    ref.set_timesteps(steps)
    assert S.diffusion_timesteps(steps) == ref.timesteps.tolist()


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
@pytest.mark.parametrize("clip", [True, False])
@pytest.mark.parametrize("index", [0, 13, 49])  # first step (t = 999), middle, last (t -> data)
def test_one_ddpm_step_equals_diffusers(schedule, clip, index):
    ref = _ddpm(schedule, clip_sample=clip)
    ref.set_timesteps(50)
    t = int(ref.timesteps[index])
    t_prev = int(ref.previous_timestep(t))
    assert t_prev == (S.diffusion_timesteps(50) + [-1])[index + 1]
    x, eps = _rand(1), _rand(2)
    out = ref.step(eps, t, x, generator=torch.Generator().manual_seed(7))
    noise = torch.randn(SHAPE, generator=torch.Generator().manual_seed(7))  # the same draw
    abar = S.alphas_cumprod(S.beta_schedule(schedule))
    x_prev, x0 = S.ddpm_step(x, eps, t, t_prev, abar, noise if t > 0 else None, clip)
    torch.testing.assert_close(x0, out.pred_original_sample, **TOL)
    torch.testing.assert_close(x_prev, out.prev_sample, **TOL)
    if t_prev >= 0:  # the noise matters: another draw gives another step (not at the end)
        other, _ = S.ddpm_step(x, eps, t, t_prev, abar, _rand(8), clip)
        assert not torch.allclose(other, out.prev_sample, atol=1e-3)


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
@pytest.mark.parametrize("clip", [True, False])
@pytest.mark.parametrize("index", [0, 13, 49])
def test_one_ddim_step_equals_diffusers(schedule, clip, index):
    ref = _ddim(schedule, clip_sample=clip)
    ref.set_timesteps(50)
    t = int(ref.timesteps[index])
    t_prev = t - 1000 // 50  # what DDIMScheduler.step uses; -1 at the end: abar_prev = 1
    x, eps = _rand(3), _rand(4)
    out = ref.step(eps, t, x, eta=0.0)
    abar = S.alphas_cumprod(S.beta_schedule(schedule))
    x_prev, x0 = S.ddim_step(x, eps, t, t_prev, abar, clip)
    torch.testing.assert_close(x0, out.pred_original_sample, **TOL)
    torch.testing.assert_close(x_prev, out.prev_sample, **TOL)


def _fake_velocity(seed: int):
    """A fixed, x- and t-dependent stand-in for a velocity network: v(x, t) = a x + t b."""
    a, b = _rand(seed), _rand(seed + 1)
    return lambda x, t: a * x + t.reshape(-1, 1, 1, 1) * b


@pytest.mark.parametrize("index", [0, 9, 19])
def test_one_flow_euler_step_equals_diffusers(index):
    steps = 20
    ts = S.flow_times(steps)
    ref = diffusers.FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000)
    ref.set_timesteps(sigmas=(1 - ts[:-1]).tolist())  # diffusers appends sigma = 0 (t = 1)
    torch.testing.assert_close(ref.sigmas.double(), 1 - ts, atol=1e-6, rtol=0)
    ref.set_begin_index(index)
    x, v = _rand(5), _rand(6)
    t, t_next = float(ts[index]), float(ts[index + 1])
    out = ref.step(-v, ref.timesteps[index], x).prev_sample  # diffusers' output: noise - data
    torch.testing.assert_close(S.euler_step(x, v, t, t_next), out, **TOL)


@pytest.mark.parametrize("index", [0, 4, 8])  # not the last: diffusers' Heun divides by sigma_next = 0 there
def test_one_flow_heun_step_equals_diffusers(index):
    ref = diffusers.FlowMatchHeunDiscreteScheduler(num_train_timesteps=1000)
    ref.set_timesteps(10)
    # after set_timesteps: sigmas = [s0, s1, s1, s2, s2, ...], timesteps = [T0, T1, T1, T2, ...]
    k = 2 * index  # where step ``index`` starts in those arrays (each step takes two calls)
    sigma, sigma_next = float(ref.sigmas[k]), float(ref.sigmas[k + 1])
    net = _fake_velocity(10)
    x = _rand(9)
    ref.set_begin_index(k)
    n = len(x)
    guess = ref.step(-net(x, torch.full((n,), 1 - sigma)), ref.timesteps[k], x).prev_sample
    out = ref.step(-net(guess, torch.full((n,), 1 - sigma_next)), ref.timesteps[k + 1],
                   guess).prev_sample
    ours, v = S.heun_step(net, x, 1 - sigma, 1 - sigma_next)
    torch.testing.assert_close(ours, out, **TOL)
    torch.testing.assert_close(v, net(x, torch.full((n,), 1 - sigma)))
    # Heun is not Euler: the second evaluation changes the step
    assert not torch.allclose(ours, S.euler_step(x, v, 1 - sigma, 1 - sigma_next), atol=1e-3)


def _fake_eps(seed: int):
    a, b = _rand(seed), _rand(seed + 1)
    return lambda x, t: torch.tanh(a * x) + (t.reshape(-1, 1, 1, 1) / 1000) * b


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_whole_ddim_and_ddpm_runs_equal_diffusers_loops(schedule):
    """The samplers' loops (timesteps, the step pairs, the end at abar = 1) over 10 steps."""
    abar = S.alphas_cumprod(S.beta_schedule(schedule))
    net, noise = _fake_eps(20), _rand(22)
    ref = _ddim(schedule)
    ref.set_timesteps(10)
    x = noise
    for t in ref.timesteps:
        x = ref.step(net(x, torch.full((len(x),), float(t))), int(t), x, eta=0.0).prev_sample
    torch.testing.assert_close(S.last(S.diffusion_steps(net, noise, abar, 10, "ddim")), x, **TOL)
    # DDPM: diffusers draws each step's noise from the generator exactly as GenLab does
    ref = _ddpm(schedule)
    ref.set_timesteps(10)
    g = torch.Generator().manual_seed(3)
    x = noise
    for t in ref.timesteps:
        x = ref.step(net(x, torch.full((len(x),), float(t))), int(t), x, generator=g).prev_sample
    ours = S.last(S.diffusion_steps(net, noise, abar, 10, "ddpm",
                                    generator=torch.Generator().manual_seed(3)))
    torch.testing.assert_close(ours, x, **TOL)


def test_whole_flow_euler_run_equals_diffusers_loop():
    net, noise = _fake_velocity(30), _rand(32)
    ts = S.flow_times(8)
    ref = diffusers.FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000)
    ref.set_timesteps(sigmas=(1 - ts[:-1]).tolist())
    x = noise
    for i, tt in enumerate(ref.timesteps):
        x = ref.step(-net(x, torch.full((len(x),), float(ts[i]))), tt, x).prev_sample
    steps = list(S.flow_steps(net, noise, 8, "euler"))
    assert len(steps) == 8 and [s.t for s in steps] == ts[:-1].tolist()
    torch.testing.assert_close(steps[-1].x, x, **TOL)


def test_flow_samplers_integrate_known_flows():
    """Straight paths to one point: Euler lands on it and x0-hat is exact from the first step.
    dx/dt = -x (x(1) = x(0) / e): Euler's error falls as 1/steps, Heun's as 1/steps^2."""
    target, noise = _rand(40), _rand(41)
    to_point = lambda x, t: (target - x) / (1 - t.reshape(-1, 1, 1, 1))  # noqa: E731
    steps = list(S.flow_steps(to_point, noise, 5, "euler"))
    assert len(steps) == 5
    torch.testing.assert_close(steps[-1].x, target, atol=1e-5, rtol=1e-5)
    for sampler in S.FLOW_SAMPLERS:
        first = next(S.flow_steps(to_point, noise, 5, sampler))
        torch.testing.assert_close(first.x0, target, atol=1e-5, rtol=1e-5)
    decay = lambda x, t: -x  # noqa: E731
    exact = noise / torch.e
    err = {(s, n): float((S.last(S.flow_steps(decay, noise, n, s)) - exact).abs().max())
           for s in S.FLOW_SAMPLERS for n in (10, 20)}
    assert 1.8 < err["euler", 10] / err["euler", 20] < 2.2  # first order
    assert 3.6 < err["heun", 10] / err["heun", 20] < 4.4  # second order
    assert err["heun", 10] < err["euler", 10] / 10
    torch.testing.assert_close(S.flow_path(target, noise, torch.zeros(4)), noise)
    torch.testing.assert_close(S.flow_path(target, noise, torch.ones(4)), target)


def test_add_noise_equals_diffusers_and_guidance_weights():
    ref = _ddpm("cosine")
    abar = S.alphas_cumprod(S.beta_schedule("cosine"))
    x0, noise = _rand(50), _rand(51)
    t = torch.tensor([0, 10, 500, 999])
    torch.testing.assert_close(S.add_noise(x0, noise, t, abar), ref.add_noise(x0, noise, t), **TOL)
    c, u = _rand(52), _rand(53)
    torch.testing.assert_close(S.guided(c, u, 1.0), c)
    torch.testing.assert_close(S.guided(c, u, 0.0), u)
    torch.testing.assert_close(S.guided(c, u, 3.0), u + 3 * (c - u))


def test_bad_sampler_names_and_step_counts_are_refused():
    net = _fake_velocity(60)
    with pytest.raises(ValueError, match="euler, heun"):
        next(S.flow_steps(net, _rand(61), 5, "ddim"))
    with pytest.raises(ValueError, match="ddpm, ddim"):
        next(S.diffusion_steps(net, _rand(61), S.alphas_cumprod(S.beta_schedule()), 5, "euler"))
    with pytest.raises(ValueError, match="between 1 and 1000"):
        S.diffusion_timesteps(0)
