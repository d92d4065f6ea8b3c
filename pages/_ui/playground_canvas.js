// GenLab 2-D playground canvas (st.components.v2). Receives a batch of packed frames about once a
// second (pages/_ui/frames.py: raw bytes, a Uint8Array) and plays them with requestAnimationFrame
// at the rate they were made; draws only when a frame or a control changed. A frame is
// genlab.playground.pack's: u32 header length, JSON header, float32 / uint8 arrays.
// Clicks on the plane in draw mode add points and send them back (state "drawn").
// Exposes window.genlabPlayground[key] = {received, shown, batches, meta, arrays} for tests.
const GREEN = "#1b9e77", PURPLE = "#7b3fbf", ORANGE = "#e6811a", GRAY = "rgba(60,60,60,0.55)";
const SEL = ["#e41a1c", "#377eb8", "#4daf4a", "#984ea3", "#ff7f00", "#a65628", "#f781bf",
  "#999999", "#66c2a5", "#fc8d62", "#8da0cb", "#e78ac3"];

function u32(u8, at) { return new DataView(u8.buffer, u8.byteOffset + at, 4).getUint32(0, true); }

function unbatch(u8) {
  if (!u8 || u8.length < 16 || String.fromCharCode(u8[0], u8[1], u8[2], u8[3]) !== "GLFB") return null;
  const id = u32(u8, 4), n = u32(u8, 8);
  const extra = JSON.parse(new TextDecoder().decode(u8.subarray(12, 12 + n)) || "{}");
  let at = 12 + n;
  const count = u32(u8, at), frames = [];
  at += 4;
  for (let i = 0; i < count; i++) {
    const len = u32(u8, at);
    frames.push(u8.slice(at + 4, at + 4 + len)); // a copy: its own, aligned ArrayBuffer
    at += 4 + len + ((4 - (len % 4)) % 4);
  }
  return { id, extra, frames };
}

function unpack(u8) {
  const n = u32(u8, 0), head = JSON.parse(new TextDecoder().decode(u8.subarray(4, 4 + n)));
  const base = 4 + n, arrays = {};
  for (const s of head.arrays) {
    const count = s.shape.reduce((a, b) => a * b, 1);
    arrays[s.name] = s.dtype === "f4" ? new Float32Array(u8.buffer, base + s.offset, count)
      : new Uint8Array(u8.buffer, base + s.offset, count);
    arrays[s.name].shape = s.shape;
  }
  return { meta: head.meta, arrays };
}

function setup(root, key, setStateValue) {
  const box = root.querySelector(".pg");
  box.innerHTML = `<div class="status"></div><div class="row"><div><canvas class="plane" width="370" height="370"></canvas>
    <div class="time"><label>sampler time <input type="range" class="t" min="0" max="1000" value="1000"></label>
    <span class="tv"></span></div></div>
    <div><canvas class="latent" width="230" height="230"></canvas>
    <canvas class="curve" width="230" height="150"></canvas></div></div>`;
  const st = { key, box, queue: [], lastBatch: -1, shown: 0, received: 0, batches: 0, frame: null,
    dirty: true, nextAt: 0, interval: 100, lastArrival: 0, curve: [], drawn: [], extra: {},
    setStateValue, slider: box.querySelector(".t") };
  st.slider.addEventListener("input", () => { st.dirty = true; });
  const plane = box.querySelector(".plane");
  plane.addEventListener("click", (e) => {
    if (!st.extra.draw) return;
    const r = plane.getBoundingClientRect(), E = st.extra.extent || 4;
    const x = ((e.clientX - r.left) / r.width * 2 - 1) * E, y = (1 - (e.clientY - r.top) / r.height * 2) * E;
    st.drawn.push([+x.toFixed(3), +y.toFixed(3)]);
    st.dirty = true;
    st.setStateValue("drawn", st.drawn.slice());
  });
  window.genlabPlayground = window.genlabPlayground || {};
  window.genlabPlayground[key] = st;
  const loop = (now) => {
    if (!box.isConnected) return;
    if (st.queue.length && now >= st.nextAt) {
      // keep about one batch of latency: skip ahead when more than two batches wait
      while (st.queue.length > Math.max(4, 2 * st.perBatch)) st.queue.shift();
      st.frame = unpack(st.queue.shift());
      st.shown++;
      const m = st.frame.meta;
      if (m.run !== st.run) { st.run = m.run; st.curve = []; }
      if (m.js !== undefined && m.js !== null) st.curve.push([m.total, m.js, m.floor]);
      // due times advance by the interval (not from the animation frame that showed it: that
      // drifts by up to a display frame each time, 9 frames a second shown of 10 sent)
      st.nextAt = now - st.nextAt < st.interval ? st.nextAt + st.interval : now + st.interval;
      st.dirty = true;
    }
    if (st.dirty) { st.dirty = false; draw(st); }
    requestAnimationFrame(loop);
  };
  requestAnimationFrame(loop);
  return st;
}

