// The refresh timer of a fragment (pages/_ui/live/ticker.py). Called again with new data after
// every rerun; it keeps ONE timer per component, fires only while the tab is visible, and
// re-arms itself if a rerun's data never comes (so a lost rerun cannot stop the live view).
export default function ({ parentElement, data, setTriggerValue }) {
  let s = parentElement.__genlabTick;
  if (!s) s = parentElement.__genlabTick = { timer: 0, onVis: null, n: -1, last: performance.now() };
  if (data.n === s.n) return () => stop(s);  // the same rerun's data again
  s.n = data.n;
  stop(s);
  const fire = () => {
    if (document.visibilityState !== "visible") {  // hidden: ask for nothing until shown
      s.onVis = () => {
        if (document.visibilityState !== "visible") return;
        document.removeEventListener("visibilitychange", s.onVis);
        s.onVis = null;
        fire();
      };
      document.addEventListener("visibilitychange", s.onVis);
      return;
    }
    window.__genlabTicks = (window.__genlabTicks || 0) + 1;
    s.last = performance.now();
    setTriggerValue("tick", data.n);
    s.timer = setTimeout(fire, Math.max(3 * data.ms, 5000));  // if this rerun is lost
  };
  // every data.ms from the last request, not from this rerun's end: once a second is once a second
  s.timer = setTimeout(fire, Math.max(50, s.last + data.ms - performance.now()));
  return () => stop(s);
}

function stop(s) {
  clearTimeout(s.timer);
  if (s.onVis) document.removeEventListener("visibilitychange", s.onVis);
  s.onVis = null;
}
