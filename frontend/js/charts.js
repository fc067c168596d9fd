// Plotly defaults shared by every chart, so they look like one product.

export const COLORS = {
  best: "#4f46e5", mean: "#0ea5e9", worst: "#f59e0b", dots: "rgba(100,116,139,0.45)",
  baseline: "#e11d48", pareto: "#059669", train: "#94a3b8", val: "#4f46e5",
  // eight distinct hues (no two of one family): the live curves show the latest six candidates
  palette: ["#4f46e5", "#f59e0b", "#10b981", "#e11d48", "#0ea5e9", "#c026d3", "#65a30d", "#92400e"],
};

export function baseLayout(extra = {}) {
  return {
    autosize: true,
    margin: { l: 56, r: 16, t: 30, b: 44 },
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "rgba(0,0,0,0)",
    font: { family: "Inter, system-ui, -apple-system, Segoe UI, Roboto, sans-serif", size: 12, color: "#334155" },
    hoverlabel: { bgcolor: "#0f172a", bordercolor: "#0f172a", font: { color: "#f8fafc", size: 12 } },
    legend: { orientation: "h", y: 1.02, yanchor: "bottom", x: 0, font: { size: 11 } },
    xaxis: { gridcolor: "#eef2f7", zerolinecolor: "#e2e8f0", linecolor: "#cbd5e1", ...(extra.xaxis || {}) },
    yaxis: { gridcolor: "#eef2f7", zerolinecolor: "#e2e8f0", linecolor: "#cbd5e1", ...(extra.yaxis || {}) },
    ...Object.fromEntries(Object.entries(extra).filter(([k]) => k !== "xaxis" && k !== "yaxis")),
  };
}

export const CONFIG = { displaylogo: false, responsive: true, displayModeBar: "hover",
  modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d"] };

export function hasPlotly() {
  return typeof window.Plotly !== "undefined";
}

let loading = null;
/**
 * Load Plotly.js (3-4 MB) without blocking the page: the views fetch their data meanwhile.
 * index.html preloads it, so this mostly just runs it. Resolves false if it cannot load.
 */
export function loadPlotly() {
  if (hasPlotly()) return Promise.resolve(true);
  if (!loading) {
    loading = new Promise((resolve) => {
      const script = document.createElement("script");
      performance.mark("plotly:requested");
      // The server names a versioned URL it lets browsers cache for good (see backend/api/app.py).
      const meta = document.querySelector('meta[name="plotly-src"]');
      script.src = meta ? meta.content : "/static/plotly.min.js";
      script.async = true;
      script.onload = () => { performance.mark("plotly:loaded"); resolve(hasPlotly()); };
      script.onerror = () => { console.warn("Plotly.js could not be loaded: no charts"); resolve(false); };
      document.head.appendChild(script);
    });
  }
  return loading;
}

/**
 * Plotly.react that tolerates a missing Plotly (no chart rather than a broken page); before
 * Plotly has loaded, the latest figure per element is kept and drawn once it is there.
 */
export function draw(el, data, layout) {
  if (!el.isConnected) return;
  if (!hasPlotly()) {
    const first = !el.__pendingFigure;
    el.__pendingFigure = [data, layout];
    if (first) {
      loadPlotly().then(() => {
        const fig = el.__pendingFigure;
        el.__pendingFigure = null;
        if (fig && hasPlotly()) draw(el, fig[0], fig[1]);
      });
    }
    return;
  }
  el.__drawing = window.Plotly.react(el, data, layout, CONFIG);
}

/** Points above which a trace is drawn with WebGL (SVG draws one DOM node per point). */
export const GL_THRESHOLD = 1500;

/** "scattergl" for big traces when WebGL works, else "scatter". */
export function scatterType(n) {
  return n > GL_THRESHOLD && webgl() ? "scattergl" : "scatter";
}

let glOk = null;
function webgl() {
  if (glOk === null) {
    try {
      const c = document.createElement("canvas");
      glOk = Boolean(c.getContext("webgl") || c.getContext("experimental-webgl"));
    } catch {
      glOk = false;
    }
  }
  return glOk;
}

/**
 * Free a chart. A draw still in progress (Plotly.react finishes after it returns, e.g. when a
 * page is left right after it opened) is let finish first: purged under it, Plotly throws.
 */
export function purge(el) {
  if (!hasPlotly() || !el) return;
  el.__pendingFigure = null;
  const drawing = el.__drawing;
  el.__drawing = null;
  const free = () => window.Plotly.purge(el);
  if (drawing && typeof drawing.then === "function") drawing.then(free, free);
  else free();
}

export function referenceLine(y, text, color = COLORS.baseline) {
  return {
    shapes: [{ type: "line", xref: "paper", x0: 0, x1: 1, y0: y, y1: y, line: { color, width: 1.5, dash: "dash" } }],
    // on a white backing: the latest generation's points sit at the same corner
    annotations: [{ xref: "paper", x: 1, y, yanchor: "bottom", xanchor: "right", text, showarrow: false,
      font: { color, size: 11 }, bgcolor: "rgba(255, 255, 255, 0.85)", borderpad: 1 }],
  };
}

/** Non-dominated points (max accuracy, min cost), sorted by cost: the Pareto front. */
export function paretoFront(points) {
  const sorted = points.filter((p) => p.cost > 0 && p.acc != null)
    .sort((a, b) => a.cost - b.cost || b.acc - a.acc);
  const front = [];
  let best = -Infinity;
  for (const p of sorted) {
    if (p.acc > best) { front.push(p); best = p.acc; }
  }
  return front;
}

/** A centred note for a chart with nothing to show yet. */
export function emptyNote(text) {
  return [{ xref: "paper", yref: "paper", x: 0.5, y: 0.5, text, showarrow: false,
    font: { size: 13, color: "#94a3b8" } }];
}
