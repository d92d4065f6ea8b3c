// An image kept between refreshes (pages/_ui/live/image.py): the server sends its bytes only
// when they change; the browser swaps the <img> source then, and asks for the image again
// (a "resync" trigger) if it was mounted afresh and has none.
export default function ({ parentElement, data, setTriggerValue }) {
  let s = parentElement.__genlabImage;
  if (!s) {
    const fig = document.createElement("figure");
    fig.className = "live-image";
    fig.dataset.born = `${Date.now()}-${Math.random()}`;
    fig.dataset.changes = "0";
    const img = document.createElement("img");
    img.alt = "";
    const cap = document.createElement("figcaption");
    fig.append(img, cap);
    parentElement.appendChild(fig);
    s = parentElement.__genlabImage = { fig, img, cap, id: null };
  }
  s.cap.textContent = data.caption || "";
  s.img.style.width = data.width ? `${data.width}px` : "100%";
  if (data.id === null || data.id === s.id) return;
  if (!data.src) {  // this element is new and the server thinks it has the image: ask again
    setTriggerValue("resync", Date.now());
    return;
  }
  s.img.src = data.src;
  s.id = data.id;
  s.fig.dataset.id = data.id;
  s.fig.dataset.changes = String(Number(s.fig.dataset.changes) + 1);
}
