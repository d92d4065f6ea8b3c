"""Uploads against the size caps: zip bombs (by declared size, file count, a member that lies
about its size), decompression-bomb images and the pixel caps are refused or skipped before the
memory is spent; each cap is set by an environment variable, read at every load."""
import io
import os
import struct
import time
import zipfile

import pytest
from PIL import Image
from test_hostile_uploads import all_images, make_zip, own_cache, png, png_header  # noqa: F401

import genlab.data.images as images
from genlab.data import DataError, load_dataset


def test_zip_bomb_over_the_total_size_cap(tmp_path, monkeypatch):
    """Refused from the sizes the zip declares: no member is ever opened (decompressed)."""
    monkeypatch.setenv("GENLAB_MAX_BYTES", str(1024**2))
    zeros = bytes(400 * 1024)  # compresses about 1000:1
    archive = make_zip(tmp_path / "bomb.zip", {f"x{i}.png": zeros for i in range(5)} | {"ok.png": png()})
    assert archive.stat().st_size < 20_000
    opened, real_open = [], zipfile.ZipFile.open

    def no_open(self, name, *args, **kwargs):
        opened.append(getattr(name, "filename", name))
        raise AssertionError(f"{opened[-1]} was decompressed before the size check")
    monkeypatch.setattr(zipfile.ZipFile, "open", no_open)
    with pytest.raises(DataError, match=r"over the 1 MB limit \(a zip bomb\?\); refused"):
        load_dataset(str(archive))
    assert opened == []
    monkeypatch.setattr(zipfile.ZipFile, "open", real_open)
    monkeypatch.delenv("GENLAB_MAX_BYTES")  # under the default cap the same zip is read
    assert load_dataset(str(archive)).skipped == {"unreadable": 5}


CAPS_SCRIPT = """
import sys
from genlab.data import DataError, load_dataset
try:
    ds = load_dataset(sys.argv[1])
    print("loaded", len(ds))
except DataError as exc:
    print("refused:", exc)
"""


