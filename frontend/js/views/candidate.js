// "/searches/:id/candidates/:cid": one candidate — its architecture, learning curve, lineage.

import { api } from "../api.js";
import { COLORS, baseLayout, draw, purge } from "../charts.js";
import { setConnection } from "../conn.js";
import { legend, renderGraph } from "../graph.js";
import { SearchStream } from "../sse.js";
import { badge, duration, earlyStopBadge, earlyStopWhy, h, num, originLabel, pct, set } from "../util.js";

export const nav = "list";

export async function mount(root, params) {
  const searchId = Number(params.id);
  const cid = Number(params.cid);
  const [search, cand, graph] = await Promise.all([
    api.search(searchId), api.candidate(cid), api.graph(cid).catch((err) => ({ error: err.message })),
  ]);
  if (cand.search_id !== searchId) {
    const err = new Error(`Candidate ${cid} belongs to another search.`);
    err.status = 404;
    throw err;
  }
  document.title = `Candidate #${cid} · ${search.name} · nasboard`;
  let alive = true;
  let stream = null;
  let c = cand;

  const parents = await Promise.all(c.parents.map((p) => api.candidate(p).catch(() => ({ id: p }))));
  const stats = h("div", { class: "stats" });
  const head = h("div", { class: "page-head" });
  const curve = h("div", { class: "chart", id: "chart-candidate", "aria-label": "Learning curve" });
  const graphBox = h("div", { id: "arch-graph" });
  // A deep or branchy net is wider than the card: its graph scrolls, or shrinks to the card's
  // width for the whole shape at once (hovering a layer still shows its details).
  const fitButton = h("button", { type: "button", class: "btn btn-sm", id: "arch-fit", "aria-pressed": "false", hidden: true },
    "Fit to width");
  function addFitToggle(box) {
    const svg = box.querySelector("svg");
    if (!svg || svg.width.baseVal.value <= box.clientWidth) return;
    fitButton.hidden = false;
    fitButton.onclick = () => {
      const fit = box.classList.toggle("arch-fit");
      fitButton.setAttribute("aria-pressed", String(fit));
      fitButton.textContent = fit ? "Actual size" : "Fit to width";
    };
  }

  /** "Trained on host:pid · GPU: NVIDIA H200 · mixed precision, XLA" (the device and the
   *  options are in the metrics of candidates trained since workers recorded them). */
  function trainedOn() {
    if (!c.worker) return null;
    const m = c.metrics || {};
    const options = [m.mixed_precision ? "mixed precision" : null, m.jit_compile ? "XLA" : null].filter(Boolean);
    return h("p", { class: "muted small", id: "trained-on" }, "Trained on ", h("code", {}, c.worker),
      m.device ? ` · ${m.device}` : "",
      options.length ? ` · ${options.join(", ")}` : "");
  }

  function renderHead() {
    const downloadable = c.status === "completed" || c.status === "reused";
    set(head,
      h("div", {},
        h("nav", { class: "crumbs", "aria-label": "Breadcrumb" },
          h("a", { href: "/" }, "Searches"), " / ", h("a", { href: `/searches/${searchId}` }, search.name), ` / #${cid}`),
        h("h1", {}, `Candidate #${cid} `, badge(c.status, c.error || ""), " ", earlyStopBadge(c),
          search.best && search.best.candidate_id === cid ? h("span", { class: "badge badge-best" }, "★ best of the search") : null,
          c.origin === "baseline" ? h("span", { class: "badge badge-queued" }, "seed baseline") : null),
        h("p", { class: "muted" }, `generation ${c.generation} · index ${c.index} · ${originLabel(c.origin)}${c.attempts > 1 ? ` · ${c.attempts} attempts` : ""}`),
        trainedOn()),
      h("div", { class: "head-actions" },
        h("a", { class: "btn", href: `/searches/${searchId}` }, "← Back to search"),
        downloadable
          ? h("a", { class: "btn btn-primary", id: "download-candidate", href: api.candidateModelUrl(cid), download: "" }, "Download model (.keras)")
          : null));
    set(stats,
      ...[["Validation accuracy", pct(c.val_accuracy)], ["Validation loss", num(c.metrics.val_loss)],
        ["Parameters", c.params != null ? c.params.toLocaleString() : "—"], ["FLOPs", num(c.flops)],
        ["Training time", duration(c.duration_s)],
        ["Latency", c.metrics.latency_ms != null ? `${Number(c.metrics.latency_ms).toFixed(2)} ms` : "—"]]
        .map(([k, v]) => h("div", { class: "stat" }, h("div", { class: "stat-label" }, k), h("div", { class: "stat-value" }, v))));
  }

  function drawCurve() {
    const x = c.epochs.map((e) => e.epoch);
    draw(curve, [
      { x, y: c.epochs.map((e) => e.val_accuracy), name: "val accuracy", type: "scatter", mode: "lines+markers", line: { color: COLORS.val, width: 3 } },
      { x, y: c.epochs.map((e) => e.train_accuracy), name: "train accuracy", type: "scatter", mode: "lines+markers", line: { color: COLORS.mean, width: 2, dash: "dot" } },
      { x, y: c.epochs.map((e) => e.val_loss), name: "val loss", type: "scatter", mode: "lines+markers", yaxis: "y2", line: { color: COLORS.worst, width: 2 } },
      { x, y: c.epochs.map((e) => e.train_loss), name: "train loss", type: "scatter", mode: "lines", yaxis: "y2", line: { color: COLORS.worst, width: 1.5, dash: "dot" } },
    ], baseLayout({
      xaxis: { title: { text: "epoch" }, dtick: 1, range: [0.7, Math.max(search.config.epochs_per_candidate, x.length, 1) + 0.3] },
      yaxis: { title: { text: "accuracy" }, tickformat: ".0%", range: [0, 1.02] },
      yaxis2: { title: { text: "loss" }, overlaying: "y", side: "right", showgrid: false, rangemode: "tozero" },
      margin: { l: 56, r: 56, t: 30, b: 44 },
      // Stopped at its rung: no whole epoch to draw, so say where it stopped instead.
      annotations: !x.length && c.metrics.stopped_at_rung ? [{
        xref: "paper", yref: "paper", x: 0.5, y: 0.5, showarrow: false, font: { size: 14 },
        text: `stopped after ${c.metrics.stopped_at_rung} steps of its first epoch<br>`
          + `scored ${pct(c.val_accuracy)} there: no whole epoch to draw`,
      }] : [],
    }));
  }

  const lineage = h("div", { class: "lineage" },
    h("dl", { class: "kv" },
      h("dt", {}, "Origin"), h("dd", {}, originLabel(c.origin)),
      h("dt", {}, "Operator"), h("dd", {}, h("code", { id: "operator-detail" }, c.detail || "—")),
      h("dt", {}, "Parents"), h("dd", {}, parents.length
        ? h("ul", { class: "parents" }, parents.map((p) => h("li", {},
          h("a", { href: `/searches/${searchId}/candidates/${p.id}` }, `#${p.id}`),
          p.generation != null ? ` gen ${p.generation} · ${pct(p.val_accuracy)} · ${num(p.params)} params` : "")))
        : c.origin === "baseline" ? "none — the seed's hand-designed CNN" : "none — sampled at random"),
      c.reused_from ? [h("dt", {}, "Reused from"), h("dd", {}, h("a", { href: `/searches/${searchId}/candidates/${c.reused_from}` }, `#${c.reused_from}`), " (same genome, not retrained)")] : null,
      earlyStopWhy(c) ? [h("dt", {}, "Stopped early"), h("dd", { id: "early-stop-why" }, earlyStopWhy(c))] : null,
      c.error ? [h("dt", {}, "Error"), h("dd", { class: "field-error" }, c.error)] : null,
      h("dt", {}, "Genome hash"), h("dd", {}, h("code", { class: "small" }, c.genome_hash.slice(0, 16)))));

  root.append(
    head, stats,
    h("section", { class: "card", "aria-labelledby": "arch-title" },
      h("div", { class: "card-head" },
        h("h2", { id: "arch-title" }, "Architecture"),
        graph.error ? null : h("p", { class: "muted small" }, `${graph.nodes.length} layers · ${graph.total_params.toLocaleString()} parameters · ${num(graph.total_flops)} FLOPs · hover a layer for details`),
        fitButton),
      graph.error ? h("p", { class: "field-error" }, `Could not draw the graph: ${graph.error}`) : graphBox,
      graph.error ? null : legend()),
    h("div", { class: "dash-grid" },
      h("section", { class: "card", "aria-labelledby": "curve-title" },
        h("div", { class: "card-head" }, h("h2", { id: "curve-title" }, "Learning curve")), curve),
      h("section", { class: "card", "aria-labelledby": "lineage-title" },
        h("div", { class: "card-head" }, h("h2", { id: "lineage-title" }, "Lineage")), lineage,
        h("details", { class: "genome" }, h("summary", {}, "Genome JSON"), h("pre", {}, JSON.stringify(c.genome, null, 2))))),
  );
  if (!graph.error) {
    renderGraph(graphBox, graph, { title: `Candidate ${cid}` });
    addFitToggle(graphBox);
  }
  renderHead();
  drawCurve();

  // A candidate still training: follow its epochs live.
  if (["pending", "running"].includes(c.status) && ["queued", "running"].includes(search.status)) {
    stream = new SearchStream(searchId, async (type, d) => {
      if (d.candidate_id !== cid) return;
      if (type === "epoch") {
        c.epochs[d.epoch - 1] = { epoch: d.epoch, train_accuracy: d.train_accuracy, train_loss: d.train_loss, val_accuracy: d.val_accuracy, val_loss: d.val_loss };
        c.status = "running";
        renderHead();
        drawCurve();
      } else if (type === "candidate_finished" || type === "candidate_started") {
        const fresh = await api.candidate(cid);
        if (!alive) return;
        c = fresh;
        renderHead();
        drawCurve();
        if (type === "candidate_finished" && stream) stream.close("ended");
      }
    });
  } else {
    setConnection("idle");
  }

  return () => {
    alive = false;
    if (stream) stream.close();
    setConnection("idle");
    purge(curve);
  };
}
