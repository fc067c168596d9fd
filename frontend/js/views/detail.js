// "/searches/:id": one search, live. A REST snapshot (the search, which names its
// last_event_id, then its generations and candidates), then the SSE stream from that id keeps
// every chart current; all updates are keyed (by generation, candidate, epoch), so a replay
// after a reconnect is harmless. `data-rendered-event` on the page root tells tests and the
// benchmark which event the charts show.

import { api } from "../api.js";
import { COLORS, baseLayout, draw, emptyNote, loadPlotly, paretoFront, purge, referenceLine, scatterType } from "../charts.js";
import { setConnection } from "../conn.js";
import { SearchStream } from "../sse.js";
import { navigate } from "../router.js";
import { ACTIVE, badge, debounce, duration, h, num, pct, progressBar, throttle, toast, when, set } from "../util.js";
import { createCandidateTable } from "./table.js";

export const nav = "list";
const LIVE_CURVES = 6;

export async function mount(root, params) {
  const id = Number(params.id);
  performance.mark("detail:start");
  const plotly = loadPlotly(); // normally already running: it loads while we fetch
  let search = await api.search(id);
  performance.mark("detail:search");
  document.title = `${search.name} · nasboard`;
  // Read after the snapshot: anything newer than last_event_id is also replayed by the stream.
  // The latest candidates' learning curves come from REST (the stream only brings new epochs).
  // Fetched after the first draw: the charts need the bulk data first, and the API serves these
  // requests concurrently on the same cores.
  const loadCurves = () => api.candidates(id, { sort: "id", order: "desc", limit: LIVE_CURVES, fields: "summary" })
    .then((page) => Promise.all(page.items.map((c) => api.candidate(c.id).catch(() => null))));
  const [genList, candList] = await Promise.all([api.generations(id), api.allCandidates(id)]);
  performance.mark("detail:candidates");
  const snapshotEventId = search.last_event_id || 0;
  let handledEventId = snapshotEventId;

  const gens = new Map(genList.map((g) => [g.generation, g]));
  const cands = new Map(candList.map((c) => [c.id, c]));
  const live = new Map(); // candidate id -> {generation, index, status, epochs: []}
  const finalHistory = [];
  let alive = true;
  let stream = null;
  let xMetric = search.config.objective === "flops" ? "flops" : "params";

  // ---------- layout ----------
  const el = {};
  el.badge = h("span");
  el.actions = h("div", { class: "head-actions" });
  el.stats = h("div", { class: "stats" });
  el.error = h("div", { class: "alert alert-error", role: "alert", hidden: true });
  el.genChart = h("div", { class: "chart", id: "chart-generations", "aria-label": "Validation accuracy by generation" });
  el.liveChart = h("div", { class: "chart", id: "chart-live", "aria-label": "Learning curves of the latest candidates" });
  el.liveNote = h("p", { class: "muted small" });
  el.scatter = h("div", { class: "chart", id: "chart-scatter", "aria-label": "Validation accuracy versus model size" });
  el.finalCard = h("section", { class: "card span-2", id: "final", hidden: true, "aria-labelledby": "final-title" });
  const xSelect = h("select", { id: "scatter-x", class: "select-sm",
    onchange: () => { xMetric = xSelect.value; drawScatter(); } },
  h("option", { value: "params", selected: xMetric === "params" }, "parameters"),
  h("option", { value: "flops", selected: xMetric === "flops" }, "FLOPs"));

  const table = createCandidateTable(search, { onOpen: (cid) => navigate(`/searches/${id}/candidates/${cid}`) });

  root.append(
    h("div", { class: "page-head" },
      h("div", {},
        h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, h("a", { href: "/" }, "Searches"), ` / #${id}`),
        h("h1", {}, search.name, " ", el.badge),
        h("p", { class: "muted" }, `${search.dataset} · ${search.strategy} · population ${search.config.population_size} × ${search.config.generations} generations · ${search.config.epochs_per_candidate} epoch${search.config.epochs_per_candidate > 1 ? "s" : ""} per candidate · created ${when(search.created_at)}`)),
      el.actions),
    el.error,
    el.stats,
    h("div", { class: "dash-grid" },
      h("section", { class: "card", "aria-labelledby": "gen-title" },
        h("div", { class: "card-head" }, h("h2", { id: "gen-title" }, "Validation accuracy by generation")),
        el.genChart),
      h("section", { class: "card", "aria-labelledby": "live-title" },
        h("div", { class: "card-head" }, h("h2", { id: "live-title" }, "Learning curves"), el.liveNote),
        el.liveChart),
      h("section", { class: "card span-2", "aria-labelledby": "scatter-title" },
        h("div", { class: "card-head" },
          h("h2", { id: "scatter-title" }, "Accuracy vs. size"),
          h("div", { class: "inline-field" }, h("label", { for: "scatter-x" }, "x axis"), xSelect)),
        h("p", { class: "muted small" }, "Each dot is a candidate; the green line is the Pareto front (nothing is both smaller and more accurate). Click a dot to open it."),
        el.scatter),
      el.finalCard,
      h("section", { class: "card span-2", "aria-labelledby": "cand-title" },
        h("div", { class: "card-head" }, h("h2", { id: "cand-title" }, "Candidates")),
        table.el)),
  );

  // ---------- header, stats ----------
  function renderHead() {
    set(el.badge, badge(search.status));
    const active = ACTIVE.has(search.status);
    set(el.actions,
      search.status === "running" ? h("button", { class: "btn", id: "pause-search", onclick: control("pause"),
        title: "Stop handing out candidates; those training now finish" }, "Pause") : null,
      search.status === "paused" ? h("button", { class: "btn btn-primary", id: "resume-search", onclick: control("resume") }, "Resume") : null,
      active ? h("button", { class: "btn btn-danger", id: "cancel-search", onclick: control("cancel") }, "Cancel search") : null,
      h("a", { class: "btn", href: `/new?clone=${id}` }, "Clone with edits"),
      search.model_available
        ? h("a", { class: search.status === "paused" ? "btn" : "btn btn-primary", id: "download-best", href: api.searchModelUrl(id), download: "" }, "Download best model")
        : h("span", { class: "btn btn-primary", "aria-disabled": "true", title: "Available once the search has succeeded and its final model is trained" }, "Download best model"),
      search.model_available ? h("details", { class: "menu", id: "model-menu" },
        h("summary", { class: "btn btn-ghost", "aria-label": "Other model formats and the model card" }, "More ▾"),
        h("div", { class: "menu-list" },
          h("a", { id: "download-savedmodel", href: api.searchModelUrl(id, "savedmodel"), download: "" }, "TensorFlow SavedModel (.zip)"),
          h("a", { id: "download-tflite", href: api.searchModelUrl(id, "tflite"), download: "" }, "TensorFlow Lite (.tflite)"),
          h("a", { id: "model-card", href: api.modelCardUrl(id), target: "_blank", rel: "noopener" }, "Model card (opens a page)"))) : null,
    );
    const p = search.progress;
    const phase = search.status === "queued" ? "Waiting for a worker…"
      : search.status === "paused" ? "Paused: no new candidates start until you resume"
      : search.phase === "final" && active ? "Training the best network on train + validation…"
      : search.phase === "confirm" && active ? `Confirming the best ${search.config.confirm_top} with ${search.config.confirm_epochs} epochs each…`
        : `Generation ${Math.min(p.generation + 1, p.generations)} of ${p.generations}`;
    // Until the server names a best (after a generation), show the best finished so far.
    let best = search.best;
    if (!best) {
      const top = scored().sort((a, b) => b.val_accuracy - a.val_accuracy)[0];
      if (top) best = { candidate_id: top.id, generation: top.generation, index: top.index, val_accuracy: top.val_accuracy, params: top.params };
    }
    set(el.stats,
      stat("Progress", h("div", {}, progressBar(search.status === "succeeded" ? 1 : p.fraction, "Search progress", search.status),
        h("div", { class: "stat-sub", id: "progress-text" }, phase, h("br"), `${p.candidates_done} / ${p.candidates_total || "?"} candidates`)), null, "stat-progress"),
      stat("Best val. accuracy", best
        ? h("a", { href: `/searches/${id}/candidates/${best.candidate_id}`, class: "stat-value", id: "best-acc" }, pct(best.val_accuracy))
        : h("span", { class: "stat-value", id: "best-acc" }, "—"),
      best ? `gen ${best.generation} · #${best.index} · ${num(best.params)} params` : ""),
      stat("Seed baseline", h("span", { class: "stat-value", id: "baseline-acc" }, search.baseline ? pct(search.baseline.val_accuracy) : "—"),
        search.baseline && best && search.baseline.val_accuracy != null ? deltaText(best.val_accuracy - search.baseline.val_accuracy)
          : h("div", { class: "stat-sub", id: "baseline-note" }, search.baseline_note || (search.baseline ? "the hand-designed CNN" : ""))),
      stat(active ? "Elapsed · ETA" : "Duration", h("span", { class: "stat-value" }, duration(p.elapsed_s)),
        active && p.eta_s != null ? `about ${duration(p.eta_s)} left` : search.finished_at ? `finished ${when(search.finished_at)}` : ""),
      search.final ? stat("Test accuracy", h("span", { class: "stat-value" }, pct(search.final.test_accuracy)), `F1 ${pct(search.final.f1)}`) : null,
    );
    el.error.hidden = !search.error;
    el.error.textContent = search.error ? `This search failed: ${search.error}` : "";
  }

  function stat(label, value, sub, cls = "") {
    return h("div", { class: `stat ${cls}` }, h("div", { class: "stat-label" }, label), value,
      sub ? (typeof sub === "string" ? h("div", { class: "stat-sub" }, sub) : sub) : null);
  }

  function deltaText(d) {
    if (d == null || Number.isNaN(d)) return "";
    return h("div", { class: `stat-sub ${d >= 0 ? "up" : "down"}` }, `${d >= 0 ? "+" : "−"}${(Math.abs(d) * 100).toFixed(1)} pts for the best`);
  }

  /** Cancel, pause or resume: the answer is the fresh search; a 409 says why not. */
  function control(action) {
    const call = { cancel: api.cancelSearch, pause: api.pauseSearch, resume: api.resumeSearch }[action];
    const done = { cancel: "Search cancelled", pause: "Search paused: running candidates finish, no new ones start", resume: "Search resumed" }[action];
    return async (e) => {
      e.currentTarget.disabled = true;
      try {
        search = await call(id);
        toast(done, "info");
      } catch (err) {
        toast(err.status === 409 ? err.message : `Could not ${action}: ${err.message}`);
        try { search = await api.search(id); } catch { /* keep what we have */ }
      }
      if (!alive) return;
      renderHead();
      if (ACTIVE.has(search.status) && !stream) follow();
    };
  }

  // ---------- charts ----------
  function waitingText() {
    if (search.status === "queued") return "waiting for a worker…";
    if (ACTIVE.has(search.status)) return "waiting for the first results…";
    return "no finished candidates";
  }

  // Confirmations (the best few trained on for longer) are not search candidates: their
  // longer-training scores are drawn as their own trace, not mixed into the generations.
  function scoredAll() {
    return [...cands.values()].filter((c) => c.val_accuracy != null && (c.status === "completed" || c.status === "reused"));
  }
  function scored() {
    return scoredAll().filter((c) => c.origin !== "confirm");
  }

  function drawGenerations() {
    const rows = [...gens.values()].sort((a, b) => a.generation - b.generation);
    const x = rows.map((g) => g.generation);
    const line = (key, name, color, dash) => ({
      x, y: rows.map((g) => g[key]), name, type: "scatter", mode: "lines+markers",
      line: { color, width: key === "best_val_accuracy" ? 3 : 2, dash }, marker: { size: 7 },
      hovertemplate: `${name}: %{y:.1%}<extra>gen %{x}</extra>`,
    });
    const dots = scored();
    const data = [
      {
        x: dots.map((c) => c.generation + ((c.index % 7) - 3) * 0.03), y: dots.map((c) => c.val_accuracy),
        customdata: dots.map((c) => c.id), text: dots.map((c) => `#${c.id} · gen ${c.generation} · ${c.origin}`),
        name: "candidates", type: scatterType(dots.length), mode: "markers", marker: { color: COLORS.dots, size: 6 },
        hovertemplate: "%{text}<br>val acc %{y:.1%}<extra></extra>",
      },
      line("worst_val_accuracy", "worst", COLORS.worst, "dot"),
      line("mean_val_accuracy", "mean", COLORS.mean, "dash"),
      line("best_val_accuracy", "best", COLORS.best),
    ];
    const ref = search.baseline && search.baseline.val_accuracy != null
      ? referenceLine(search.baseline.val_accuracy, "seed baseline") : {};
    const gcount = search.config.generations;
    const layout = baseLayout({
      xaxis: { title: { text: "generation" }, dtick: gcount > 20 ? Math.ceil(gcount / 10) : 1, range: [-0.4, Math.max(gcount - 1, 1) + 0.4] },
      yaxis: { title: { text: "validation accuracy" }, tickformat: ".0%", rangemode: "tozero" },
      ...ref,
    });
    if (!dots.length && !rows.length) {
      layout.annotations = [...(layout.annotations || []), ...emptyNote(waitingText())];
      layout.yaxis.range = [0, 1];
    }
    draw(el.genChart, data, layout);
  }

  function drawLive() {
    const recent = [...live.entries()].sort((a, b) => a[0] - b[0]).slice(-LIVE_CURVES);
    const data = [];
    recent.forEach(([cid, c]) => {
      const color = COLORS.palette[cid % COLORS.palette.length];
      const pts = c.epochs.filter(Boolean);
      const running = c.status === "running";
      data.push({
        x: pts.map((e) => e.epoch), y: pts.map((e) => e.val_accuracy), name: `#${cid} val${running ? " (training)" : ""}`,
        type: "scatter", mode: "lines+markers", line: { color, width: running ? 3 : 1.5 },
        opacity: running ? 1 : 0.55, marker: { size: running ? 8 : 5 }, customdata: pts.map(() => cid),
        hovertemplate: `#${cid} epoch %{x}: val acc %{y:.1%}<extra></extra>`,
      });
      data.push({
        x: pts.map((e) => e.epoch), y: pts.map((e) => e.train_accuracy), name: `#${cid} train`, showlegend: false,
        type: "scatter", mode: "lines", line: { color, width: 1, dash: "dot" }, opacity: running ? 0.8 : 0.35,
        hovertemplate: `#${cid} epoch %{x}: train acc %{y:.1%}<extra></extra>`,
      });
    });
    const running = recent.filter(([, c]) => c.status === "running").map(([cid]) => `#${cid}`);
    el.liveNote.textContent = running.length ? `training now: ${running.join(", ")}` : recent.length ? "latest candidates" : "waiting for the first epoch";
    // confirmations train on past the candidates' epochs: the axis reaches their last one too
    const epochs = Math.max(search.config.epochs_per_candidate,
      ...recent.flatMap(([, c]) => c.epochs.filter(Boolean).map((e) => e.epoch)));
    draw(el.liveChart, data, baseLayout({
      xaxis: { title: { text: "epoch" }, dtick: 1, range: [0.7, Math.max(epochs, 1) + 0.3] },
      yaxis: { title: { text: "accuracy (solid: val, dotted: train)" }, tickformat: ".0%", range: [0, 1.02] },
      showlegend: recent.length > 0,
      annotations: recent.some(([, c]) => c.epochs.some(Boolean)) ? [] : emptyNote(waitingText()),
    }));
  }

  function drawScatter() {
    const pts = scored().filter((c) => c[xMetric] > 0);
    const confirmed = scoredAll().filter((c) => c.origin === "confirm" && c[xMetric] > 0);
    const best = search.best ? search.best.candidate_id : null;
    const front = paretoFront(pts.map((c) => ({ cost: c[xMetric], acc: c.val_accuracy, id: c.id })));
    const label = xMetric === "flops" ? "FLOPs" : "parameters";
    // One trace for the crowd (uniform symbol and size: cheap to draw, WebGL when large), one
    // for the marked few (the best: a star; the seed baseline: a diamond).
    const special = pts.filter((c) => c.id === best || c.origin === "baseline");
    const crowd = pts.filter((c) => c.id !== best && c.origin !== "baseline");
    const gens = search.config.generations;
    const markerBase = {
      colorscale: [[0, "#a5b4fc"], [1, "#312e81"]], cmin: 0, cmax: Math.max(1, gens - 1), line: { color: "#fff", width: 1 },
    };
    const trace = (list, extra) => ({
      x: list.map((c) => c[xMetric]), y: list.map((c) => c.val_accuracy), customdata: list.map((c) => c.id),
      text: list.map((c) => `#${c.id} · gen ${c.generation} · ${c.origin}`), mode: "markers",
      hovertemplate: `%{text}<br>val acc %{y:.1%}<br>%{x:,} ${label}<extra>click to open</extra>`, ...extra,
    });
    const data = [
      trace(crowd, {
        type: scatterType(crowd.length), name: "candidates",
        marker: { ...markerBase, size: crowd.length > 1000 ? 7 : 10, color: crowd.map((c) => c.generation),
          colorbar: { title: { text: "gen", side: "right" }, thickness: 10, len: 0.8, dtick: gens > 20 ? Math.ceil(gens / 10) : 1 } },
      }),
      trace(special, {
        type: "scatter", showlegend: special.length > 0,
        name: special.some((c) => c.origin === "baseline") ? (special.some((c) => c.id === best) ? "best / seed baseline" : "seed baseline") : "best",
        marker: { ...markerBase, size: special.map((c) => (c.id === best ? 16 : 12)), color: special.map((c) => c.generation),
          symbol: special.map((c) => (c.id === best ? "star" : "diamond")), line: { color: "#fff", width: 1 } },
      }),
      ...(confirmed.length ? [trace(confirmed, {
        type: "scatter",
        name: `confirmed (${search.config.confirm_epochs} epochs)${confirmed.some((c) => c.id === best) ? " · ☆ best" : ""}`,
        // the winner (the search's best once confirmed) is the star among them
        marker: { size: confirmed.map((c) => (c.id === best ? 16 : 12)), color: COLORS.pareto, line: { width: 2 },
          symbol: confirmed.map((c) => (c.id === best ? "star-open" : "circle-open")) },
      })] : []),
      {
        x: front.map((p) => p.cost), y: front.map((p) => p.acc), type: "scatter", mode: "lines", name: "Pareto front",
        line: { color: COLORS.pareto, width: 2, shape: "hv" }, hoverinfo: "skip",
      },
    ];
    const ref = search.baseline && search.baseline.val_accuracy != null
      ? referenceLine(search.baseline.val_accuracy, "seed baseline") : {};
    const layout = baseLayout({
      xaxis: { type: "log", title: { text: `${label} (log scale)` } },
      yaxis: { title: { text: "validation accuracy" }, tickformat: ".0%" },
      ...ref,
    });
    if (!pts.length) {
      layout.annotations = [...(layout.annotations || []), ...emptyNote(waitingText())];
      layout.yaxis.range = [0, 1];
    }
    draw(el.scatter, data, layout);
  }

  function renderFinal() {
    const final = search.final;
    const inFinal = search.phase === "final" || finalHistory.length > 0;
    if (!final && !inFinal) { el.finalCard.hidden = true; return; }
    el.finalCard.hidden = false;
    const history = final && final.history ? final.history : finalHistory.filter(Boolean);
    if (!el.finalCurves) {
      el.finalCurves = h("div", { class: "chart chart-sm", id: "chart-final" });
      el.confusion = h("div", { class: "chart chart-sq", id: "chart-confusion" });
      el.finalMetrics = h("div", { class: "metrics" });
      el.finalCard.append(
        h("div", { class: "card-head" }, h("h2", { id: "final-title" }, "Final model"),
          h("p", { class: "muted small", id: "final-sub" })),
        el.finalMetrics,
        h("div", { class: "final-grid" },
          h("div", {}, h("h3", {}, "Training curves"), el.finalCurves),
          h("div", {}, h("h3", {}, "Confusion matrix (test set)"), el.confusion)));
    }
    el.finalCard.querySelector("#final-sub").textContent = final
      ? `candidate #${final.candidate_id} retrained for ${history.length} epochs, evaluated on the held-out test set`
      : "retraining the best candidate…";
    set(el.finalMetrics, ...(final ? [
      ["Test accuracy", pct(final.test_accuracy)], ["Precision", pct(final.precision)], ["Recall", pct(final.recall)],
      ["F1", pct(final.f1)], ["Baseline val. acc.", pct(final.baseline_val_accuracy)],
      ["Latency", final.latency_ms != null ? `${final.latency_ms.toFixed(2)} ms` : "—"],
    ].map(([k, v]) => h("div", { class: "metric" }, h("div", { class: "metric-label" }, k), h("div", { class: "metric-value" }, v))) : []));
    const x = history.map((_, i) => i + 1);
    draw(el.finalCurves, [
      { x, y: history.map((e) => e.train_accuracy), name: "train accuracy", type: "scatter", mode: "lines+markers", line: { color: COLORS.best, width: 2.5 } },
      { x, y: history.map((e) => e.train_loss), name: "train loss", type: "scatter", mode: "lines+markers", yaxis: "y2", line: { color: COLORS.worst, width: 2, dash: "dot" } },
    ], baseLayout({
      xaxis: { title: { text: "epoch" }, dtick: 1 },
      yaxis: { title: { text: "accuracy" }, tickformat: ".0%", range: [0, 1.02] },
      yaxis2: { title: { text: "loss" }, overlaying: "y", side: "right", showgrid: false, rangemode: "tozero" },
      margin: { l: 56, r: 56, t: 30, b: 44 },
    }));
    if (final && final.confusion_matrix) {
      el.confusion.hidden = false;
      const cm = final.confusion_matrix;
      const names = (datasetInfo && datasetInfo.class_names.length === cm.length) ? datasetInfo.class_names : cm.map((_, i) => String(i));
      const labels = names.map((n, i) => (names.filter((m) => m === n).length > 1 ? `${n} (${i})` : n));
      draw(el.confusion, [{
        z: cm, x: labels, y: labels, type: "heatmap", colorscale: [[0, "#f8fafc"], [0.15, "#c7d2fe"], [1, "#312e81"]],
        hovertemplate: "true %{y}, predicted %{x}: %{z}<extra></extra>", showscale: false,
        text: cm.map((r) => r.map((v) => (v ? String(v) : ""))), texttemplate: "%{text}", textfont: { size: 10 },
      }], baseLayout({
        xaxis: { title: { text: "predicted" }, type: "category", tickangle: labels.some((l) => l.length > 3) ? -35 : 0 },
        yaxis: { title: { text: "true" }, type: "category", autorange: "reversed" },
        margin: { l: 80, r: 10, t: 10, b: 80 },
      }));
    } else {
      el.confusion.hidden = true;
    }
  }

  let datasetInfo = null;
  api.datasets().then((list) => {
    datasetInfo = list.find((d) => d.id === search.dataset) || null;
    if (alive && search.final) renderFinal();
  }).catch(() => {});

  // Which charts an event touched; one throttled pass draws only those.
  const dirty = new Set();
  const redraw = throttle(() => {
    if (!alive) return;
    const upTo = handledEventId;
    if (dirty.has("gen")) drawGenerations();
    if (dirty.has("live")) drawLive();
    if (dirty.has("scatter")) drawScatter();
    if (dirty.has("final")) renderFinal();
    dirty.clear();
    root.dataset.renderedEvent = String(upTo);
  }, 100);
  function touch(...what) {
    for (const w of what.length ? what : ["gen", "live", "scatter", "final"]) dirty.add(w);
    redraw();
  }

  const refreshSearch = debounce(async () => {
    try {
      const fresh = await api.search(id);
      if (!alive) return;
      search = fresh;
      renderHead();
      touch();
    } catch { /* the stream will retry */ }
  }, 400);

  // ---------- live events ----------
  function onEvent(type, d, eventId) {
    if (eventId > handledEventId) handledEventId = eventId;
    switch (type) {
      case "search_status":
        search.status = d.status;
        if (d.phase !== undefined) search.phase = d.phase;
        if (d.error) search.error = d.error;
        renderHead();
        refreshSearch();
        break;
      case "candidate_started": {
        const c = cands.get(d.candidate_id) || { id: d.candidate_id, generation: d.generation, index: d.index, origin: "", val_accuracy: null };
        if (!["completed", "failed", "reused"].includes(c.status)) c.status = "running";
        cands.set(d.candidate_id, c);
        const l = live.get(d.candidate_id) || { generation: d.generation, index: d.index, epochs: [] };
        l.status = "running";
        live.set(d.candidate_id, l);
        table.refreshSoon();
        touch("live");
        return;
      }
      case "epoch": {
        const l = live.get(d.candidate_id) || { generation: d.generation, index: d.index, epochs: [], status: "running" };
        l.epochs[d.epoch - 1] = d;
        live.set(d.candidate_id, l);
        touch("live");
        return;
      }
      case "candidate_finished": {
        const c = cands.get(d.candidate_id) || { id: d.candidate_id };
        Object.assign(c, {
          generation: d.generation, index: d.index, status: d.status, val_accuracy: d.val_accuracy,
          params: d.params, flops: d.flops, origin: d.origin || c.origin,
        });
        cands.set(d.candidate_id, c);
        const l = live.get(d.candidate_id);
        if (l) l.status = d.status;
        search.progress.candidates_done = [...cands.values()].filter((x) => !["pending", "running"].includes(x.status)).length;
        renderHead();
        refreshSearch();
        table.refreshSoon();
        break;
      }
      case "generation_finished":
        gens.set(d.generation, d);
        refreshSearch();
        break;
      case "final_epoch":
        search.phase = "final";
        finalHistory[d.epoch - 1] = d;
        touch("final");
        return;
      case "search_finished":
        refreshSearch();
        table.refreshSoon();
        break;
      default:
        return;
    }
    // The in-progress generation: stats from the candidates seen so far.
    if (type === "candidate_finished") {
      const g = d.generation;
      const done = scored().filter((c) => c.generation === g);
      const prev = gens.get(g);
      if (done.length && (!prev || prev.partial || prev.completed < done.length)) {
        const accs = done.map((c) => c.val_accuracy);
        {
          gens.set(g, {
            generation: g, count: done.length, completed: done.length, partial: true,
            best_val_accuracy: Math.max(...accs), worst_val_accuracy: Math.min(...accs),
            mean_val_accuracy: accs.reduce((a, b) => a + b, 0) / accs.length,
          });
        }
      }
    }
    touch();
  }

  function addCurves(curveList) {
    for (const full of curveList) {
      if (!full) continue; // a missing candidate is not fatal
      const l = live.get(full.id) || { generation: full.generation, index: full.index, epochs: [] };
      l.status = l.status || full.status;
      full.epochs.forEach((e) => { l.epochs[e.epoch - 1] = l.epochs[e.epoch - 1] || { ...e, candidate_id: full.id }; });
      live.set(full.id, l);
    }
  }
  await plotly;
  if (!alive) return null;
  performance.mark("detail:plotly");

  renderHead();
  drawGenerations();
  performance.mark("detail:chart-generations");
  drawLive();
  drawScatter();
  performance.mark("detail:chart-scatter");
  renderFinal();
  root.dataset.renderedEvent = String(handledEventId);
  // Since navigation start (performance.now()'s origin): what bench/dashboard.py reports.
  root.dataset.readyMs = String(Math.round(performance.now()));
  table.load();
  loadCurves().then((curveList) => {
    if (!alive) return;
    addCurves(curveList);
    drawLive();
  }).catch(() => { /* the live chart fills from the stream instead */ });

  bindClicks(el.scatter);
  bindClicks(el.genChart);

  function bindClicks(div) {
    if (typeof div.on === "function") {
      div.on("plotly_click", (ev) => {
        const pt = ev.points && ev.points[0];
        if (pt && pt.customdata != null && pt.data.mode === "markers") navigate(`/searches/${id}/candidates/${pt.customdata}`);
      });
    }
  }

  function follow() {
    stream = new SearchStream(id, onEvent, {
      after: handledEventId,
      onEnd: () => { refreshSearch(); table.refreshSoon(); },
      // Back after a lost connection: the stream replays what was missed; the header and the
      // table are re-read so nothing derived from the snapshot stays stale.
      onReconnect: () => { refreshSearch(); table.refreshSoon(); },
    });
  }
  if (ACTIVE.has(search.status)) follow();
  else setConnection("ended");

  return () => {
    alive = false;
    if (stream) stream.close();
    delete root.dataset.renderedEvent;
    delete root.dataset.readyMs;
    setConnection("idle");
    redraw.cancel();
    refreshSearch.cancel();
    table.destroy();
    for (const div of root.querySelectorAll(".js-plotly-plot")) purge(div);
  };
}