def load_in_subprocess(path, tmp_path, **env):
    """Load ``path`` in a fresh Python whose environment sets the caps (as a server would),
    with an empty cache (decoded data sets are cached)."""
    import subprocess
    import sys
    import tempfile
    from pathlib import Path
    root = Path(__file__).resolve().parent.parent
    cache = tempfile.mkdtemp(dir=tmp_path, prefix="cache-")
    full = {**os.environ, "GENLAB_CACHE": cache, "PYTHONPATH": str(root), **env}
    r = subprocess.run([sys.executable, "-c", CAPS_SCRIPT, str(path)], env=full, capture_output=True,
                       text=True, timeout=300, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def load_with_env(path, tmp_path, monkeypatch, **env) -> str:
    """``CAPS_SCRIPT``'s answer, in this process: the caps are read at each load, so setting the
    variables here is what a server's environment does (one test below also starts a real one)."""
    import tempfile
    with monkeypatch.context() as m:
        m.setenv("GENLAB_CACHE", tempfile.mkdtemp(dir=tmp_path, prefix="cache-"))
        for k, v in env.items():
            m.setenv(k, v)
        try:
            return f"loaded {len(load_dataset(str(path)))}"
        except DataError as exc:
            return f"refused: {exc}"


def test_size_caps_are_set_by_environment_variables(tmp_path, monkeypatch):
    folder = tmp_path / "pics"
    folder.mkdir()
    for i in range(6):
        (folder / f"{i}.png").write_bytes(png(i, size=(100, 100)))
    archive = make_zip(tmp_path / "pics.zip", {f"{i}.png": png(i, size=(100, 100)) for i in range(6)})
    for var in ("GENLAB_MAX_FILES", "GENLAB_MAX_BYTES", "GENLAB_MAX_TOTAL_PIXELS"):
        monkeypatch.delenv(var, raising=False)
    # a fresh Python started with the variable set, as a server would be
    assert load_in_subprocess(folder, tmp_path, GENLAB_MAX_FILES="5").startswith("refused:")
    for path in (folder, archive):
        assert load_with_env(path, tmp_path, monkeypatch) == "loaded 6"  # the defaults let it through
        out = load_with_env(path, tmp_path, monkeypatch, GENLAB_MAX_FILES="5")
        assert out.startswith("refused:") and ("more than 5 images" in out or "the limit is 5" in out)
        out = load_with_env(path, tmp_path, monkeypatch, GENLAB_MAX_BYTES=str(3 * len(png(0, size=(100, 100)))))
        assert out.startswith("refused:") and ("GB of images" in out or "(a zip bomb?)" in out)
        out = load_with_env(path, tmp_path, monkeypatch, GENLAB_MAX_TOTAL_PIXELS="40000")
        assert out == "refused: The images hold more than 0.04 megapixels in all; use fewer or smaller images."
    out = load_with_env(folder, tmp_path, monkeypatch, GENLAB_MAX_FILES="lots")
    assert out == "refused: GENLAB_MAX_FILES must be a whole number above 0, not 'lots'; fix or unset it."


def test_zip_bomb_over_the_file_count_cap(tmp_path, monkeypatch):
    monkeypatch.setenv("GENLAB_MAX_FILES", "20")
    archive = make_zip(tmp_path / "many.zip", {f"d/{i}.png": png() for i in range(50)})
    with pytest.raises(DataError, match="holds 50 files; the limit is 20"):
        load_dataset(str(archive))


def test_folder_over_the_caps(tmp_path, monkeypatch):
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(12):
        (folder / f"{i}.png").write_bytes(png(i))
    monkeypatch.setenv("GENLAB_MAX_FILES", "10")
    with pytest.raises(DataError, match="more than 10 images"):
        load_dataset(str(folder))
    monkeypatch.setenv("GENLAB_MAX_FILES", "1000")
    monkeypatch.setenv("GENLAB_MAX_BYTES", str(len(png()) * 5))
    with pytest.raises(DataError, match="GB of images"):
        load_dataset(str(folder))


def test_one_oversized_member_is_skipped(tmp_path, monkeypatch):
    monkeypatch.setattr(images, "MAX_FILE_BYTES", 100_000)
    archive = make_zip(tmp_path / "big.zip", {"huge.png": bytes(1024**2), "a.png": png(1),
                                              "b.png": png(2), "c.png": png(3)})
    ds = load_dataset(str(archive))
    assert len(ds) == 3 and ds.skipped == {"too large": 1}


def test_a_member_that_lies_about_its_size(tmp_path):
    """Headers declare 64 bytes for a 1 MB member: no more than 64 bytes are decompressed."""
    archive = make_zip(tmp_path / "liar.zip", {"a.png": bytes(1024**2), "b.png": png(9), "c.png": png(8)})
    data = bytearray(archive.read_bytes())
    for sig, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.index(sig)  # the first member's local and central headers
        data[at + offset:at + offset + 4] = struct.pack("<I", 64)
    archive.write_bytes(bytes(data))
    ds = load_dataset(str(archive))
    assert len(ds) == 2 and ds.skipped == {"unreadable": 1}


@pytest.mark.parametrize("container", ["folder", "zip"])
def test_decompression_bomb_images_are_skipped(tmp_path, container):
    bombs = {"huge.png": png_header(100_000, 100_000), "wide.png": png_header(7_000, 7_000)}
    gif = io.BytesIO()
    Image.new("L", (4, 4)).save(gif, "GIF")
    gif = bytearray(gif.getvalue())
    gif[6:10] = struct.pack("<HH", 65_535, 65_535)  # logical screen size
    bombs["screen.gif"] = bytes(gif)
    members = {**bombs, "ok.png": png(77)}
    if container == "zip":
        source = make_zip(tmp_path / "bombs.zip", members)
    else:
        source = tmp_path / "bombs"
        source.mkdir()
        for name, data in members.items():
            (source / name).write_bytes(data)
    t0 = time.perf_counter()
    ds = load_dataset(str(source))
    assert time.perf_counter() - t0 < 5
    assert len(ds.train_x) == 1 and int(ds.train_x[0, 0, 3, 3]) == 77  # one image (also the test split)
    assert ds.skipped == {"too large": 3}


def test_the_pixel_cap_applies_to_real_images(tmp_path, monkeypatch):
    monkeypatch.setattr(images, "MAX_PIXELS", 10_000)
    folder = tmp_path / "pics"
    folder.mkdir()
    (folder / "big.png").write_bytes(png(5, size=(200, 200)))
    (folder / "small.png").write_bytes(png(6, size=(50, 50)))
    ds = load_dataset(str(folder))
    assert len(ds.train_x) == 1 and ds.skipped == {"too large": 1}


def test_many_big_but_small_files_hit_the_total_pixel_cap(tmp_path, monkeypatch):
    """Each 2000x2000 PNG of zeros is a few kB but costs real decoding time: capped in all."""
    monkeypatch.setenv("GENLAB_MAX_TOTAL_PIXELS", "10_000_000")
    members = {f"{i}.png": png(0, size=(2000, 2000)) for i in range(10)}  # 40 MP in all
    archive = make_zip(tmp_path / "many-big.zip", members)
    assert archive.stat().st_size < 100_000
    with pytest.raises(DataError, match="more than 10 megapixels in all"):
        load_dataset(str(archive))
    monkeypatch.setenv("GENLAB_MAX_TOTAL_PIXELS", "50000000")
    assert len(load_dataset(str(archive))) == 10
