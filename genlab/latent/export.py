"""Export a model's decoder as a compact, self-describing spec that a browser can run: a list of
layers (Linear, ReLU, LeakyReLU, Sigmoid, Tanh, reshape, ConvTranspose2d with any BatchNorm2d
folded into it) and all weights in one base64 blob, plus the output mapping the model's
``decode`` applies (AE/VAE: sigmoid of the logits; GAN: (tanh + 1) / 2).

``run_spec`` is the reference implementation of the spec in NumPy: the page's JavaScript does the
same arithmetic, and ``decoder_spec`` uses it to check an export against ``model.decode``.
No UI imports here."""
from __future__ import annotations

import base64

import numpy as np
import torch
from torch import nn

from genlab.models import GAN, VAE, AutoEncoder, GenerativeModel, noise

FORMAT = "genlab-decoder/1"
MAX_VALUES = 4_000_000  # weights sent to a browser: 8 MB as float16 (about 11 MB of base64)
CHECK_SAMPLES = 16  # codes decoded both ways to check an export
F16_TOLERANCE = 0.4 / 255  # float16 weights are used only when the images stay this close


class DecoderExportError(ValueError):
    """The decoder cannot be exported for the browser; the message says why in plain words."""


def _layers(model: GenerativeModel) -> tuple[nn.Sequential, str]:
    """The decoder's module list and the output mapping its ``decode`` applies."""
    if getattr(getattr(model, "config", None), "num_classes", 0):
        raise DecoderExportError("This model is conditional (it takes a class as well as a code); "
                                 "the in-browser decoder does not support that yet, so the page "
                                 "decodes on the server.")
    if isinstance(model, (AutoEncoder, VAE)):
        return model.decoder, "sigmoid"
    if isinstance(model, GAN):
        return model.generator, "tanh01"
    raise DecoderExportError(f"Only GenLab's own AE, VAE and GAN decoders can run in the browser, "
                             f"not a {type(model).__name__}; the page decodes on the server.")


