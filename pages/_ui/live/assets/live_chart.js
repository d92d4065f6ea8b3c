// A small canvas line chart that APPENDS rows (pages/_ui/live/chart.py). One chart object per
// component element, kept between refreshes; each call brings only the rows after the ones it
// has (data.base == what it has), or all of them (data.reset). If it missed some (a new tab, a
// re-mounted element), it asks the server for everything again with a "resync" trigger.
const PALETTE = ["#636efa", "#ef553b", "#00cc96", "#ab63fa", "#ffa15a", "#19d3f3", "#ff6692"];
const HIGH_CONTRAST = ["#000000", "#D55E00", "#0072B2", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"];
const MARK = "#d62728";

export default function ({ parentElement, data, setTriggerValue }) {
  let chart = parentElement.__genlabChart;
  if (!chart) chart = parentElement.__genlabChart = new LiveChart(parentElement);
  chart.update(data, () => setTriggerValue("resync", Date.now()));
}

class LiveChart {
  constructor(root) {
    this.wrap = document.createElement("div");
    this.wrap.className = "live-chart";
    this.wrap.dataset.born = `${Date.now()}-${Math.random()}`;  // stays while the DOM survives
    this.head = document.createElement("div");
    this.head.className = "title";
    this.canvas = document.createElement("canvas");
    this.legend = document.createElement("div");
    this.legend.className = "legend";
    this.wrap.append(this.head, this.canvas, this.legend);
    root.appendChild(this.wrap);
    this.stream = null;
    this.have = -1;
    this.cols = [];
    this.rows = [];
    this.points = [];
    this.marks = [];
    this.cfg = null;
    this.raf = 0;
    this.width = 0;
    new ResizeObserver(() => {
      if (this.wrap.clientWidth !== this.width) this.schedule();
    }).observe(this.wrap);
  }

  update(d, askAll) {
    if (d.reset) {
      this.stream = d.stream;
      this.rows = [];
    } else if (d.stream !== this.stream || (d.seq !== this.have && d.base !== this.have)) {
      askAll();  // rows are missing: never draw a curve with a gap
      return;
    }
    if (d.reset || d.seq !== this.have) {
      for (const r of d.rows) this.rows.push(r);
      this.have = d.seq;
    }
    this.cols = d.cols;
    if (d.points !== null) this.points = d.points;
    if (d.marks !== null) this.marks = d.marks;
    this.cfg = d;
    this.wrap.dataset.points = String(this.rows.length);  // for tests: what it holds
    const last = this.rows[this.rows.length - 1];
    this.wrap.dataset.lastX = last ? String(last[this.cols.indexOf(d.x_label)]) : "";
    this.wrap.classList.toggle("projector", !!d.projector);
    this.schedule();
  }

  schedule() {
    if (!this.raf) this.raf = requestAnimationFrame(() => { this.raf = 0; this.draw(); });
  }

  draw() {
    const d = this.cfg;
    if (!d) return;
    const colors = d.projector ? HIGH_CONTRAST : PALETTE;
    const series = d.panels.flat();
    const color = Object.fromEntries(series.map((s, i) => [s.key, colors[i % colors.length]]));
    this.head.textContent = d.title || "";
    this.head.style.display = d.title ? "" : "none";
    const legend = series.map((s) => `<span><i style="background:${color[s.key]}"></i>${esc(s.label)}</span>`);
    if (this.points.length) legend.push(`<span><i class="dot" style="background:#555"></i>test set (end of epoch)</span>`);
    const html = legend.join("");
    if (this.legend.innerHTML !== html) this.legend.innerHTML = html;
    const W = this.wrap.clientWidth || 600;
    this.width = W;
    const H = Math.max(120, d.height - this.head.offsetHeight - this.legend.offsetHeight - 8);
    const dpr = window.devicePixelRatio || 1;
    if (this.canvas.width !== Math.round(W * dpr) || this.canvas.height !== Math.round(H * dpr)) {
      this.canvas.width = Math.round(W * dpr);
      this.canvas.height = Math.round(H * dpr);
      this.canvas.style.height = `${H}px`;
    }
    const g = this.canvas.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, W, H);
    const font = d.projector ? 16 : 12;
    g.font = `${font}px "Source Sans Pro", sans-serif`;
    const n = d.panels.length;
    const gap = W * 0.04;
    const pw = (W - gap * (n - 1)) / n;
    const xi = this.cols.indexOf(d.x_label);
    d.panels.forEach((panel, p) => {
      const box = { x0: p * (pw + gap) + font * 4.2, x1: p * (pw + gap) + pw - 10, y0: 8, y1: H - font * 3 };
      this.panel(g, box, panel, xi, color, font, p === 0, d);
    });
  }

  panel(g, box, panel, xi, color, font, first, d) {
    const idx = panel.map((s) => this.cols.indexOf(s.key));
    let xlo = Infinity, xhi = -Infinity, ylo = Infinity, yhi = -Infinity;
    for (const r of this.rows) {
      const x = r[xi];
      if (x === null) continue;
      xlo = Math.min(xlo, x); xhi = Math.max(xhi, x);
      for (const i of idx) if (r[i] !== null) { ylo = Math.min(ylo, r[i]); yhi = Math.max(yhi, r[i]); }
    }
    for (const pt of this.points) {
      const x = pt[d.x_label];
      if (x === undefined || x === null) continue;
      for (const s of panel) {
        const v = pt[s.key];
        if (v !== undefined && v !== null) { xlo = Math.min(xlo, x); xhi = Math.max(xhi, x); ylo = Math.min(ylo, v); yhi = Math.max(yhi, v); }
      }
    }
    if (!isFinite(xlo)) return;
    if (xhi === xlo) xhi = xlo + 1;
    if (yhi === ylo) { yhi += Math.abs(yhi) * 0.1 || 1; ylo -= Math.abs(ylo) * 0.1 || 1; }
    const pad = (yhi - ylo) * 0.05;
    ylo -= pad; yhi += pad;
    const X = (v) => box.x0 + ((v - xlo) / (xhi - xlo)) * (box.x1 - box.x0);
    const Y = (v) => box.y1 - ((v - ylo) / (yhi - ylo)) * (box.y1 - box.y0);
    g.strokeStyle = "#e6e6e6"; g.lineWidth = 1; g.fillStyle = d.projector ? "#000" : "#555";
    g.textAlign = "right"; g.textBaseline = "middle";
    for (const t of ticks(ylo, yhi, 5)) {
      g.beginPath(); g.moveTo(box.x0, Y(t)); g.lineTo(box.x1, Y(t)); g.stroke();
      g.fillText(fmt(t), box.x0 - 4, Y(t));
    }
    g.textAlign = "center"; g.textBaseline = "top";
    for (const t of ticks(xlo, xhi, Math.max(2, Math.floor((box.x1 - box.x0) / 70)))) {
      g.beginPath(); g.moveTo(X(t), box.y0); g.lineTo(X(t), box.y1); g.stroke();
      g.fillText(fmt(t), X(t), box.y1 + 4);
    }
    g.fillText(d.x_label, (box.x0 + box.x1) / 2, box.y1 + font + 8);
    g.strokeStyle = "#999"; g.beginPath(); g.moveTo(box.x0, box.y0); g.lineTo(box.x0, box.y1); g.lineTo(box.x1, box.y1); g.stroke();
    g.save();
    g.beginPath(); g.rect(box.x0, box.y0 - 8, box.x1 - box.x0 + 8, box.y1 - box.y0 + 16); g.clip();
    g.lineWidth = d.projector ? 4 : 1.8; g.lineJoin = "round";
    panel.forEach((s, k) => {
      const i = idx[k];
      g.strokeStyle = color[s.key]; g.beginPath();
      let pen = false, drawn = 0;
      for (const r of this.rows) {
        if (r[xi] === null || r[i] === null) { pen = false; continue; }
        if (pen) g.lineTo(X(r[xi]), Y(r[i])); else { g.moveTo(X(r[xi]), Y(r[i])); pen = true; }
        drawn += 1;
      }
      g.stroke();
      if (drawn === 1) {  // the first report: a dot until there is a line
        const r = this.rows.find((q) => q[xi] !== null && q[i] !== null);
        g.fillStyle = color[s.key]; g.beginPath(); g.arc(X(r[xi]), Y(r[i]), 3, 0, 2 * Math.PI); g.fill();
      }
    });
    for (const pt of this.points) {  // test-set values: dots in the series' colour
      const x = pt[d.x_label];
      if (x === undefined || x === null) continue;
      for (const s of panel) {
        const v = pt[s.key];
        if (v === undefined || v === null) continue;
        g.fillStyle = color[s.key]; g.strokeStyle = "#fff"; g.lineWidth = 1.5;
        g.beginPath(); g.arc(X(x), Y(v), d.projector ? 6 : 4, 0, 2 * Math.PI); g.fill(); g.stroke();
      }
    }
    g.restore();
    g.setLineDash([2, 3]); g.strokeStyle = MARK; g.lineWidth = 1.5;
    g.fillStyle = MARK; g.textAlign = "left"; g.textBaseline = "top";
    for (const m of this.marks) {
      if (m.x === null || m.x < xlo || m.x > xhi) continue;
      g.beginPath(); g.moveTo(X(m.x), box.y0); g.lineTo(X(m.x), box.y1); g.stroke();
      if (first) g.fillText(m.label, X(m.x) + 3, box.y0);
    }
    g.setLineDash([]);
  }
}

function ticks(lo, hi, n) {
  const raw = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  const step = (f >= 7.5 ? 10 : f >= 3.5 ? 5 : f >= 1.5 ? 2 : 1) * mag;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toFixed(12)));
  return out;
}

function fmt(v) {
  const a = Math.abs(v);
  if (a === 0) return "0";
  if (a >= 1e5 || a < 1e-3) return v.toExponential(1);
  return String(Number(v.toPrecision(4)));
}

function esc(s) {
  return String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
}
