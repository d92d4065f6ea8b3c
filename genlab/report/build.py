"""Build the lab report from checkpoints: one section per model (what was trained, training
curves with the first lab report's sentence filled in, reconstructions and samples, latent
plots, metrics with their meaning, health alarms) and the AE-vs-VAE (and GAN) table with
measured numbers. The result is a list of blocks that ``render`` writes as HTML or Markdown."""
from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from genlab import __version__
from genlab.data import DataError, dataset_for_meta, one_per_class, to_float
from genlab.latent import codes as latent
from genlab.latent.movie import MovieError, fixed_frame, load_movie
from genlab.metrics import elbo, knn_accuracy, latent_stats, reconstruction_metrics
from genlab.metrics.format import compare_column
from genlab.metrics.leaderboard import SAMPLE_N, leaderboard_row, leaderboard_text, sample_seconds
from genlab.metrics.samples import fit_code_gaussian, generate
from genlab.report import figures, text
from genlab.settings import NOISE_KINDS
from genlab.store.checkpoint import load_checkpoint, source_path

N_CODES = 2000  # test images in the latent plots (the Latent space page's default)
N_PRIOR = 500  # prior samples overlaid, as in the app
TSNE_SEED, TSNE_PERPLEXITY = 0, 30.0  # the Latent space page's defaults, so its cache is reused


@dataclass
class Figure:
    name: str  # unique file stem (the PNG's name in the Markdown zip)
    caption: str
    png: bytes


@dataclass
class Block:
    kind: str  # h1 h2 h3 p note facts table figures list
    text: str = ""
    rows: list = field(default_factory=list)  # facts: (label, value); table: header row first
    figures: list[Figure] = field(default_factory=list)


@dataclass
class Report:
    title: str
    blocks: list[Block]
    models: list[str]

    def figures(self) -> list[Figure]:
        return [f for b in self.blocks for f in b.figures]


def measure_row(model, data, n: int | None = None, z: np.ndarray | None = None) -> dict:
    """The Compare table's measured-now numbers of an AE / VAE on the first ``n`` test images
    (all by default): MSE, codes' KL to the prior, mean posterior KL, active units, 5-NN class
    accuracy of the codes, and the ELBO for a VAE. A GAN gets only its kind and latent size."""
    row = {"kind": model.config.kind.upper(), "latent": model.config.latent_dim}
    if not model.has_encoder or data is None:
        return row
    x = data.test_x[:n] if n else data.test_x
    z = latent.encode_images(model, x) if z is None else z[:len(x)]
    s = latent_stats(model, x, z)
    row.update({"n": len(x), "mse": reconstruction_metrics(model, x)["mse"], "active": s["active_units"],
                "kl_agg": s["kl_aggregate"], "kl_post": s["kl_posterior"], "in_use": s["units_in_use"],
                "knn": knn_accuracy(z, data.test_y[:len(x)].numpy())})
    if model.config.kind == "vae":
        row["elbo"] = elbo(model, x)
    return row


@torch.inference_mode()
def _images(model, data, stem: str) -> list[Figure]:
    kind, out = model.config.kind, []
    if model.has_encoder and data is not None:
        idx = one_per_class(data.test_y)
        x = to_float(data.test_x[idx])
        rec = model.reconstruct(x.to(model.device)).float().cpu()
        out.append(Figure(f"{stem}-reconstructions", "Test images (top) and their reconstructions "
                          "(bottom), one per class where possible.",
                          figures.image_grid(torch.cat([x, rec]), nrow=len(idx), target=620)))
    noise = kind in NOISE_KINDS  # sampled from noise by the model's default sampler
    out.append(Figure(f"{stem}-samples", ("64 samples from N(0, I) noise by the model's default "
                      f"sampler ({model.sampler}, {model.steps} steps)" if noise else
                      "64 samples decoded from the prior N(0, I)") + " (seed 0, the "
                      "samples `genlab eval` scores)" + (": an AE has no prior, so most are not "
                      "digits-like images." if kind == "ae" else "."),
                      figures.image_grid(generate(model, 64, 0), nrow=8, target=420)))
    if kind == "ae" and data is not None:
        codes = fit_code_gaussian(model, data.train_x)
        out.append(Figure(f"{stem}-samples-fitted", f"64 samples decoded from a Gaussian fitted to "
                          f"the codes of the {codes.n:,} training images (seed 0).",
                          figures.image_grid(generate(model, 64, 0, codes=codes), nrow=8, target=420)))
    return out