function toPx(E, W) { return [(x) => (x + E) / (2 * E) * W, (y) => (E - y) / (2 * E) * W]; }

function dots(ctx, pts, sx, sy, color, r) {
  ctx.fillStyle = color;
  for (let i = 0; i < pts.length; i += 2) { ctx.beginPath(); ctx.arc(sx(pts[i]), sy(pts[i + 1]), r, 0, 6.2832); ctx.fill(); }
}

function gridLines(ctx, w, shape, sx, sy, color) {
  const [rows, cols] = shape;
  ctx.strokeStyle = color; ctx.lineWidth = 1;
  for (let r = 0; r < rows; r++) { ctx.beginPath(); for (let c = 0; c < cols; c++) { const i = 2 * (r * cols + c); c ? ctx.lineTo(sx(w[i]), sy(w[i + 1])) : ctx.moveTo(sx(w[i]), sy(w[i + 1])); } ctx.stroke(); }
  if (rows < 2) return;
  for (let c = 0; c < cols; c++) { ctx.beginPath(); for (let r = 0; r < rows; r++) { const i = 2 * (r * cols + c); r ? ctx.lineTo(sx(w[i]), sy(w[i + 1])) : ctx.moveTo(sx(w[i]), sy(w[i + 1])); } ctx.stroke(); }
}

function arrows(ctx, from, vec, sx, sy, scale, color) {
  ctx.strokeStyle = color; ctx.lineWidth = 1.2;
  for (let i = 0; i < from.length; i += 2) {
    const x0 = sx(from[i]), y0 = sy(from[i + 1]), x1 = sx(from[i] + scale * vec[i]), y1 = sy(from[i + 1] + scale * vec[i + 1]);
    const a = Math.atan2(y1 - y0, x1 - x0), h = Math.min(5, Math.hypot(x1 - x0, y1 - y0) / 2);
    ctx.beginPath(); ctx.moveTo(x0, y0); ctx.lineTo(x1, y1);
    ctx.lineTo(x1 - h * Math.cos(a - 0.5), y1 - h * Math.sin(a - 0.5)); ctx.moveTo(x1, y1);
    ctx.lineTo(x1 - h * Math.cos(a + 0.5), y1 - h * Math.sin(a + 0.5)); ctx.stroke();
  }
}

function maxNorm(v) { let m = 1e-12; for (let i = 0; i < v.length; i += 2) m = Math.max(m, Math.hypot(v[i], v[i + 1])); return m; }

function heatmap(ctx, heat, n, W) {
  const img = ctx.createImageData(n, n);
  for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) {
    const v = heat[r * n + c] / 255, o = 4 * ((n - 1 - r) * n + c); // row 0 is y = -E: bottom
    img.data[o] = 255 * (1 - v * 0.55) * (v > 0.5 ? 0.85 : 1); img.data[o + 1] = 255 - 90 * Math.abs(v - 0.5) * (v < 0.5 ? 1.6 : 0.2);
    img.data[o + 2] = v < 0.5 ? 255 - 40 * (0.5 - v) : 255 - 200 * (v - 0.5); img.data[o + 3] = 255;
  }
  const off = new OffscreenCanvas(n, n);
  off.getContext("2d").putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(off, 0, 0, W, W);
}

