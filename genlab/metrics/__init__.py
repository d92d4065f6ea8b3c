"""Quality numbers for GenLab models, each defined once: the trainer's per-image test metrics,
reconstruction error, ELBO / IWAE for VAEs, latent-code statistics (active units, KL to the
prior), and sample quality (Fréchet distance, class coverage, confidence) measured with a small
classifier trained by GenLab itself — no downloaded Inception weights. ``format`` writes them
out for people. This package never imports ``genlab.train`` (the trainer calls it)."""
from genlab.metrics.agreement import class_agreement
from genlab.metrics.codes import ACTIVE_THRESHOLD, active_units, gaussian_kl, knn_accuracy, latent_stats
from genlab.metrics.format import format_report, metrics_text, summarize, test_text
from genlab.metrics.frechet import class_coverage, confidence, frechet_between, frechet_distance
from genlab.metrics.likelihood import elbo, iwae_bound, test_metrics
from genlab.metrics.recon import bernoulli_entropy_floor, pca_baseline, reconstruction_metrics
from genlab.metrics.report import evaluate_checkpoint, unmeasured
from genlab.metrics.samples import sample_metrics

__all__ = ["ACTIVE_THRESHOLD", "active_units", "bernoulli_entropy_floor", "class_agreement", "class_coverage", "confidence",
           "elbo", "evaluate_checkpoint", "format_report", "frechet_between", "frechet_distance",
           "gaussian_kl", "iwae_bound", "knn_accuracy", "latent_stats", "metrics_text", "pca_baseline",
           "reconstruction_metrics", "sample_metrics", "summarize", "test_metrics", "test_text", "unmeasured"]
