"""Speed and quality of genlab's trainer against pytorch/examples ``vae/main.py``, in one process.

Three runs of the same model (784-400-20 MLP VAE, BCE summed + KL, Adam 1e-3, batch 128, seed 1)
on Fashion-MNIST:
  (a) reference: the loop of vae/main.py (torchvision dataset + ToTensor, DataLoader, .item() per step)
  (b) genlab:    genlab.train.fit (device-resident uint8 data, no per-step host sync)
  (c) floor:     the same model's optimizer steps on one fixed batch, no data handling at all
Prints images/s of each, the ratio genlab/reference, floor/reference and the test loss of (a), (b).

    python bench/bench_vae.py --epochs 10          # CPU (~3 min on 2 cores)
    python bench/bench_vae.py --epochs 10 --device cuda
"""
from __future__ import annotations

import argparse
import gzip
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from pytorch_examples_vae import VAE as RefVAE  # noqa: E402
from pytorch_examples_vae import loss_function  # noqa: E402

from genlab.data import load_dataset  # noqa: E402
from genlab.models import ModelConfig, build_model  # noqa: E402
from genlab.train import TrainConfig, describe_device, evaluate, fit, select_device  # noqa: E402


def torchvision_root() -> str:
    """A torchvision FashionMNIST folder: the cached one, or one made from Debian's IDX files."""
    from genlab.data.builtin import DEBIAN_FASHION, _tv_root
    if (_tv_root() / "FashionMNIST" / "raw" / "t10k-labels-idx1-ubyte").exists():
        return str(_tv_root())
    root = Path(tempfile.mkdtemp(prefix="genlab-bench-"))
    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    src = Path(os.environ.get("GENLAB_FASHION_DIR", DEBIAN_FASHION))
    for gz in src.glob("*-ubyte.gz"):
        with gzip.open(gz) as fin, open(raw / gz.stem, "wb") as fout:
            shutil.copyfileobj(fin, fout)
    return str(root)


def reference(epochs: int, seed: int, device: torch.device) -> tuple[float, float, float]:
    """vae/main.py's train() and test() loops; returns (train seconds, images/s, test loss)."""
    from torchvision import datasets, transforms
    torch.manual_seed(seed)
    kwargs = {"num_workers": 1, "pin_memory": True} if device.type == "cuda" else {}
    root = torchvision_root()
    train_loader = torch.utils.data.DataLoader(
        datasets.FashionMNIST(root, train=True, download=False, transform=transforms.ToTensor()),
        batch_size=128, shuffle=True, **kwargs)
    test_loader = torch.utils.data.DataLoader(
        datasets.FashionMNIST(root, train=False, transform=transforms.ToTensor()),
        batch_size=128, shuffle=False, **kwargs)
    model = RefVAE().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    seconds = 0.0
    for _epoch in range(epochs):
        t0 = time.perf_counter()
        model.train()
        train_loss = 0
        for data, _ in train_loader:
            data = data.to(device)
            optimizer.zero_grad()
            recon_batch, mu, logvar = model(data)
            loss = loss_function(recon_batch, data, mu, logvar)
            loss.backward()
            train_loss += loss.item()
            optimizer.step()
        seconds += time.perf_counter() - t0
    model.eval()
    test_loss = 0
    with torch.no_grad():
        for data, _ in test_loader:
            data = data.to(device)
            recon_batch, mu, logvar = model(data)
            test_loss += loss_function(recon_batch, data, mu, logvar).item()
    test_loss /= len(test_loader.dataset)
    return seconds, epochs * len(train_loader.dataset) / seconds, test_loss


def genlab_run(epochs: int, seed: int, device: torch.device) -> tuple[float, float, float]:
    data = load_dataset("fashion-mnist")
    cfg = ModelConfig(kind="vae", arch="mlp", hidden=(400,), latent_dim=20)
    model = build_model(cfg, seed=seed)
    result = fit(model, data, TrainConfig(epochs=epochs, batch_size=128, lr=1e-3, seed=seed,
                                          device=str(device), test_every_epoch=False))
    # fit's clock covers training only (no per-epoch test pass here), as the reference's does
    test = evaluate(model, data.test_x.to(device))["total"]
    return result.seconds, result.images_per_s, test


def floor(steps: int, seed: int, device: torch.device) -> float:
    """Optimizer steps of the same model on one fixed batch: the speed limit of this model."""
    torch.manual_seed(seed)
    model = RefVAE().to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.rand(128, 1, 28, 28, device=device).round()
    for i in range(steps + 20):
        if i == 20:  # warm-up excluded
            if device.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
        opt.zero_grad()
        recon, mu, logvar = model(x)
        loss_function(recon, x, mu, logvar).backward()
        opt.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps * 128 / (time.perf_counter() - t0)


def same_init(seed: int) -> bool:
    torch.manual_seed(seed)
    ref = RefVAE()
    ours = build_model(ModelConfig(kind="vae", arch="mlp", hidden=(400,), latent_dim=20), seed=seed)
    a, b = list(ref.parameters()), list(ours.parameters())
    return len(a) == len(b) and all(torch.equal(p, q) for p, q in zip(a, b))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--device", default="auto")
    args = ap.parse_args()
    dev = select_device(args.device)
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cpus, "
          f"device {describe_device(dev)}, torch {torch.__version__}")
    print(f"identical initial weights (genlab vs vae/main.py, seed {args.seed}): {same_init(args.seed)}")
    r_s, r_ips, r_test = reference(args.epochs, args.seed, dev)
    print(f"reference  {r_ips:10,.0f} img/s  {r_s:7.1f} s  test loss {r_test:.3f}")
    g_s, g_ips, g_test = genlab_run(args.epochs, args.seed, dev)
    print(f"genlab     {g_ips:10,.0f} img/s  {g_s:7.1f} s  test loss {g_test:.3f}")
    f_ips = floor(469, args.seed, dev)
    print(f"floor      {f_ips:10,.0f} img/s  (optimizer steps on one fixed batch)")
    print(f"ratio genlab/reference {g_ips / r_ips:.2f}x   floor/reference {f_ips / r_ips:.2f}x   "
          f"genlab/floor {g_ips / f_ips:.2f}")
    print(f"test loss genlab vs reference: {100 * (g_test - r_test) / r_test:+.2f}% "
          f"({args.epochs} epochs, seed {args.seed})")


if __name__ == "__main__":
    main()