function draw(st) {
  const plane = st.box.querySelector(".plane"), ctx = plane.getContext("2d"), W = plane.width;
  const E = st.extra.extent || 4, [sx, sy] = toPx(E, W);
  ctx.clearRect(0, 0, W, W); ctx.fillStyle = "#fafafa"; ctx.fillRect(0, 0, W, W);
  const f = st.frame, fam = f ? f.meta.family : st.extra.family;
  st.box.querySelector(".time").style.display = fam === "flow" || fam === "ddpm" ? "" : "none";
  st.box.querySelector(".latent").style.display = fam === "vae" ? "" : "none";
  if (f) {
    const a = f.arrays, m = f.meta;
    if (fam === "gan") {
      heatmap(ctx, a.heat, m.heat, W);
      gridLines(ctx, a.warp, m.warp_shape, sx, sy, "rgba(80,80,80,0.6)");
      dots(ctx, a.real, sx, sy, GREEN, 2); dots(ctx, a.fake, sx, sy, PURPLE, 2);
      arrows(ctx, a.fake, a.grad, sx, sy, 0.4 / maxNorm(a.grad), "rgba(123,63,191,0.7)");
    } else if (fam === "vae") {
      dots(ctx, a.real, sx, sy, "rgba(27,158,119,0.5)", 2); dots(ctx, a.fake, sx, sy, PURPLE, 2);
      gridLines(ctx, a.warp, m.warp_shape, sx, sy, ORANGE);
      for (let i = 0; i < a.sel.length / 2; i++) dots(ctx, a.sel.subarray(2 * i, 2 * i + 2), sx, sy, SEL[i % 12], 5);
      drawLatent(st, a, m);
    } else {
      const k = Math.round(st.slider.value / 1000 * m.steps), P = a.traj.shape[1];
      st.box.querySelector(".tv").textContent = `step ${k} of ${m.steps}`;
      const fi = m.field_steps.reduce((b, s, i) => Math.abs(s - k) < Math.abs(m.field_steps[b] - k) ? i : b, 0);
      const F = a.field.subarray(fi * a.field.shape[1] * 2, (fi + 1) * a.field.shape[1] * 2);
      const n = m.field, c = new Float32Array(2 * n * n);
      for (let r = 0; r < n; r++) for (let q = 0; q < n; q++) { c[2 * (r * n + q)] = -E + (q + 0.5) * 2 * E / n; c[2 * (r * n + q) + 1] = -E + (r + 0.5) * 2 * E / n; }
      arrows(ctx, c, F, sx, sy, 0.45 / maxNorm(F), GRAY);
      dots(ctx, a.real, sx, sy, "rgba(27,158,119,0.35)", 2);
      ctx.strokeStyle = "rgba(123,63,191,0.25)"; ctx.lineWidth = 1;
      for (let p = 0; p < P; p++) { ctx.beginPath(); for (let s = 0; s <= k; s++) { const o = 2 * (s * P + p); s ? ctx.lineTo(sx(a.traj[o]), sy(a.traj[o + 1])) : ctx.moveTo(sx(a.traj[o]), sy(a.traj[o + 1])); } ctx.stroke(); }
      dots(ctx, a.traj.subarray(2 * k * P, 2 * (k + 1) * P), sx, sy, PURPLE, 2.2);
    }
  }
  dots(ctx, st.drawn.flat(), sx, sy, "#d62728", 3);
  ctx.strokeStyle = "#bbb"; ctx.strokeRect(0.5, 0.5, W - 1, W - 1);
  drawCurve(st);
  const m = f ? f.meta : null, c = m ? m.counts : {};
  st.box.querySelector(".status").textContent = !m ? "waiting for the trainer…" :
    (m.family === "gan" ? `D steps ${c.d} · G steps ${c.g}` : `steps ${c.model}`) +
    ` · iterations ${m.iterations}` + (st.curve.length ? ` · JS ${st.curve[st.curve.length - 1][1].toFixed(3)} bit (floor ${m.floor.toFixed(3)})` : "");
}

