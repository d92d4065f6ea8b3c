// GenLab in-browser decoder: runs the layer list of genlab.latent.export (format
// genlab-decoder/1) on the code the sliders set, once per animation frame. Plain JavaScript,
// no network. Exposes window.genlab {z(), draws, lastDrawAt, lastDecodeMs, reported} for tests
// and benches; tells the parent page where the sliders stand (postMessage) after each move.
(function () {
  "use strict";
  const spec = JSON.parse(document.getElementById("spec").textContent);
  const page = JSON.parse(document.getElementById("page").textContent);

  function half(h) {
    const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, f = h & 0x3ff;
    if (e === 0) return s * f * 5.960464477539063e-8; // subnormal: f * 2^-24
    if (e === 31) return f ? NaN : s * Infinity;
    return s * (1 + f / 1024) * Math.pow(2, e - 15);
  }

  function weights(b64) {
    const bin = atob(b64), bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    const dv = new DataView(bytes.buffer), n = spec.n_values, out = new Float32Array(n);
    if (spec.dtype === "float32") for (let i = 0; i < n; i++) out[i] = dv.getFloat32(4 * i, true);
    else for (let i = 0; i < n; i++) out[i] = half(dv.getUint16(2 * i, true));
    return out;
  }
  const W = weights(document.getElementById("weights").textContent.trim());

  // one output buffer per layer, allocated once
  const bufs = [];
  let size = spec.latent_dim;
  for (const L of spec.layers) {
    if (L.op === "linear") size = L.out;
    else if (L.op === "conv_transpose") size = L.cout * L.out_hw[0] * L.out_hw[1];
    bufs.push(new Float32Array(size));
  }

  function linear(L, x, y) {
    const I = L.in, O = L.out;
    for (let o = 0; o < O; o++) {
      let s = 0;
      const r = L.w + o * I;
      for (let i = 0; i < I; i++) s += W[r + i] * x[i];
      y[o] = s + W[L.b + o];
    }
  }

  // Transposed convolution, computed per output pixel ("gather"): the kernel is re-laid out once
  // as (cout, k, k, cin) and the input as (h, w, cin), so the inner loop runs over contiguous
  // input channels. out = (in - 1) * stride - 2 pad + k.
  const kernels = new Map();
  function kernel(L) {
    if (!kernels.has(L)) {
      const Ci = L.cin, Co = L.cout, K = L.k, t = new Float32Array(Ci * Co * K * K);
      for (let ci = 0; ci < Ci; ci++) for (let co = 0; co < Co; co++) for (let k = 0; k < K * K; k++)
        t[(co * K * K + k) * Ci + ci] = W[L.w + (ci * Co + co) * K * K + k];
      kernels.set(L, { t, xh: new Float32Array(Ci * L.in_hw[0] * L.in_hw[1]) });
    }
    return kernels.get(L);
  }

  function convTranspose(L, x, y) {
    const Ci = L.cin, Co = L.cout, K = L.k, S = L.stride, P = L.pad;
    const H = L.in_hw[0], Wd = L.in_hw[1], OH = L.out_hw[0], OW = L.out_hw[1];
    const { t, xh } = kernel(L);
    for (let ci = 0; ci < Ci; ci++) for (let p = 0; p < H * Wd; p++) xh[p * Ci + ci] = x[ci * H * Wd + p];
    for (let co = 0; co < Co; co++) {
      const bias = W[L.b + co];
      for (let oy = 0; oy < OH; oy++) {
        for (let ox = 0; ox < OW; ox++) {
          let s = bias;
          for (let ky = (oy + P) % S; ky < K; ky += S) {
            const iy = (oy + P - ky) / S;
            if (iy < 0 || iy >= H) continue;
            for (let kx = (ox + P) % S; kx < K; kx += S) {
              const ix = (ox + P - kx) / S;
              if (ix < 0 || ix >= Wd) continue;
              const wb = ((co * K + ky) * K + kx) * Ci, xb = (iy * Wd + ix) * Ci;
              for (let ci = 0; ci < Ci; ci++) s += t[wb + ci] * xh[xb + ci];
            }
          }
          y[(co * OH + oy) * OW + ox] = s;
        }
      }
    }
  }

  function decode(z) {
    let x = Float32Array.from(z);
    spec.layers.forEach((L, li) => {
      const y = bufs[li], n = y.length;
      switch (L.op) {
        case "linear": linear(L, x, y); break;
        case "conv_transpose": convTranspose(L, x, y); break;
        case "relu": for (let i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0; break;
        case "leaky_relu": for (let i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : x[i] * L.slope; break;
        case "sigmoid": for (let i = 0; i < n; i++) y[i] = 1 / (1 + Math.exp(-x[i])); break;
        case "tanh": for (let i = 0; i < n; i++) y[i] = Math.tanh(x[i]); break;
        case "affine": for (let i = 0; i < n; i++) y[i] = x[i] * L.scale + L.shift; break;
        case "reshape": y.set(x); break;
        default: throw new Error("unknown layer " + L.op);
      }
      x = y;
    });
    return x;
  }

  // --- sliders ---------------------------------------------------------------------------------
  const box = document.getElementById("sliders");
  const decimals = (step) => Math.max(0, Math.ceil(-Math.log10(step) - 1e-9));
  const sliders = page.sliders.map((s) => {
    const row = document.createElement("div"), top = document.createElement("div");
    const name = document.createElement("span"), val = document.createElement("span");
    const input = document.createElement("input");
    row.className = "row"; top.className = "top"; val.className = "val";
    name.textContent = s.label;
    Object.assign(input, { type: "range", min: s.min, max: s.max, step: s.step, value: s.value });
    input.setAttribute("aria-label", s.label);
    const item = { spec: s, input, exact: s.value, touched: false };
    const show = () => {
      const v = item.value();
      val.textContent = v.toFixed(decimals(s.step));
      input.style.setProperty("--fill", (100 * (v - s.min) / (s.max - s.min || 1)).toFixed(2) + "%");
    };
    item.value = () => (item.touched ? parseFloat(input.value) : item.exact);
    input.addEventListener("input", () => { item.touched = true; show(); schedule(); later(); });
    show();
    top.append(name, val); row.append(top, input); box.append(row);
    return item;
  });

  function code() {
    const z = page.base.slice();
    for (const it of sliders) {
      const s = it.spec, v = it.value();
      if (s.pc !== undefined && s.pc !== null) {
        const d = page.dirs[s.pc];
        for (let j = 0; j < z.length; j++) z[j] += v * d[j];
      }
    }
    for (const it of sliders) if (it.spec.dim !== undefined && it.spec.dim !== null) z[it.spec.dim] = it.value();
    return z;
  }

  // --- drawing ---------------------------------------------------------------------------------
  const S = spec.image_size, C = spec.channels, canvas = document.getElementById("img");
  canvas.width = S; canvas.height = S;
  canvas.style.width = canvas.style.height = S * page.scale + "px";
  const ctx = canvas.getContext("2d"), img = ctx.createImageData(S, S), px = img.data;
  const cap = document.getElementById("cap"), norm = document.getElementById("norm");
  const api = (window.genlab = { z: code, draws: 0, lastDrawAt: 0, lastDecodeMs: 0 });
  const q = (v) => Math.round(Math.min(1, Math.max(0, v)) * 255);

  function draw() {
    pending = false;
    const t0 = performance.now(), z = code(), out = decode(z), n = S * S;
    for (let p = 0; p < n; p++) {
      if (C === 1) px[4 * p] = px[4 * p + 1] = px[4 * p + 2] = q(out[p]);
      else for (let c = 0; c < 3; c++) px[4 * p + c] = q(out[c * n + p]);
      px[4 * p + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
    api.lastDrawAt = performance.now();
    api.lastDecodeMs = api.lastDrawAt - t0;
    api.draws += 1;
    canvas.dataset.draws = String(api.draws);
    if (api.draws > 1) // the first decode also compiles the code: not a fair time to show
      cap.textContent = "Decoded in your browser (" + api.lastDecodeMs.toFixed(1) + " ms)";
    if (page.show_norm) {
      const l2 = Math.sqrt(z.reduce((a, v) => a + v * v, 0));
      norm.textContent = "Code norm " + l2.toFixed(2) + " (a typical prior sample: " + Math.sqrt(z.length).toFixed(1) + ")";
    }
  }

  let pending = false;
  function schedule() { // coalesce input events: at most one decode per frame
    if (!pending) { pending = true; requestAnimationFrame(draw); }
  }

  // Where the sliders stand goes back to the page 300 ms after the last move (the explorer's
  // bridge component passes it to the server, whose code, sliders and tools then follow).
  let timer = null;
  function later() { clearTimeout(timer); timer = setTimeout(report, 300); }
  function report() {
    api.reported = sliders.map((it) => it.value());
    window.parent.postMessage({ genlab: "fast_sliders", id: page.id, values: api.reported }, "*");
  }
  draw();
})();
