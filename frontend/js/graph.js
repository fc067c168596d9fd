// A candidate's architecture as a left-to-right DAG in SVG: branches and merges visible,
// hover or focus a layer for its details.

import { h, num, set } from "./util.js";

const SVG = "http://www.w3.org/2000/svg";
const NODE_W = 186;
const NODE_H = 50;
const GAP_X = 42;
const GAP_Y = 18;
const PAD = 14;

const KIND = {
  input: "io", softmax: "io", conv2d: "conv", max_pool: "pool", avg_pool: "pool",
  global_avg_pool: "pool", global_max_pool: "pool", batch_norm: "norm", dropout: "reg",
  flatten: "reshape", dense: "dense", add: "merge", concat: "merge",
};

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  for (const c of children) if (c) el.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
  return el;
}

/**
 * Sugiyama-style layout: longest-path layers, virtual nodes on edges that skip layers (so a
 * branch is routed around the main path, not under it), then barycentre sweeps.
 */
export function layout(graph) {
  const ids = graph.nodes.map((n) => n.id);
  const known = new Set(ids);
  const edges = graph.edges.filter(([a, b]) => known.has(a) && known.has(b));
  const preds = new Map(ids.map((id) => [id, []]));
  const succs = new Map(ids.map((id) => [id, []]));
  for (const [a, b] of edges) {
    preds.get(b).push(a);
    succs.get(a).push(b);
  }
  // Kahn's order (the API lists nodes topologically, but do not rely on it).
  const indeg = new Map(ids.map((id) => [id, preds.get(id).length]));
  const order = [];
  const queue = ids.filter((id) => indeg.get(id) === 0);
  while (queue.length) {
    const id = queue.shift();
    order.push(id);
    for (const nx of succs.get(id)) {
      indeg.set(nx, indeg.get(nx) - 1);
      if (indeg.get(nx) === 0) queue.push(nx);
    }
  }
  for (const id of ids) if (!order.includes(id)) order.push(id);
  const rank = new Map();
  for (const id of order) rank.set(id, Math.max(-1, ...preds.get(id).map((p) => rank.get(p) ?? 0)) + 1);

  // Virtual nodes: one per skipped layer of a long edge.
  const up = new Map(order.map((id) => [id, []]));
  const down = new Map(order.map((id) => [id, []]));
  const routes = new Map();
  let nv = 0;
  for (const [a, b] of edges) {
    const chain = [a];
    for (let r = rank.get(a) + 1; r < rank.get(b); r++) {
      const v = `__v${nv++}`;
      rank.set(v, r);
      up.set(v, []);
      down.set(v, []);
      chain.push(v);
    }
    chain.push(b);
    for (let i = 0; i + 1 < chain.length; i++) {
      down.get(chain[i]).push(chain[i + 1]);
      up.get(chain[i + 1]).push(chain[i]);
    }
    routes.set(`${a}->${b}`, chain.slice(1, -1));
  }
  const columns = [];
  for (const id of [...order, ...[...rank.keys()].filter((k) => k.startsWith("__v"))]) {
    (columns[rank.get(id)] ||= []).push(id);
  }
  const index = new Map();
  const reindex = (col) => col.forEach((id, i) => index.set(id, i));
  columns.forEach(reindex);
  const sweep = (cols, neighbours) => {
    for (const col of cols) {
      const bary = new Map(col.map((id) => {
        const ns = neighbours.get(id);
        return [id, ns.length ? ns.reduce((acc, n) => acc + index.get(n), 0) / ns.length : index.get(id)];
      }));
      col.sort((x, y) => bary.get(x) - bary.get(y));
      reindex(col);
    }
  };
  for (let i = 0; i < 2; i++) {
    sweep(columns.slice(1), up);
    sweep(columns.slice(0, -1).reverse(), down);
  }
  sweep(columns.slice(1), up);

  const maxRows = Math.max(...columns.map((c) => c.length));
  const height = maxRows * NODE_H + (maxRows - 1) * GAP_Y + 2 * PAD;
  const width = columns.length * NODE_W + (columns.length - 1) * GAP_X + 2 * PAD;
  const pos = new Map();
  columns.forEach((col, r) => col.forEach((id, i) => {
    pos.set(id, {
      x: PAD + r * (NODE_W + GAP_X),
      y: height / 2 + (i - (col.length - 1) / 2) * (NODE_H + GAP_Y) - NODE_H / 2,
    });
  }));
  return { pos, width, height, routes, columns: columns.length, maxRows };
}

/** An edge as smooth curves between layers and straight runs through virtual nodes. */
function edgePath(p, q, via, pos) {
  let x = p.x + NODE_W;
  let y = p.y + NODE_H / 2;
  let d = `M ${x} ${y}`;
  const stops = [...via.map((v) => pos.get(v)), q];
  stops.forEach((t, i) => {
    const last = i === stops.length - 1;
    const tx = last ? t.x - 2 : t.x;
    const ty = t.y + NODE_H / 2;
    const mx = (x + tx) / 2;
    d += ` C ${mx} ${y}, ${mx} ${ty}, ${tx} ${ty}`;
    if (!last) d += ` L ${t.x + NODE_W} ${ty}`;
    x = t.x + NODE_W;
    y = ty;
  });
  return d;
}

