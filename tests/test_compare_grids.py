"""Compare: a grid of prior samples per chosen model, side by side (one column each of one row,
five models included), and a test-image slider that ends at the smallest test split of the
models chosen (it went to 10,000 on MNIST's 1,000-image offline split)."""
from test_app import page

from genlab.data import dataset_for_meta
from genlab.store.catalog import WEIGHTS_DIR
from genlab.store.checkpoint import read_meta

NAMES = ["mnist-ae", "mnist-vae", "mnist-gan", "fashion-mnist-ae", "fashion-mnist-vae"]
KINDS = ("(AE)", "(VAE)", "(GAN)")


def grid_row(at) -> list[str]:
    """The captions of the sample grids, per column of the one row that holds them all."""
    for block in at.main.children.values():
        cols = [c for c in (getattr(block, "children", None) or {}).values() if c.type == "column"]
        caps = [[im.captions[0] for im in c.get("image") if im.captions and im.captions[0].endswith(KINDS)]
                for c in cols]
        if any(caps):
            return [c[0] if len(c) == 1 else None for c in caps if c]
    return []


def test_samples_side_by_side_and_the_slider_ends_at_the_split_size():
    paths = [str(WEIGHTS_DIR / f"{n}.safetensors") for n in NAMES]
    at = page("pages/compare.py")
    at.multiselect(key="cmp_models").set_value(paths[:3])
    at.slider(key="cmp_n").set_value(200).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    smallest = min(len(dataset_for_meta(read_meta(p)).test_x) for p in paths[:3])
    assert at.slider(key="cmp_n").max == min(10000, smallest // 100 * 100)
    assert grid_row(at) == ["mnist-ae (AE)", "mnist-vae (VAE)", "mnist-gan (GAN)"]

    at.multiselect(key="cmp_models").set_value(paths).run()
    assert not at.exception and not at.error
    assert grid_row(at) == [f"{n} ({n.split('-')[-1].upper()})" for n in NAMES]
