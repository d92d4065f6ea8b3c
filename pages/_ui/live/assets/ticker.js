// The refresh timer of a fragment (pages/_ui/live/ticker.py). Called again with new data after
// every rerun; it keeps ONE timer per component, fires only while the tab is visible, and
// re-arms itself if a rerun's data never comes (so a lost rerun cannot stop the live view).
//
// Streamlit (1.67, BidiComponent) calls this function again on every change of its inputs, and
// calls the cleanup it returns only when the element goes away, or AT ONCE for a call whose
// inputs changed while its module was still loading. So the cleanup must not stop the timer of
// an element still on the page (a stale call's cleanup would kill the newer call's timer, and
// the live view would stop refreshing), and a call with the same data keeps the plan it has.
export default function ({ parentElement, data, setTriggerValue }) {
  let s = parentElement.__genlabTick;
  if (!s) s = parentElement.__genlabTick = { timer: 0, onVis: null, n: -1, last: performance.now(), due: 0 };
  s.el = parentElement;
  s.send = setTriggerValue;
  s.ms = data.ms;
  if (data.n !== s.n) {  // a new rerun's data: the next request every data.ms from the last
    s.n = data.n;        // request, not from this rerun's end: once a second is once a second
    s.due = Math.max(performance.now() + 50, s.last + data.ms);
    arm(s);
  } else if (!s.timer && !s.onVis) {
    arm(s);  // the same data again with no timer running: keep the plan it had
  }
  return () => { if (!parentElement.isConnected) stop(s); };
}

function arm(s) {
  stop(s);
  s.timer = setTimeout(() => fire(s), Math.max(0, s.due - performance.now()));
}

function fire(s) {
  s.timer = 0;
  if (!s.el.isConnected) return stop(s);  // the element left the page
  if (document.visibilityState !== "visible") {  // hidden: ask for nothing until shown
    s.onVis = () => {
      if (document.visibilityState !== "visible") return;
      stop(s);
      fire(s);
    };
    document.addEventListener("visibilitychange", s.onVis);
    return;
  }
  window.__genlabTicks = (window.__genlabTicks || 0) + 1;
  s.last = performance.now();
  s.send("tick", s.n);
  s.due = s.last + Math.max(3 * s.ms, 5000);  // if this rerun is lost, ask again
  arm(s);
}

function stop(s) {
  clearTimeout(s.timer);
  s.timer = 0;
  if (s.onVis) document.removeEventListener("visibilitychange", s.onVis);
  s.onVis = null;
}
