"""The report's figures as PNG bytes, drawn to look like the app's Plotly charts: the same
colours (Plotly's default "plotly" palette for curves, ``genlab.palette`` for classes), labels
and units, on Plotly's light-blue plot area with white grid lines. Matplotlib with the Agg
canvas only (no pyplot, no display)."""
from __future__ import annotations

import io

import numpy as np
import torch

from genlab.images import make_grid, png, upscale
from genlab.models.config import LOSS_LABELS, LOSS_PANELS
from genlab.palette import class_colour

# Plotly's default qualitative palette ("plotly"), in its order: the curves' colours (classes
# take theirs from genlab.palette, as in the app)
PALETTE = ["#636EFA", "#EF553B", "#00CC96", "#AB63FA", "#FFA15A", "#19D3F3", "#FF6692",
           "#B6E880", "#FF97FF", "#FECB52"]
PLOT_BG, GRID, INK = "#E5ECF6", "#FFFFFF", "#2A3F5F"  # Plotly's "plotly" template
PRIOR = (0, 0, 0, 0.35)  # the app draws prior samples as grey crosses
# panels of the training-curve figure per kind, as in the app (colours follow trace order)
CURVE_UNITS = {"ae": ["MSE per pixel"], "vae": ["nats per image", "nats per image"],
               "gan": ["BCE loss", "probability of 'real'"], "flow": ["MSE of the velocity"],
               "ddpm": ["MSE of the noise"]}
DPI = 110


def _figure(width: float, height: float):
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width, height), dpi=DPI, facecolor="white")
    return fig


def _axes_style(ax, xlabel: str = "", ylabel: str = "", title: str = "") -> None:
    ax.set_facecolor(PLOT_BG)
    ax.grid(True, color=GRID, linewidth=1.0)
    ax.set_axisbelow(True)
    for side in ax.spines.values():
        side.set_visible(False)
    ax.tick_params(colors=INK, labelsize=8, length=0)
    if xlabel:
        ax.set_xlabel(xlabel, color=INK, fontsize=9)
    if ylabel:
        ax.set_ylabel(ylabel, color=INK, fontsize=9)
    if title:
        ax.set_title(title, color=INK, fontsize=10, loc="left")


def _png(fig) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, facecolor="white", bbox_inches="tight", pad_inches=0.1)
    return buf.getvalue()


def loss_curves(history: list[dict], test_history: list[dict], kind: str, title: str = "") -> bytes:
    """Training curves per kind (AE MSE; VAE reconstruction and total, KL; GAN D and G losses,
    D(x) and D(G(z))) against epochs: training batches as lines, the test split after each
    epoch as dashed lines with dots in the same colour."""
    groups = LOSS_PANELS[kind]
    fig = _figure(4.6 * len(groups), 3.1)
    colour = 0
    for c, keys in enumerate(groups):
        ax = fig.add_subplot(1, len(groups), c + 1)
        for k in keys:
            col = PALETTE[colour % len(PALETTE)]
            colour += 1
            rows = [r for r in history if isinstance(r.get(k), (int, float))]
            if rows:
                ax.plot([r.get("epoch", 0) for r in rows], [r[k] for r in rows], color=col,
                        linewidth=1.4, label=f"{LOSS_LABELS[k]}, training")
            test = [r for r in test_history if isinstance(r.get(k), (int, float))]
            if test:
                ax.plot([r["epoch"] for r in test], [r[k] for r in test], color=col, linewidth=1.2,
                        linestyle="--", marker="o", markersize=2.5, label=f"{LOSS_LABELS[k]}, test")
        _axes_style(ax, "epoch", CURVE_UNITS[kind][c])
        if ax.lines:
            ax.legend(fontsize=7, frameon=False, labelcolor=INK, loc="upper center",
                      bbox_to_anchor=(0.5, -0.22), ncol=2)
    if title:
        fig.suptitle(title, color=INK, fontsize=11, x=0.01, ha="left")
    fig.tight_layout()
    return _png(fig)


def image_grid(images: torch.Tensor, nrow: int = 8, target: int = 480) -> bytes:
    """A float batch (N, C, H, W) in [0, 1] as a grid, enlarged with crisp pixels to about
    ``target`` pixels wide (as the app shows images)."""
    return png(upscale(make_grid(images, nrow=nrow), target))


def _scatter(ax, coords: np.ndarray, labels: np.ndarray, classes: list[str],
             prior: np.ndarray | None) -> None:
    for c in np.unique(labels):
        m = labels == c
        name = classes[int(c)] if 0 <= int(c) < len(classes) else str(c)
        ax.scatter(coords[m, 0], coords[m, 1], s=5, alpha=0.8, color=class_colour(int(c)),
                   label=name, linewidths=0)
    if prior is not None:
        ax.scatter(prior[:, 0], prior[:, 1], s=10, marker="x", color=PRIOR, linewidths=0.8,
                   label="prior N(0, I)")


def latent_scatter(coords: np.ndarray, labels: np.ndarray, classes: list[str], title: str,
                   prior: np.ndarray | None = None, axes: tuple[str, str] = ("PC 1", "PC 2")) -> bytes:
    """Codes in 2-D coloured by class (``genlab.palette``, as in the app), with samples of the
    prior as grey crosses when given."""
    fig = _figure(5.4, 4.4)
    ax = fig.add_subplot(1, 1, 1)
    _scatter(ax, np.asarray(coords), np.asarray(labels), classes, prior)
    _axes_style(ax, axes[0], axes[1], title)
    ax.legend(fontsize=7, frameon=False, labelcolor=INK, markerscale=2, loc="center left",
              bbox_to_anchor=(1.0, 0.5))
    fig.tight_layout()
    return _png(fig)


def movie_frames(first: np.ndarray, last: np.ndarray, labels: np.ndarray, classes: list[str],
                 titles: tuple[str, str], prior: np.ndarray | None = None) -> bytes:
    """The latent movie's first and last frame side by side, in one frame of reference."""
    fig = _figure(9.2, 4.0)
    lo = np.minimum(first.min(0), last.min(0))
    hi = np.maximum(first.max(0), last.max(0))
    pad = (hi - lo) * 0.05 + 1e-6
    for i, (coords, title) in enumerate(((first, titles[0]), (last, titles[1]))):
        ax = fig.add_subplot(1, 2, i + 1)
        _scatter(ax, coords, np.asarray(labels), classes, prior if i == 1 else None)
        ax.set_xlim(lo[0] - pad[0], hi[0] + pad[0])
        ax.set_ylim(lo[1] - pad[1], hi[1] + pad[1])
        _axes_style(ax, "PC 1", "PC 2", title)
    fig.axes[-1].legend(fontsize=7, frameon=False, labelcolor=INK, markerscale=2,
                        loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.tight_layout()
    return _png(fig)
