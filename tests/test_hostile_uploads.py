"""Uploaded folders and zips: unsafe paths, bombs, non-images and odd images are refused or
skipped with a count and a clear message; nothing is written outside the cache, nothing runs."""
import io
import os
import struct
import time
import zipfile
import zlib

import numpy as np
import pytest
from PIL import Image

from genlab.data import DataError, ImageDataset, load_dataset


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GENLAB_CACHE", str(tmp_path / "cache"))  # decode afresh, keep the user's cache clean


def png(value=128, size=(12, 12), mode="L"):
    buf = io.BytesIO()
    Image.new(mode, size, value).save(buf, "PNG")
    return buf.getvalue()


def make_zip(path, members, compression=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name), data, compress_type=compression)
    return path


def all_images(ds):
    return np.concatenate([ds.train_x.numpy(), ds.test_x.numpy()])


def png_header(width, height):
    """A tiny PNG whose header declares ``width`` x ``height`` pixels (a decompression bomb)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 4096))
            + chunk(b"IEND", b""))


def test_zip_slip_names_are_skipped_and_nothing_is_written(tmp_path, monkeypatch):
    work = tmp_path / "work" / "deep"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    absolute = tmp_path / "abs-target.png"
    unsafe = ["../evil.png", "../../evil2.png", "ok/../../../evil3.png", str(absolute),
              "C:/evil4.png", "C:\\evil5.png", "..\\..\\evil6.png"]
    members = {name: png(10) for name in unsafe}
    members.update({"faces/a.png": png(200), "faces/b.png": png(100)})
    archive = make_zip(tmp_path / "upload.zip", members)
    before = sorted(p for p in tmp_path.rglob("*") if "cache" not in p.parts)
    ds = load_dataset(str(archive))
    after = sorted(p for p in tmp_path.rglob("*") if "cache" not in p.parts)
    assert after == before  # not one file appeared anywhere under tmp_path
    assert not absolute.exists() and not (tmp_path / "evil.png").exists()
    assert len(ds) == 2 and sorted(all_images(ds)[:, 0, 5, 5].tolist()) == [100, 200]
    assert ds.skipped == {"unsafe path": len(unsafe)}
    assert "skipped 7 unsafe path" in ds.summary()


def test_a_zip_of_only_unsafe_names_is_refused(tmp_path):
    archive = make_zip(tmp_path / "evil.zip", {"../a.png": png(), "/etc/b.png": png()})
    with pytest.raises(DataError, match=r"No readable image in evil.zip \(2 unsafe path\)"):
        load_dataset(str(archive))


def not_images(tmp_path):
    real = png(3, size=(64, 64))
    return {"notes.png": b"hello, I am text", "noise.jpg": os.urandom(3000),
            "half.png": real[: len(real) // 2], "empty.gif": b"", "script.py": b"import os",
            "tool.exe": b"MZ\x90\x00", "inner.zip": make_zip(tmp_path / "in.zip", {"a.png": real}).read_bytes()}


def test_a_folder_with_zero_readable_images(tmp_path):
    folder = tmp_path / "junk"
    folder.mkdir()
    for name, data in not_images(tmp_path).items():
        (folder / name).write_bytes(data)
    with pytest.raises(DataError) as info:
        load_dataset(str(folder))
    msg = str(info.value)
    assert msg.startswith("No readable image in junk (3 not an image file, 4 unreadable)")
    assert "png, jpg" in msg


def test_non_images_among_images_are_counted(tmp_path):
    members = {**not_images(tmp_path), "cats/a.png": png(1), "dogs/b.png": png(2)}
    ds = load_dataset(str(make_zip(tmp_path / "mixed.zip", members)))
    assert len(ds) == 2 and ds.skipped == {"not an image file": 3, "unreadable": 4}
    assert ds.classes == ["cats", "dogs"]


@pytest.mark.parametrize("what", ["empty folder", "empty zip", "text as zip", "missing"])
def test_nothing_to_load(tmp_path, what):
    if what == "empty folder":
        path = tmp_path / "empty"
        path.mkdir()
        match = r"No readable image in empty \(no files\)"
    elif what == "empty zip":
        path = make_zip(tmp_path / "empty.zip", {})
        match = r"No readable image in empty.zip \(no files\)"
    elif what == "text as zip":
        path = tmp_path / "fake.zip"
        path.write_text("not a zip")
        match = "fake.zip is not a readable zip file"
    else:
        path, match = tmp_path / "nowhere.zip", "Unknown data set"
    with pytest.raises(DataError, match=match):
        load_dataset(str(path))


def test_links_in_a_folder_are_not_followed(tmp_path):
    secret = tmp_path / "outside.png"
    secret.write_bytes(png(1))
    folder = tmp_path / "up"
    folder.mkdir()
    (folder / "real.png").write_bytes(png(99))
    (folder / "link.png").symlink_to(secret)
    ds = load_dataset(str(folder))
    assert len(ds.train_x) == 1 and int(ds.train_x[0, 0, 0, 0]) == 99
    assert ds.skipped == {"link (not followed)": 1}


def test_special_files_are_never_read(tmp_path):
    """A named pipe called .png would block the reader forever; it is skipped."""
    folder = tmp_path / "odd"
    folder.mkdir()
    (folder / "real.png").write_bytes(png(42))
    os.mkfifo(folder / "pipe.png")
    t0 = time.perf_counter()
    ds = load_dataset(str(folder))
    assert time.perf_counter() - t0 < 10
    assert len(ds.train_x) == 1 and ds.skipped == {"not a regular file": 1}


def test_a_changed_folder_is_read_again(tmp_path):
    folder = tmp_path / "grows"
    folder.mkdir()
    for i in range(3):
        (folder / f"{i}.png").write_bytes(png(i))
    assert len(load_dataset(str(folder))) == 3
    (folder / "3.png").write_bytes(png(3))
    assert len(load_dataset(str(folder))) == 4  # not the cached 3


def mixed_folder(root):
    root.mkdir()
    save = lambda im, name: im.save(root / name)  # noqa: E731
    save(Image.fromarray(np.full((10, 10), 32768, np.uint16)), "a_16bit.png")  # mid-gray in 16 bits
    save(Image.new("1", (30, 30), 1), "b_1bit.png")
    save(Image.new("RGBA", (40, 20), (255, 0, 0, 0)), "c_transparent.png")
    save(Image.new("LA", (20, 20), (50, 255)), "d_gray_alpha.webp")
    save(Image.new("RGB", (20, 20), (10, 20, 30)), "e_rgb.bmp")
    save(Image.new("CMYK", (20, 20), (0, 0, 0, 0)), "f_cmyk.jpg")
    pal = Image.new("P", (20, 20))
    pal.putpalette([0, 0, 0, 255, 255, 255])
    save(pal, "g_palette.gif")
    save(Image.new("L", (300, 5), 100), "h_wide.png")
    save(Image.new("L", (5, 300), 110), "i_tall.png")
    save(Image.new("L", (1, 1), 200), "j_one_pixel.png")
    save(Image.new("RGB", (500, 400), (0, 255, 0)), "k_large.jpg")
    return {"a": 128, "b": 255, "c": 255, "d": 50, "e": 18, "f": 255, "g": 0, "h": 100, "i": 110,
            "j": 200, "k": 150}  # expected gray value at the centre


@pytest.mark.parametrize("size,channels", [(8, 1), (16, 3), (28, 1), (32, 3), (64, 1)])
def test_images_of_mixed_sizes_and_modes(tmp_path, size, channels):
    expected = mixed_folder(tmp_path / "mixed")
    ds = load_dataset(str(tmp_path / "mixed"), image_size=size, channels=channels)
    assert ds.shape == (channels, size, size) and len(ds) == len(expected) and ds.skipped == {}
    x = all_images(ds)
    centre = x[:, :, size // 2, size // 2].astype(int)
    if channels == 3:  # colour images keep their colour, gray ones have equal channels
        spread = centre.max(1) - centre.min(1)
        assert (spread > 5).sum() == 2  # e_rgb and k_large
        centre = centre @ np.array([0.299, 0.587, 0.114])
    else:
        centre = centre[:, 0]
    assert sorted(centre.tolist()) == pytest.approx(sorted(expected.values()), abs=3)


def test_nan_in_data_is_refused():
    x = np.random.default_rng(0).random((10, 1, 8, 8)).astype(np.float32)
    x[3, 0, 2, 2] = np.nan
    import torch
    good = torch.zeros(4, 1, 8, 8, dtype=torch.uint8)
    labels = torch.zeros(10, dtype=torch.int64)
    with pytest.raises(DataError, match="contain 1 NaN or infinite values"):
        ImageDataset("bad", torch.from_numpy(x), labels, good, labels[:4], ["a"], "test")
    with pytest.raises(DataError, match="must be uint8"):
        ImageDataset("bad", torch.from_numpy(np.nan_to_num(x)), labels, good, labels[:4], ["a"], "t")
    with pytest.raises(DataError, match="labels"):
        ImageDataset("bad", good, labels, good, labels[:4], ["a"], "test")


def _bomb(tmp_path, monkeypatch):
    monkeypatch.setenv("GENLAB_MAX_BYTES", str(1024**2))
    return make_zip(tmp_path / "bomb.zip", {f"x{i}.png": bytes(400 * 1024) for i in range(5)})


def test_the_cli_refuses_a_zip_bomb_in_one_line(tmp_path, monkeypatch, capsys):
    from genlab.cli.main import main
    rc = main(["train", "--dataset", str(_bomb(tmp_path, monkeypatch)), "--epochs", "1"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1
    assert err[0].startswith("error: The zip unpacks to 2 MB of images, over the 1 MB limit")


@pytest.mark.parametrize("what", ["bomb", "junk"])
def test_a_training_job_on_a_hostile_upload_fails_in_words(tmp_path, monkeypatch, what):
    from genlab.jobs import Job, JobSpec
    from genlab.models import ModelConfig
    from genlab.train import TrainConfig
    monkeypatch.setenv("GENLAB_MODELS", str(tmp_path / "models"))
    if what == "bomb":
        source, words = _bomb(tmp_path, monkeypatch), "(a zip bomb?); refused"
    else:
        source = make_zip(tmp_path / "junk.zip", not_images(tmp_path))
        words = "No readable image in junk.zip (3 not an image file, 4 unreadable)"
    job = Job(JobSpec(dataset=str(source), model=ModelConfig(kind="vae", arch="mlp"),
                      train=TrainConfig(epochs=1), name="mine"))
    job.run()
    snap = job.snapshot()
    assert snap.state == "failed" and words in snap.message
    assert "unexpectedly" not in snap.message
    assert not list((tmp_path / "models").glob("*.safetensors"))