def _bn_fold(bn: nn.BatchNorm2d) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel (scale, shift) of a BatchNorm2d in eval mode (its running statistics)."""
    if bn.running_mean is None or bn.running_var is None:
        raise DecoderExportError("The decoder has a BatchNorm layer without running statistics, "
                                 "which cannot be folded for the browser.")
    scale = (bn.weight.detach().double() if bn.affine else torch.ones(bn.num_features, dtype=torch.float64))
    scale = scale / torch.sqrt(bn.running_var.double() + bn.eps)
    beta = bn.bias.detach().double() if bn.affine else torch.zeros(bn.num_features, dtype=torch.float64)
    return scale.numpy(), (beta - bn.running_mean.double() * scale).numpy()


def _describe(seq: nn.Sequential, latent_dim: int) -> tuple[list[dict], list[np.ndarray]]:
    """Walk the modules, tracking the shape; (layer list, weight arrays in float64)."""
    layers: list[dict] = []
    arrays: list[np.ndarray] = []
    shape: tuple[int, ...] = (latent_dim,)
    for m in seq:
        if isinstance(m, nn.Linear):
            if len(shape) != 1 or shape[0] != m.in_features:
                raise DecoderExportError("The decoder's Linear layer does not follow a flat vector "
                                         "of its input size, which the browser decoder cannot run.")
            layers.append({"op": "linear", "in": m.in_features, "out": m.out_features})
            bias = m.bias.detach() if m.bias is not None else torch.zeros(m.out_features)
            arrays += [m.weight.detach().double().numpy(), bias.double().numpy()]
            shape = (m.out_features,)
        elif isinstance(m, nn.Unflatten):
            if m.dim not in (1, -len(shape)) or int(np.prod(m.unflattened_size)) != shape[0]:
                raise DecoderExportError("The decoder reshapes its vector in a way the browser "
                                         "decoder cannot follow.")
            shape = tuple(int(s) for s in m.unflattened_size)
            layers.append({"op": "reshape", "shape": list(shape)})
        elif isinstance(m, nn.ConvTranspose2d):
            k, s, p = m.kernel_size, m.stride, m.padding
            ok = (len(shape) == 3 and shape[0] == m.in_channels and k[0] == k[1] and s[0] == s[1]
                  and p[0] == p[1] and m.groups == 1 and tuple(m.dilation) == (1, 1)
                  and tuple(m.output_padding) == (0, 0) and m.padding_mode == "zeros")
            if not ok:
                raise DecoderExportError("The decoder has a transposed convolution with settings "
                                         "(groups, dilation, output padding or an uneven kernel) "
                                         "the browser decoder cannot run.")
            oh, ow = ((n - 1) * s[0] - 2 * p[0] + k[0] for n in shape[1:])
            layers.append({"op": "conv_transpose", "cin": m.in_channels, "cout": m.out_channels,
                           "k": k[0], "stride": s[0], "pad": p[0], "in_hw": list(shape[1:]),
                           "out_hw": [oh, ow]})
            bias = m.bias.detach() if m.bias is not None else torch.zeros(m.out_channels)
            arrays += [m.weight.detach().double().numpy(), bias.double().numpy()]
            shape = (m.out_channels, oh, ow)
        elif isinstance(m, nn.BatchNorm2d):
            if not layers or layers[-1]["op"] != "conv_transpose" or m.num_features != shape[0]:
                raise DecoderExportError("The decoder has a BatchNorm layer that does not directly "
                                         "follow a transposed convolution, so it cannot be folded.")
            scale, shift = _bn_fold(m)
            arrays[-2] = arrays[-2] * scale[None, :, None, None]  # weight (Cin, Cout, k, k)
            arrays[-1] = arrays[-1] * scale + shift
        elif isinstance(m, (nn.ReLU, nn.Sigmoid, nn.Tanh)):
            layers.append({"op": {nn.ReLU: "relu", nn.Sigmoid: "sigmoid", nn.Tanh: "tanh"}[type(m)]})
        elif isinstance(m, nn.LeakyReLU):
            layers.append({"op": "leaky_relu", "slope": float(m.negative_slope)})
        elif isinstance(m, nn.Identity):
            continue
        else:
            raise DecoderExportError(f"The decoder has a {type(m).__name__} layer, which the "
                                     "in-browser decoder cannot run; the page decodes on the server.")
    return layers, arrays


def _pack(spec: dict, arrays: list[np.ndarray], dtype: str) -> dict:
    """Attach offsets (in values) to the weighted layers and the weights as one base64 blob."""
    off = 0
    it = iter(arrays)
    for layer in spec["layers"]:
        if layer["op"] in ("linear", "conv_transpose"):
            w, b = next(it), next(it)
            layer["w"], layer["b"] = off, off + w.size
            off += w.size + b.size
    flat = np.concatenate([a.ravel() for a in arrays]).astype("<f2" if dtype == "float16" else "<f4")
    return {**spec, "dtype": dtype, "n_values": int(flat.size),
            "weights": base64.b64encode(flat.tobytes()).decode("ascii")}


def decoder_spec(model: GenerativeModel, dtype: str = "auto") -> dict:
    """The decoder of ``model`` as a JSON-able dict for the browser (see the module docstring).

    ``dtype``: "float32", "float16", or "auto" (float16 when its images stay within
    ``F16_TOLERANCE`` of ``model.decode`` on a few prior samples, else float32). Raises
    ``DecoderExportError`` with a plain sentence for anything it cannot export."""
    if dtype not in ("auto", "float16", "float32"):
        raise ValueError(f"dtype must be 'auto', 'float16' or 'float32', not {dtype!r}")
    seq, output = _layers(model)
    n = sum(p.numel() for p in seq.parameters()) + sum(b.numel() for b in seq.buffers())
    if n > MAX_VALUES:
        raise DecoderExportError(f"This decoder has {n / 1e6:.1f} million weights, too many to send "
                                 f"to a browser (at most {MAX_VALUES / 1e6:.0f} million); the page "
                                 "decodes on the server.")
    c = model.config
    layers, arrays = _describe(seq, c.latent_dim)
    if _out_size(layers, c.latent_dim) != int(np.prod(c.image_shape)):
        raise DecoderExportError("The decoder's output does not have the size of the model's images.")
    layers += [{"op": "sigmoid"}] if output == "sigmoid" else [{"op": "affine", "scale": 0.5,
                                                               "shift": 0.5}]
    spec = {"format": FORMAT, "latent_dim": c.latent_dim, "channels": c.channels,
            "image_size": c.image_size, "layers": layers}
    if dtype != "auto":
        return _pack(spec, arrays, dtype)
    z = noise(CHECK_SAMPLES, c.latent_dim, 0)
    with torch.inference_mode():
        want = model.decode(z.to(model.device)).float().cpu().reshape(CHECK_SAMPLES, -1).numpy()
    half = _pack(spec, arrays, "float16")
    got = run_spec(half, z.numpy()).reshape(CHECK_SAMPLES, -1)
    return half if float(np.abs(got - want).max()) <= F16_TOLERANCE else _pack(spec, arrays, "float32")


def _out_size(layers: list[dict], latent_dim: int) -> int:
    size = latent_dim
    for layer in layers:
        if layer["op"] == "linear":
            size = layer["out"]
        elif layer["op"] == "conv_transpose":
            size = layer["cout"] * layer["out_hw"][0] * layer["out_hw"][1]
    return size


def spec_weights(spec: dict) -> np.ndarray:
    """The spec's weights as float32 values."""
    raw = base64.b64decode(spec["weights"])
    return np.frombuffer(raw, "<f2" if spec["dtype"] == "float16" else "<f4").astype(np.float32)