function drawLatent(st, a, m) {
  const cv = st.box.querySelector(".latent"), ctx = cv.getContext("2d"), W = cv.width, E = 3.5, [sx, sy] = toPx(E, W);
  ctx.clearRect(0, 0, W, W); ctx.fillStyle = "#fafafa"; ctx.fillRect(0, 0, W, W);
  ctx.strokeStyle = "#888"; ctx.setLineDash([4, 3]);
  for (const r of [1, 2]) { ctx.beginPath(); m.latent === 1 ? ctx.rect(sx(-r), sy(0.08), sx(r) - sx(-r), sy(-0.08) - sy(0.08)) : ctx.ellipse(sx(0), sy(0), sx(r) - sx(0), sx(r) - sx(0), 0, 0, 6.2832); ctx.stroke(); }
  ctx.setLineDash([]);
  dots(ctx, a.lgrid, sx, sy, "rgba(230,129,26,0.5)", 1.5); dots(ctx, a.codes, sx, sy, "rgba(27,158,119,0.45)", 2);
  for (let i = 0; i < a.mu.length / 2; i++) {
    const rx = Math.max(1, 2 * a.sd[2 * i] * W / (2 * E)), ry = Math.max(1, 2 * a.sd[2 * i + 1] * W / (2 * E));
    ctx.strokeStyle = SEL[i % 12]; ctx.lineWidth = 1.5; ctx.beginPath();
    ctx.ellipse(sx(a.mu[2 * i]), sy(a.mu[2 * i + 1]), rx, m.latent === 1 ? 6 : ry, 0, 0, 6.2832); ctx.stroke();
  }
  ctx.fillStyle = "#555"; ctx.font = "12px sans-serif"; ctx.fillText("latent: 2σ posteriors; prior dashed", 6, 14);
  ctx.strokeStyle = "#bbb"; ctx.strokeRect(0.5, 0.5, W - 1, W - 1);
}

function drawCurve(st) {
  const cv = st.box.querySelector(".curve"), ctx = cv.getContext("2d"), W = cv.width, H = cv.height;
  ctx.clearRect(0, 0, W, H); ctx.fillStyle = "#555"; ctx.font = "12px sans-serif";
  ctx.fillText("JS divergence (bits); dashed: floor", 4, 12);
  const c = st.curve; if (!c.length) return;
  const x1 = Math.max(1, c[c.length - 1][0]), sx = (s) => 30 + (W - 36) * s / x1, sy = (v) => H - 16 - (H - 34) * v;
  ctx.strokeStyle = "#ccc"; ctx.beginPath(); ctx.moveTo(30, sy(0)); ctx.lineTo(W, sy(0)); ctx.moveTo(30, sy(1)); ctx.lineTo(30, sy(0)); ctx.stroke();
  ctx.fillText("1", 18, sy(1) + 4); ctx.fillText("0", 18, sy(0) + 4); ctx.fillText(`${x1} steps`, W - 70, H - 2);
  ctx.strokeStyle = "#888"; ctx.setLineDash([4, 3]); ctx.beginPath(); ctx.moveTo(30, sy(c[c.length - 1][2])); ctx.lineTo(W, sy(c[c.length - 1][2])); ctx.stroke(); ctx.setLineDash([]);
  ctx.strokeStyle = PURPLE; ctx.lineWidth = 1.5; ctx.beginPath();
  c.forEach(([s, v], i) => i ? ctx.lineTo(sx(s), sy(v)) : ctx.moveTo(sx(s), sy(v))); ctx.stroke();
}

export default function (component) {
  const { data, parentElement, key, setStateValue } = component;
  let st = parentElement.__pg;
  if (!st) { // a new element (Streamlit remounted it): carry on from the last one's state
    const last = (window.genlabPlayground || {})[key];
    st = parentElement.__pg = setup(parentElement, key, setStateValue);
    if (last) for (const k of ["queue", "lastBatch", "shown", "received", "batches", "frame", "curve",
      "run", "perBatch", "interval", "lastArrival", "drawn", "drawnVersion"]) st[k] = last[k];
  }
  st.setStateValue = setStateValue;
  const b = unbatch(data);
  if (!b) return;
  st.extra = b.extra;
  if (b.extra.drawn_version !== st.drawnVersion) { st.drawnVersion = b.extra.drawn_version; st.drawn = b.extra.drawn || []; }
  st.dirty = true;
  if (b.id === st.lastBatch || !b.frames.length) return;
  const now = performance.now();
  st.lastBatch = b.id; st.batches++; st.received += b.frames.length; st.perBatch = b.frames.length;
  if (st.lastArrival) st.interval = Math.min(500, Math.max(16, (now - st.lastArrival) / b.frames.length));
  st.lastArrival = now;
  st.queue.push(...b.frames);
}
