// A 2-D point cloud coloured by class (pages/_ui/live/scatter.py), kept between refreshes: the
// server sends the points only when they change; a new element without them asks ("resync").
const PALETTE = ["#636efa", "#ef553b", "#00cc96", "#ab63fa", "#ffa15a", "#19d3f3", "#ff6692",
                 "#b6e880", "#ff97ff", "#fecb52"];

export default function ({ parentElement, data, setTriggerValue }) {
  let s = parentElement.__genlabScatter;
  if (!s) {
    const wrap = document.createElement("div");
    wrap.className = "live-chart live-scatter";
    wrap.dataset.born = `${Date.now()}-${Math.random()}`;
    const head = document.createElement("div");
    head.className = "title";
    const canvas = document.createElement("canvas");
    const legend = document.createElement("div");
    legend.className = "legend";
    wrap.append(head, canvas, legend);
    parentElement.appendChild(wrap);
    s = parentElement.__genlabScatter = { wrap, head, canvas, legend, version: null, d: null };
    new ResizeObserver(() => draw(s)).observe(wrap);
  }
  if (data.xy) {
    s.d = data;
    s.version = data.version;
  } else if (data.version !== s.version) {
    setTriggerValue("resync", Date.now());
    return;
  }
  s.head.textContent = data.title || "";
  s.wrap.classList.toggle("projector", !!data.projector);
  s.height = data.height;
  s.wrap.dataset.version = s.version;
  draw(s);
}

function draw(s) {
  const d = s.d;
  if (!d) return;
  const order = [...new Set(d.labels)].sort((a, b) => a - b);
  const color = (c) => PALETTE[((c % PALETTE.length) + PALETTE.length) % PALETTE.length];
  const name = (c) => d.classes[c] ?? String(c);
  const html = order.map((c) => `<span><i class="dot" style="background:${color(c)}"></i>${name(c)}</span>`).join("");
  if (s.legend.innerHTML !== html) s.legend.innerHTML = html;
  const W = s.wrap.clientWidth || 600;
  const H = Math.max(120, s.height - s.head.offsetHeight - s.legend.offsetHeight - 8);
  const dpr = window.devicePixelRatio || 1;
  s.canvas.width = Math.round(W * dpr);
  s.canvas.height = Math.round(H * dpr);
  s.canvas.style.height = `${H}px`;
  const g = s.canvas.getContext("2d");
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, W, H);
  let xlo = Infinity, xhi = -Infinity, ylo = Infinity, yhi = -Infinity;
  for (const [x, y] of d.xy) { xlo = Math.min(xlo, x); xhi = Math.max(xhi, x); ylo = Math.min(ylo, y); yhi = Math.max(yhi, y); }
  if (!isFinite(xlo)) return;
  const px = (xhi - xlo) * 0.05 || 1, py = (yhi - ylo) * 0.05 || 1;
  xlo -= px; xhi += px; ylo -= py; yhi += py;
  const box = { x0: 8, x1: W - 8, y0: 6, y1: H - 6 };
  const X = (v) => box.x0 + ((v - xlo) / (xhi - xlo)) * (box.x1 - box.x0);
  const Y = (v) => box.y1 - ((v - ylo) / (yhi - ylo)) * (box.y1 - box.y0);
  g.strokeStyle = "#e6e6e6";
  g.strokeRect(box.x0, box.y0, box.x1 - box.x0, box.y1 - box.y0);
  g.globalAlpha = 0.8;
  const r = d.projector ? 3.5 : 2.5;
  d.xy.forEach(([x, y], i) => {
    g.fillStyle = color(d.labels[i]);
    g.beginPath(); g.arc(X(x), Y(y), r, 0, 2 * Math.PI); g.fill();
  });
  g.globalAlpha = 1;
}
