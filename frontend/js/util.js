// Small DOM and formatting helpers shared by every view.

/** Create an element: h("div", {class: "x", onclick: fn}, child, "text", [more]) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === "class") {
      el.className = value;
    } else if (key === "dataset") {
      Object.assign(el.dataset, value);
    } else if (key === "style" && typeof value === "object") {
      Object.assign(el.style, value);
    } else if (key in el && typeof value !== "string") {
      el[key] = value;
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
}

/** Replace el's children; null/false/undefined are skipped, arrays flattened. */
export function set(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function pct(x, digits = 1) {
  return x === null || x === undefined || Number.isNaN(x) ? "—" : `${(x * 100).toFixed(digits)}%`;
}

export function num(x) {
  if (x === null || x === undefined) return "—";
  const abs = Math.abs(x);
  if (abs >= 1e9) return `${(x / 1e9).toFixed(abs >= 1e10 ? 0 : 1)}G`;
  if (abs >= 1e6) return `${(x / 1e6).toFixed(abs >= 1e7 ? 0 : 1)}M`;
  if (abs >= 1e4) return `${(x / 1e3).toFixed(abs >= 1e5 ? 0 : 1)}k`;
  return (Math.round(x * 100) / 100).toLocaleString("en-US");
}

export function duration(s) {
  if (s === null || s === undefined || Number.isNaN(s)) return "—";
  s = Math.max(0, s);
  // Each unit's range ends where its rounding would show the next unit's first value
  // (0.9996 s is "1.0 s", not "1000 ms"; 119.6 s is "2 min 0 s", not "1 min 60 s").
  if (s < 0.9995) return `${(s * 1000).toFixed(0)} ms`;
  if (s < 59.5) return `${s.toFixed(s < 9.95 ? 1 : 0)} s`;
  const m = Math.floor(Math.round(s) / 60);
  if (m < 60) return `${m} min ${Math.round(s) % 60} s`;
  const hrs = Math.floor(m / 60);
  if (hrs < 48) return `${hrs} h ${m % 60} min`;
  return `${Math.floor(hrs / 24)} d ${hrs % 24} h`;
}

export function when(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  const diff = (Date.now() - d.getTime()) / 1000;
  if (diff < 45) return "just now";
  if (diff < 3600) return `${Math.round(diff / 60)} min ago`;
  if (diff < 86400) return `${Math.round(diff / 3600)} h ago`;
  return d.toLocaleString();
}

export const STATUS_LABEL = {
  queued: "Queued", running: "Running", paused: "Paused", succeeded: "Succeeded", failed: "Failed",
  cancelled: "Cancelled", pending: "Pending", completed: "Completed", reused: "Reused",
};

export function badge(status, extra = "") {
  return h("span", { class: `badge badge-${status}`, title: extra || undefined },
    STATUS_LABEL[status] || status);
}

/** Why the early stop cut this candidate, in a sentence (null when it did not): where, its
 *  score there and what it was held against (the threshold over how many others, or chance). */
export function earlyStopWhy(c) {
  const m = c.metrics || {};
  const where = m.stopped_at_rung ? `after ${m.stopped_at_rung} steps of its first epoch`
    : m.early_stopped_at ? `after epoch ${m.early_stopped_at}` : null;
  if (!where) return null;
  const score = `${pct(c.val_accuracy)} validation accuracy ${where}`;
  if (m.early_stop_reason === "chance") return `${score}: no better than guessing`;
  if (m.early_stop_threshold == null) return `${score}: below its peers there`;
  const others = m.early_stop_peers === 1 ? "1 other candidate" : `${m.early_stop_peers} other candidates`;
  return `${score}, below ${pct(m.early_stop_threshold)}: the early stop's threshold over ${others} there`;
}

/** "stopped early" next to a candidate early stop cut (null otherwise). */
export function earlyStopBadge(c) {
  const why = earlyStopWhy(c);
  if (!why) return null;
  const m = c.metrics;
  const label = m.stopped_at_rung ? `stopped early · step ${m.stopped_at_rung}` : `stopped early · epoch ${m.early_stopped_at}`;
  return h("span", { class: "badge badge-early", title: `${why}; stopped there, scored there` }, label);
}

/** Not over yet: can be cancelled, and its event stream stays open (paused included). */
export const ACTIVE = new Set(["queued", "running", "paused"]);

export function progressBar(fraction, label, status = "") {
  const value = Math.round(Math.max(0, Math.min(1, fraction || 0)) * 100);
  return h("div", {
    class: `progress ${status ? `progress-${status}` : ""}`,
    role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100",
    "aria-valuenow": String(value), "aria-label": label || "Progress",
  }, h("div", { class: "progress-fill", style: { width: `${value}%` } }));
}

let toastTimer = null;
export function toast(message, kind = "error") {
  const el = document.getElementById("toast");
  if (!el) return;
  el.textContent = message;
  el.dataset.kind = kind;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, 6000);
}

/**
 * Run fn soon, at most once per `ms`: the first call in a quiet period runs on the next
 * animation frame, calls during a run or the pause after it are merged into one trailing run.
 * Unlike debounce, a steady stream of calls cannot postpone it forever.
 */
export function throttle(fn, ms) {
  let scheduled = false;
  let last = 0;
  let timer = null;
  let frame = null;
  const run = () => {
    scheduled = false;
    last = performance.now();
    fn();
  };
  const wrapped = () => {
    if (scheduled) return;
    scheduled = true;
    const wait = Math.max(0, last + ms - performance.now());
    if (wait > 0) timer = setTimeout(() => { frame = requestAnimationFrame(run); }, wait);
    else frame = requestAnimationFrame(run);
  };
  wrapped.cancel = () => { clearTimeout(timer); cancelAnimationFrame(frame); scheduled = false; };
  return wrapped;
}

/** Run fn once calls stop for `ms` (trailing only). */
export function debounce(fn, ms) {
  let timer = null;
  const wrapped = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  wrapped.cancel = () => clearTimeout(timer);
  return wrapped;
}

export function originLabel(origin) {
  return { random: "random", baseline: "baseline", crossover: "crossover", mutation: "mutation",
    "crossover+mutation": "crossover + mutation" }[origin] || origin || "—";
}