def _latent(path: Path, model, data, stem: str, z: np.ndarray, tsne: bool) -> tuple[list[Figure], list[str]]:
    """PCA with the prior overlaid, t-SNE when cached (or ``tsne``), the movie's first and
    last frame when the model has one; and notes on what is missing."""
    figs, notes = [], []
    kind = model.config.kind.upper()
    y = data.test_y[:len(z)].numpy()
    coords, p = latent.pca(z, 2)
    prior = p.prior(N_PRIOR, 2)
    share = ", ".join(f"{v:.0%}" for v in p.explained[:2])
    figs.append(Figure(f"{stem}-pca", f"PCA of the codes of {len(z):,} test images, coloured by "
                       f"class, with {N_PRIOR} samples of the prior N(0, I) (×) in the same projection.",
                       figures.latent_scatter(coords, y, data.classes, f"{kind}: PCA ({share} of variance)",
                                              prior)))
    key = latent.tsne_key(str(path), len(z), TSNE_SEED, TSNE_PERPLEXITY)
    if tsne or latent.tsne_cache_path(key).exists():
        t, cached = latent.tsne(z, seed=TSNE_SEED, perplexity=TSNE_PERPLEXITY, key=key)
        figs.append(Figure(f"{stem}-tsne", f"t-SNE of the same codes (seed {TSNE_SEED}, perplexity "
                           f"{TSNE_PERPLEXITY:g}{', from the cache' if cached else ''}).",
                           figures.latent_scatter(t, y, data.classes, f"{kind}: t-SNE (seed {TSNE_SEED})",
                                                  axes=("t-SNE 1", "t-SNE 2"))))
    else:
        notes.append("t-SNE: not computed for this model yet (press 'Compute t-SNE' on the Latent "
                     "space page, or add --tsne to `python -m genlab report`).")
    try:
        movie = load_movie(path, model.config.latent_dim)
    except MovieError as exc:
        movie = None
        notes.append(f"Latent movie: {exc}")
    if movie is not None and len(movie) >= 2:
        frames, cloud = fixed_frame(movie, 2, prior=N_PRIOR if model.config.kind == "vae" else 0)
        figs.append(Figure(f"{stem}-movie", f"How the latent space formed: the {len(movie.indices):,} "
                           "probe images' codes at the start and at the end of training, in one "
                           "PCA frame (that of the final codes).",
                           figures.movie_frames(frames[0], frames[-1], movie.labels, data.classes,
                                                (f"epoch {movie.epochs[0]:g}", f"epoch {movie.epochs[-1]:g}"),
                                                cloud)))
    return figs, notes


def model_section(path: str | os.PathLike, index: int, tsne: bool = False,
                  progress: Callable[[str], None] | None = None) -> tuple[list[Block], dict, dict]:
    """The blocks of one model's section, its Compare row and its meta."""
    say = progress or (lambda _msg: None)
    p = source_path(path)
    say(f"{p.name}: loading")
    model, meta = load_checkpoint(p, device="cpu")
    name, kind = str(meta.get("name") or p.stem), model.config.kind
    stem = f"m{index}-{kind}"
    ds = (meta.get("dataset") or {}).get("name", "?")
    blocks = [Block("h2", f"{name}: {kind.upper()} ({model.config.arch}) on {ds}")]
    data, data_note = None, ""
    try:
        data = dataset_for_meta(meta, allow_download=False)
    except DataError as exc:
        data_note = f"Test images not available here, so figures that need them are left out: {exc}"
    n_params = sum(t.numel() for t in model.parameters())
    blocks += [Block("h3", "What was trained"), Block("facts", rows=text.trained_facts(meta, n_params))]
    say(f"{name}: training curves")
    sentence, source = text.blanks_paragraph(meta)
    tested = any(len(r) > 1 for r in meta.get("test_history") or [])
    curves = Figure(f"{stem}-curves", "Training curves against epochs: lines are training batches"
                    + (", dashed lines with dots the test split after each epoch." if tested else "."),
                    figures.loss_curves(meta.get("history") or [], meta.get("test_history") or [], kind,
                                        f"{name}: {'losses and discriminator outputs' if kind == 'gan' else 'losses'}"))
    blocks += [Block("h3", "Training"), Block("p", sentence), Block("note", source),
               Block("figures", figures=[curves])]
    if kind == "gan":
        blocks.append(Block("note", text.GAN_NOTE))
    say(f"{name}: reconstructions and samples")
    blocks += [Block("h3", "Reconstructions and samples" if model.has_encoder else "Samples"),
               Block("figures", figures=_images(model, data, stem))]
    if data_note:
        blocks.append(Block("note", data_note))
    row = measure_row(model, None)
    if model.has_encoder and data is not None:
        say(f"{name}: latent space")
        z = latent.encode_images(model, data.test_x[:N_CODES])
        figs, notes = _latent(p, model, data, stem, z, tsne)
        blocks += [Block("h3", "Latent space"), Block("figures", figures=figs)]
        blocks += [Block("note", n) for n in notes]
        say(f"{name}: comparison numbers")
        row = measure_row(model, data, z=latent.encode_images(model, data.test_x))
    elif not model.has_encoder:
        blocks += [Block("h3", "Latent space"), Block("note", "A GAN has no encoder, so test images "
                                                       "have no codes to plot; see its samples above.")]
    blocks.append(Block("h3", "Metrics"))
    rows = text.metric_rows(meta)
    if rows:
        blocks.append(Block("table", rows=[("metric", "value", "what it means")] + rows))
        m = meta.get("metrics") or {}
        blocks.append(Block("note", f"Measured by `python -m genlab eval` on {m.get('device', '?')} "
                                    f"({m.get('measured', '?')})." + (f" Note: {m['note']}" if m.get("note") else "")))
    else:
        blocks.append(Block("p", f"Not measured yet: run `python -m genlab eval {p}`."))
    say(f"{name}: timing {SAMPLE_N} samples")
    row["sample_s"] = sample_seconds(model)  # the leaderboard's column, measured while building
    alarms = text.alarm_lines(meta)
    blocks += [Block("h3", "Health alarms"),
               Block("list", rows=alarms) if alarms else Block("p", "None recorded.")]
    return blocks, row, meta


