"""The one class palette: class ``c`` has colour ``CLASS_COLOURS[c % 10]`` in every plot that
colours classes (the latent maps in 2-D and 3-D, the latent movie, the Train page's live frame,
the lab report's figures), so a 7 is the same colour everywhere.

Tableau 10 (Vega's and Matplotlib's "category10", designed to keep ten hues apart, also in 3-D
where points overlap) with its grey replaced by indigo: prior samples are drawn as grey/black
crosses, and a grey class would blend into them. The colour follows the class's index, never
its position among the classes present in one plot."""
from __future__ import annotations

CLASS_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                 "#8c564b", "#e377c2", "#393b79", "#bcbd22", "#17becf")
PRIOR_COLOUR = "rgba(0,0,0,0.35)"  # prior samples N(0, I): translucent black crosses


def class_colour(c: int) -> str:
    """The colour of class index ``c`` (classes beyond ten reuse the table in order)."""
    return CLASS_COLOURS[int(c) % len(CLASS_COLOURS)]


def class_colours(classes: list) -> list[str]:
    """The colours of classes ``0..len(classes)-1``, in class order (for a colour scale)."""
    return [class_colour(i) for i in range(len(classes))]
