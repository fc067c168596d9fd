// The candidate table of a search: server-side sort, filter and pagination; pick two to compare.

import { api } from "../api.js";
import { COLORS, baseLayout, draw, purge } from "../charts.js";
import { renderGraph } from "../graph.js";
import { setQuery } from "../router.js";
import { badge, debounce, earlyStopBadge, duration, h, num, originLabel, pct, set } from "../util.js";

const PAGE = 15;
const COLUMNS = [
  ["id", "ID", true], ["generation", "Gen", true], ["index", "#", true], ["status", "Status", false],
  ["origin", "Origin", false], ["val_accuracy", "Val. acc.", true], ["params", "Params", true],
  ["flops", "FLOPs", true], ["duration_s", "Time", true],
];
const STATUSES = ["pending", "running", "completed", "reused", "failed", "cancelled"];

export function createCandidateTable(search, { onOpen }) {
  const state = { sort: "val_accuracy", order: "desc", status: "", generation: "", offset: 0 };
  const selected = new Set();
  const initial = new URLSearchParams(location.search).get("compare");
  if (initial) initial.split(",").map(Number).filter(Boolean).slice(0, 2).forEach((x) => selected.add(x));
  let alive = true;
  let loading = 0;
  let data = { items: [], count: 0 };

  const statusSel = h("select", { id: "filter-status", class: "select-sm", onchange: () => { state.status = statusSel.value; state.offset = 0; load(); } },
    h("option", { value: "" }, "all"), STATUSES.map((s) => h("option", { value: s }, s)));
  const genSel = h("select", { id: "filter-generation", class: "select-sm", onchange: () => { state.generation = genSel.value; state.offset = 0; load(); } },
    h("option", { value: "" }, "all"),
    Array.from({ length: search.config.generations }, (_, g) => h("option", { value: String(g) }, String(g))));
  const compareBtn = h("button", { class: "btn btn-sm", id: "compare-btn", disabled: true, onclick: () => showCompare() }, "Compare 2 selected");
  const info = h("span", { class: "muted small", "aria-live": "polite" });
  const tbody = h("tbody");
  const thead = h("thead");
  const pager = h("div", { class: "pager" });
  const comparePanel = h("div", { class: "compare", id: "compare", hidden: true });

  const el = h("div", { class: "cand-table" },
    h("div", { class: "toolbar" },
      h("div", { class: "inline-field" }, h("label", { for: "filter-status" }, "Status"), statusSel),
      h("div", { class: "inline-field" }, h("label", { for: "filter-generation" }, "Generation"), genSel),
      h("div", { class: "spacer" }), info, compareBtn),
    h("div", { class: "table-wrap" },
      h("table", { class: "table", id: "candidates-table" },
        h("caption", { class: "sr-only" }, "Candidates of this search; column headers sort"), thead, tbody)),
    pager, comparePanel);

  function renderHead() {
    set(thead, h("tr", {},
      h("th", { scope: "col", class: "col-check" }, h("span", { class: "sr-only" }, "Select to compare")),
      COLUMNS.map(([key, label, sortable]) => {
        const active = state.sort === key;
        const aria = active ? (state.order === "asc" ? "ascending" : "descending") : undefined;
        const numeric = ["val_accuracy", "params", "flops", "duration_s"].includes(key);
        return h("th", { scope: "col", "aria-sort": aria, class: numeric ? "num" : "" },
          sortable ? h("button", {
            class: `sort ${active ? "active" : ""}`, "data-sort": key,
            onclick: () => {
              if (state.sort === key) state.order = state.order === "asc" ? "desc" : "asc";
              else { state.sort = key; state.order = ["val_accuracy"].includes(key) ? "desc" : "asc"; }
              state.offset = 0;
              load();
            },
          }, label, h("span", { class: "sort-icon", "aria-hidden": "true" }, active ? (state.order === "asc" ? "▲" : "▼") : "↕")) : label);
      })));
  }

  function render() {
    renderHead();
    if (!data.items.length) {
      set(tbody, h("tr", {}, h("td", { colspan: String(COLUMNS.length + 1), class: "empty-cell" },
        state.status || state.generation ? "No candidate matches these filters." : "No candidates yet.")));
    } else {
      set(tbody, ...data.items.map((c) => {
        const box = h("input", { type: "checkbox", checked: selected.has(c.id), "aria-label": `Select candidate ${c.id} to compare`,
          onchange: () => {
            if (box.checked) {
              selected.add(c.id);
              if (selected.size > 2) selected.delete([...selected][0]);
            } else selected.delete(c.id);
            render();
          } });
        const href = `/searches/${search.id}/candidates/${c.id}`;
        return h("tr", { class: "clickable", dataset: { candidateId: String(c.id) },
          onclick: (e) => { if (!e.target.closest("a,button,input,label")) onOpen(c.id); } },
        h("td", { class: "col-check" }, box),
        h("td", {}, h("a", { href }, `#${c.id}`)),
        h("td", {}, c.generation), h("td", {}, c.index),
        h("td", {}, badge(c.status, c.error || ""), " ", earlyStopBadge(c)),
        h("td", { title: c.detail || "" }, originLabel(c.origin)),
        h("td", { class: "num strong" }, pct(c.val_accuracy)),
        h("td", { class: "num" }, num(c.params)), h("td", { class: "num" }, num(c.flops)),
        h("td", { class: "num" }, duration(c.duration_s)));
      }));
    }
    const end = Math.min(state.offset + PAGE, data.count);
    info.textContent = data.count ? `${state.offset + 1}–${end} of ${data.count}` : "";
    set(pager,
      h("button", { class: "btn btn-sm", disabled: state.offset === 0, onclick: () => { state.offset = Math.max(0, state.offset - PAGE); load(); } }, "← Previous"),
      h("span", { class: "muted small" }, `page ${Math.floor(state.offset / PAGE) + 1} of ${Math.max(1, Math.ceil(data.count / PAGE))}`),
      h("button", { class: "btn btn-sm", disabled: end >= data.count, onclick: () => { state.offset += PAGE; load(); } }, "Next →"));
    compareBtn.disabled = selected.size !== 2;
    compareBtn.textContent = selected.size === 2 ? `Compare #${[...selected].join(" and #")}` : `Select 2 to compare (${selected.size}/2)`;
  }

  async function load() {
    const my = ++loading;
    try {
      const page = await api.candidates(search.id, {
        offset: state.offset, limit: PAGE, sort: state.sort, order: state.order,
        status: state.status, generation: state.generation,
      });
      if (!alive || my !== loading) return;
      data = page;
      render();
    } catch (err) {
      if (!alive) return;
      set(tbody, h("tr", {}, h("td", { colspan: String(COLUMNS.length + 1), class: "empty-cell" }, `Could not load candidates: ${err.message}`)));
    }
  }

  async function showCompare() {
    const ids = [...selected].slice(0, 2);
    if (ids.length !== 2) return;
    setQuery({ compare: ids.join(",") });
    comparePanel.hidden = false;
    set(comparePanel, h("p", { class: "muted" }, "Loading…"));
    let pairs;
    try {
      pairs = await Promise.all(ids.map(async (cid) => [await api.candidate(cid), await api.graph(cid).catch(() => null)]));
    } catch (err) {
      set(comparePanel, h("p", { class: "field-error" }, err.message));
      return;
    }
    if (!alive) return;
    const [a, b] = pairs.map((p) => p[0]);
    const better = (x, y, higher = true) => (x == null || y == null || x === y ? "" : (higher ? x > y : x < y) ? "win" : "");
    const rows = [
      ["Validation accuracy", pct(a.val_accuracy), pct(b.val_accuracy), better(a.val_accuracy, b.val_accuracy), better(b.val_accuracy, a.val_accuracy)],
      ["Validation loss", num(a.metrics.val_loss), num(b.metrics.val_loss), better(a.metrics.val_loss, b.metrics.val_loss, false), better(b.metrics.val_loss, a.metrics.val_loss, false)],
      ["Parameters", num(a.params), num(b.params), better(a.params, b.params, false), better(b.params, a.params, false)],
      ["FLOPs", num(a.flops), num(b.flops), better(a.flops, b.flops, false), better(b.flops, a.flops, false)],
      ["Training time", duration(a.duration_s), duration(b.duration_s), better(a.duration_s, b.duration_s, false), better(b.duration_s, a.duration_s, false)],
      ["Generation · index", `${a.generation} · ${a.index}`, `${b.generation} · ${b.index}`, "", ""],
      ["Origin", `${originLabel(a.origin)}${a.detail ? ` — ${a.detail}` : ""}`, `${originLabel(b.origin)}${b.detail ? ` — ${b.detail}` : ""}`, "", ""],
      ["Layers", pairs[0][1] ? String(pairs[0][1].nodes.length) : "—", pairs[1][1] ? String(pairs[1][1].nodes.length) : "—", "", ""],
    ];
    const curves = h("div", { class: "chart chart-sm", id: "chart-compare" });
    const graphs = pairs.map(([c, g]) => {
      const box = h("div", { class: "compare-graph" });
      if (g) renderGraph(box, g, { title: `Candidate ${c.id}` });
      return h("div", {}, h("h4", {}, h("a", { href: `/searches/${search.id}/candidates/${c.id}` }, `#${c.id}`)), box);
    });
    set(comparePanel,
      h("div", { class: "card-head" }, h("h3", {}, `Candidate #${a.id} vs. #${b.id}`),
        h("button", { class: "btn btn-sm btn-ghost", onclick: () => { purge(curves); comparePanel.hidden = true; setQuery({ compare: null }); } }, "Close")),
      h("div", { class: "table-wrap" }, h("table", { class: "table compare-table" },
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, ""),
          h("th", { scope: "col" }, h("a", { href: `/searches/${search.id}/candidates/${a.id}` }, `#${a.id}`)),
          h("th", { scope: "col" }, h("a", { href: `/searches/${search.id}/candidates/${b.id}` }, `#${b.id}`)))),
        h("tbody", {}, rows.map(([k, x, y, wx, wy]) => h("tr", {}, h("th", { scope: "row" }, k), h("td", { class: wx }, x), h("td", { class: wy }, y)))))),
      curves,
      h("div", { class: "compare-graphs" }, graphs));
    const traces = [];
    [a, b].forEach((c, i) => {
      const color = i === 0 ? COLORS.best : COLORS.worst;
      const x = c.epochs.map((e) => e.epoch);
      traces.push({ x, y: c.epochs.map((e) => e.val_accuracy), name: `#${c.id} val`, type: "scatter", mode: "lines+markers", line: { color, width: 2.5 } });
      traces.push({ x, y: c.epochs.map((e) => e.train_accuracy), name: `#${c.id} train`, type: "scatter", mode: "lines", line: { color, width: 1.5, dash: "dot" } });
    });
    draw(curves, traces, baseLayout({ xaxis: { title: { text: "epoch" }, dtick: 1 }, yaxis: { title: { text: "accuracy" }, tickformat: ".0%" } }));
    comparePanel.scrollIntoView({ behavior: "smooth", block: "start" });
  }

  const refreshSoon = debounce(load, 700);

  return {
    el,
    async load() {
      await load();
      if (selected.size === 2) showCompare();
    },
    refreshSoon,
    destroy() { alive = false; refreshSoon.cancel(); },
  };
}
