"""What each training-health alarm is called, says and advises (``Alarm``, ``KINDS``);
``genlab.train.health`` decides when one fires."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

# id -> (name, what to try). The knobs are named as the CLI flag and the Train page setting.
KINDS = {
    "posterior_collapse": ("Posterior collapse", "Lower β (--beta, Train page 'β'), add a KL "
                           "warm-up (--kl-warmup N, 'KL warm-up (epochs)'), or use a smaller "
                           "decoder (--hidden)."),
    "d_wins": ("Discriminator wins", "Lower the discriminator's learning rate (--lr-d, 'D "
               "learning rate'), add one-sided label smoothing (--label-smoothing 0.1, 'Label "
               "smoothing'), or use fewer D steps per G step (--d-steps 1, 'D steps per G step')."),
    "mode_collapse": ("Mode collapse", "Restart with another seed (--seed, 'Seed') or lower the "
                      "learning rates (--lr and --lr-d, 'Learning rate' and 'D learning rate')."),
    "overfitting": ("Overfitting", "Train fewer epochs (--epochs, 'Epochs'), use more data, or a "
                    "smaller model (--latent-dim, --hidden)."),
    "divergence": ("Divergence ahead", "Lower the learning rate (--lr, 'Learning rate'), for "
                   "example to a tenth; for a GAN also the D learning rate (--lr-d)."),
    "nothing_learned": ("Nothing learned", "Raise the learning rate (--lr) or train longer "
                        "(--epochs); for a VAE lower β (--beta) or add a KL warm-up (--kl-warmup)."),
    "trivial_loss": ("Stuck at the trivial loss", "Raise the learning rate (--lr, 'Learning "
                     "rate'), for example to 1e-3, and check the data are images of the model's "
                     "size; then train again."),
    "saturated": ("Saturated samples", "Lower the guidance weight ('Guidance weight w' in the "
                  "Sampling studio) to between 1 and 3, or sample with more steps."),
}


@dataclass
class Alarm:
    id: str
    name: str
    step: int
    epoch: float
    message: str  # the diagnosis, one sentence
    evidence: str  # the numbers, in words
    advice: str  # what to try
    numbers: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)

    def text(self) -> str:
        return f"{self.name} (step {self.step:,}): {self.message} {self.evidence} Try: {self.advice}"
