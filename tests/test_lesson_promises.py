"""Each lesson shows what its text promises, run as the Train page runs it
(``genlab.classroom.lessons.train_run``: the lesson's own settings, the offline MNIST subset).
Margins are ratios between two runs of the same seed, not one run's numbers.

So far: the β-VAE lesson's reconstruction-for-KL trade. (Its "fewer latent units stay active"
does not show at the lesson's size: 10 of 10 units active for β = 4 and β = 1, seeds 1 and 2,
and 32 of 32 with latent 32; the lesson needs a change before a test can hold it to that.)"""
import pytest

from genlab.classroom.lessons import lesson_settings, load_lesson, train_run

pytestmark = pytest.mark.slow


def run(name: str, variant: str | None = None):
    lesson = load_lesson(name)
    model, data, result = train_run(lesson_settings(lesson, variant))
    assert result.status == "done", result.status
    return lesson, result


def test_beta_vae_trades_reconstruction_for_kl():
    """Its text: with β = 4 the reconstruction error ends higher than with β = 1 (the "beta1"
    variant, same seed), bought with a smaller KL term. Measured at the lesson's 10 epochs:
    recon 141 vs 109 (test set), KL 6.3 vs 16.3; the margins below are far inside that."""
    lesson, r4 = run("beta-vae")
    assert "reconstruction error ends higher" in lesson.look_for
    _, r1 = run("beta-vae", "beta1")
    t4, t1 = r4.test_history[-1], r1.test_history[-1]
    assert t4["recon"] > 1.1 * t1["recon"], (t4, t1)  # worse reconstruction with β = 4
    assert t4["kl"] < 0.7 * t1["kl"], (t4, t1)  # and a smaller KL
