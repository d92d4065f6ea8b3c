"""GenLab: a hands-on lab for deep generative models (AE, VAE, GAN). No UI imports here."""
__version__ = "0.1.0"