function shape(shp) {
  return Array.isArray(shp) ? shp.join("×") : "";
}

function fit(text, max = 27) {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function details(node) {
  const rows = [["Layer", node.label], ["Type", node.op], ["Output", shape(node.output_shape)],
    ["Parameters", node.param_count.toLocaleString()], ["FLOPs", node.flops.toLocaleString()]];
  for (const [k, v] of Object.entries(node.params || {})) rows.push([k.replace(/_/g, " "), String(v)]);
  return rows;
}

/** Draw `graph` into `container` (replacing its content). */
export function renderGraph(container, graph, { title = "Architecture" } = {}) {
  const { pos, width, height, routes } = layout(graph);
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const svg = s("svg", {
    viewBox: `0 0 ${width} ${height}`, width, height, class: "arch-svg", role: "img",
    "aria-label": `${title}: ${graph.nodes.length} layers, ${graph.total_params.toLocaleString()} parameters`,
  });
  svg.appendChild(s("defs", {}, s("marker", {
    id: "arrow", viewBox: "0 0 10 10", refX: "9", refY: "5", markerWidth: "7", markerHeight: "7", orient: "auto-start-reverse",
  }, s("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "arch-arrow" }))));
  const edgeLayer = s("g", { class: "arch-edges" });
  for (const [a, b] of graph.edges) {
    const p = pos.get(a);
    const q = pos.get(b);
    if (!p || !q) continue;
    edgeLayer.appendChild(s("path", {
      d: edgePath(p, q, routes.get(`${a}->${b}`) || [], pos), class: "arch-edge", "marker-end": "url(#arrow)",
      "data-edge": `${a}->${b}`,
    }));
  }
  svg.appendChild(edgeLayer);
  const tip = h("div", { class: "arch-tip", role: "tooltip", hidden: true });
  const nodeLayer = s("g", { class: "arch-nodes" });
  for (const node of graph.nodes) {
    const p = pos.get(node.id);
    const kind = KIND[node.op] || "other";
    const sub = [shape(node.output_shape), node.param_count ? `${num(node.param_count)} params` : ""].filter(Boolean).join(" · ");
    const g = s("g", {
      class: `arch-node arch-${kind}`, transform: `translate(${p.x},${p.y})`, tabindex: "0",
      "data-node": node.id, "data-op": node.op, "aria-label": `${node.label}, output ${shape(node.output_shape)}, ${node.param_count} parameters`,
    },
    s("title", {}, `${node.label} — ${shape(node.output_shape)}`),
    s("rect", { width: NODE_W, height: NODE_H, rx: "9" }),
    s("rect", { width: "5", height: NODE_H - 16, x: "0", y: "8", rx: "2", class: "arch-stripe" }),
    s("text", { x: "14", y: "21", class: "arch-label" }, fit(node.label)),
    s("text", { x: "14", y: "38", class: "arch-sub" }, fit(sub, 28)));
    const show = () => {
      set(tip, h("table", {}, h("tbody", {}, details(node).map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", {}, v))))));
      tip.hidden = false;
      const box = container.getBoundingClientRect();
      const r = g.getBoundingClientRect();
      let left = r.left - box.left + container.scrollLeft;
      if (left + 260 > container.scrollLeft + box.width) left = Math.max(0, container.scrollLeft + box.width - 270);
      tip.style.left = `${left}px`;
      tip.style.top = `${r.bottom - box.top + container.scrollTop + 6}px`;
      g.classList.add("active");
      highlight(node.id, true);
    };
    const hide = () => { tip.hidden = true; g.classList.remove("active"); highlight(node.id, false); };
    g.addEventListener("mouseenter", show);
    g.addEventListener("mouseleave", hide);
    g.addEventListener("focus", show);
    g.addEventListener("blur", hide);
    nodeLayer.appendChild(g);
  }
  svg.appendChild(nodeLayer);

  function highlight(id, on) {
    edgeLayer.querySelectorAll("path").forEach((path) => {
      const [a, b] = path.dataset.edge.split("->");
      if (a === id || b === id) path.classList.toggle("hot", on);
    });
  }

  // For screen readers: the layers in order as a list.
  const list = h("ol", { class: "sr-only" }, graph.nodes.map((n) => {
    const ins = graph.edges.filter((e) => e[1] === n.id).map((e) => byId.get(e[0])?.label || e[0]);
    return h("li", {}, `${n.label} (${shape(n.output_shape)})${ins.length > 1 ? `, merges ${ins.join(" and ")}` : ""}`);
  }));
  container.classList.add("arch-wrap");
  set(container, svg, tip, list);
}

export function legend() {
  const items = [["conv", "Convolution"], ["pool", "Pooling"], ["merge", "Merge"], ["norm", "Batch norm"],
    ["reg", "Dropout"], ["reshape", "Flatten"], ["dense", "Dense"], ["io", "Input / output"]];
  return h("ul", { class: "arch-legend", "aria-label": "Layer colours" },
    items.map(([k, t]) => h("li", {}, h("span", { class: `swatch arch-${k}`, "aria-hidden": "true" }), t)));
}