def run_spec(spec: dict, z: np.ndarray) -> np.ndarray:
    """Decode codes ``z`` (d,) or (N, d) with the spec, as the browser does: (N, C, H, W) in [0, 1]."""
    w = spec_weights(spec)
    x = np.asarray(z, np.float64).reshape(-1, spec["latent_dim"])
    n = len(x)
    for layer in spec["layers"]:
        op = layer["op"]
        if op == "linear":
            a, b = layer["w"], layer["b"]
            x = x @ w[a:b].reshape(layer["out"], layer["in"]).T + w[b:b + layer["out"]]
        elif op == "conv_transpose":
            ci, co, k, s, p = (layer[key] for key in ("cin", "cout", "k", "stride", "pad"))
            h, wd = layer["in_hw"]
            kern = w[layer["w"]:layer["b"]].reshape(ci, co, k, k)
            x = x.reshape(n, ci, h, wd)
            full = np.zeros((n, co, (h - 1) * s + k, (wd - 1) * s + k))
            for ky in range(k):
                for kx in range(k):
                    full[:, :, ky:ky + (h - 1) * s + 1:s, kx:kx + (wd - 1) * s + 1:s] += np.einsum(
                        "nchw,co->nohw", x, kern[:, :, ky, kx])
            oh, ow = layer["out_hw"]
            x = (full[:, :, p:p + oh, p:p + ow]
                 + w[layer["b"]:layer["b"] + co][None, :, None, None]).reshape(n, -1)
        elif op == "relu":
            x = np.maximum(x, 0)
        elif op == "leaky_relu":
            x = np.where(x > 0, x, x * layer["slope"])
        elif op == "sigmoid":
            x = 1 / (1 + np.exp(-x))
        elif op == "tanh":
            x = np.tanh(x)
        elif op == "affine":
            x = x * layer["scale"] + layer["shift"]
        # "reshape": the values stay in (C, H, W) order
    return x.reshape(n, spec["channels"], spec["image_size"], spec["image_size"]).astype(np.float32)
