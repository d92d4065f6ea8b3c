"""Quality numbers for GenLab models: reconstruction error, ELBO / IWAE / active units for
VAEs, and sample quality (Fréchet distance, class coverage, confidence) measured with a small
classifier trained by GenLab itself — no downloaded Inception weights."""
from genlab.metrics.frechet import class_coverage, confidence, frechet_between, frechet_distance
from genlab.metrics.likelihood import active_units, elbo, iwae_bound
from genlab.metrics.recon import bernoulli_entropy_floor, pca_baseline, reconstruction_metrics
from genlab.metrics.report import evaluate_checkpoint, format_report, summarize

__all__ = ["active_units", "bernoulli_entropy_floor", "class_coverage", "confidence", "elbo",
           "evaluate_checkpoint", "format_report", "frechet_between", "frechet_distance",
           "iwae_bound", "pca_baseline", "reconstruction_metrics", "summarize"]