def comparison_blocks(cols: dict[str, dict[str, str]]) -> list[Block]:
    names = list(cols)
    measures = list(next(iter(cols.values())))
    rows = [("measure", *names)] + [(k, *(cols[n][k] for n in names)) for k in measures]
    return [Block("h2", "AE vs VAE" + (" vs GAN" if any("GAN" in c["Kind"] for c in cols.values()) else "")
                  + ": measured"),
            Block("p", "The second lab report's table said AE: reconstruction high, latent space "
                       "unstructured, generation limited; VAE: moderate, structured, strong. Here "
                       "are the measured numbers."),
            Block("table", rows=rows),
            Block("note", "Reconstruction and latent rows: measured while building this report on "
                          "each model's whole test split. Likelihood (IWAE) and generation rows: "
                          "stored by `python -m genlab eval`. '—' means not measured yet or not "
                          "defined for that kind.")]


def leaderboard_blocks(rows: list[dict]) -> list[Block]:
    return [Block("h2", "Leaderboard: every family, measured the same way"),
            Block("table", rows=leaderboard_text(rows)),
            Block("note", "Fréchet distance of samples on GenLab's classifier features beside the "
                          "floor (real training images against the same test split), coverage and "
                          "class agreement: stored by `python -m genlab eval`; an AE is scored on "
                          "samples from N(0, I). Training time: recorded when it was trained. "
                          f"Sample {SAMPLE_N}: seconds to draw {SAMPLE_N} images with the model's "
                          "default sampler, measured while building this report on its CPU.")]


def build_report(paths: list[str | os.PathLike], *, tsne: bool = False, title: str = "GenLab lab report",
                 progress: Callable[[str], None] | None = None) -> Report:
    """The whole report for the checkpoints at ``paths`` (in that order)."""
    if not paths:
        raise ValueError("Name at least one checkpoint to report on.")
    sections, cols, names, board = [], {}, [], []
    for i, path in enumerate(paths):
        blocks, row, meta = model_section(path, i, tsne, progress)
        name = str(meta.get("name") or Path(path).stem)
        if name in cols:
            name = f"{name} ({i + 1})"
        board.append(leaderboard_row(name, meta, row.pop("sample_s", None)))
        cols[name] = compare_column(row, meta)
        names.append(name)
        sections += blocks
    head = [Block("h1", title),
            Block("note", f"Made by GenLab {__version__} on {time.strftime('%Y-%m-%d %H:%M')} from "
                          f"{len(names)} model{'s' if len(names) > 1 else ''}: {', '.join(names)}.")]
    return Report(title, head + leaderboard_blocks(board) + comparison_blocks(cols) + sections, names)
