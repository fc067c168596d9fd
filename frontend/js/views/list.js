// "/": every search with its status, progress, best accuracy, time, and actions.

import { api } from "../api.js";
import { navigate } from "../router.js";
import { SearchesStream } from "../sse.js";
import { ACTIVE, badge, debounce, duration, h, pct, progressBar, toast, when, set } from "../util.js";
import { createWorkersPanel } from "./workers.js";

export const nav = "list";
const PAGE = 25;

export async function mount(root, _params, query) {
  document.title = "Searches · nasboard";
  let offset = Math.max(0, Number(query.get("offset")) || 0);
  let alive = true;
  let shown = null; // the page of searches on screen: {items, count}

  const body = h("div", { class: "list-body" });
  const workers = createWorkersPanel();
  root.append(
    h("div", { class: "page-head" },
      h("div", {},
        h("h1", {}, "Searches"),
        h("p", { class: "muted" }, "Evolve CNN architectures and watch them train, generation after generation.")),
      h("a", { class: "btn btn-primary", href: "/new" }, "+ New search")),
    body,
    workers.el,
  );

  let loading = 0;
  async function refresh() {
    const my = ++loading;
    let data;
    try {
      data = await api.searches(offset, PAGE);
    } catch (err) {
      if (!alive || my !== loading) return;
      set(body, h("div", { class: "empty", role: "alert" }, `Could not load searches: ${err.message}`));
      return;
    }
    if (!alive || my !== loading) return;
    render(data);
  }
  const refreshSoon = debounce(refresh, 250);

  /** A `search` event from GET /api/events: patch its row, or reload when the page changes. */
  function onSearch(s) {
    if (!shown) return;
    const i = shown.items.findIndex((x) => x.id === s.id);
    if (s.deleted || (i < 0 && offset === 0 && (!shown.items.length || s.id > shown.items[0].id))) {
      refreshSoon(); // a new search (or one removed): the page and the count change
      return;
    }
    if (i < 0) return; // on another page
    shown.items[i] = s;
    const old = body.querySelector(`tr[data-search-id='${s.id}']`);
    if (old) old.replaceWith(row(s));
  }

  function render(data) {
    shown = data;
    if (data.count === 0) {
      set(body,
        h("div", { class: "empty hero" },
          h("h2", {}, "No searches yet"),
          h("p", { class: "muted" }, "Pick a dataset, describe which networks to try, and nasboard evolves them for you."),
          h("a", { class: "btn btn-primary", href: "/new" }, "Start your first search")),
      );
      return;
    }
    const rows = data.items.map(row);
    const table = h("div", { class: "table-wrap" },
      h("table", { class: "table searches-table" },
        h("caption", { class: "sr-only" }, "All searches, newest first"),
        h("thead", {}, h("tr", {},
          h("th", { scope: "col" }, "Search"),
          h("th", { scope: "col" }, "Status"),
          h("th", { scope: "col", class: "col-progress" }, "Progress"),
          h("th", { scope: "col", class: "num" }, "Best val. acc."),
          h("th", { scope: "col", class: "hide-sm" }, "Elapsed / ETA"),
          h("th", { scope: "col" }, h("span", { class: "sr-only" }, "Actions")))),
        h("tbody", {}, rows)));
    const pager = h("div", { class: "pager" },
      h("span", { class: "muted" }, `${offset + 1}–${Math.min(offset + PAGE, data.count)} of ${data.count}`),
      h("button", { class: "btn btn-sm", disabled: offset === 0, onclick: () => go(offset - PAGE) }, "← Newer"),
      h("button", { class: "btn btn-sm", disabled: offset + PAGE >= data.count, onclick: () => go(offset + PAGE) }, "Older →"));
    set(body, table, data.count > PAGE ? pager : null);
  }

  function go(next) {
    offset = Math.max(0, next);
    history.replaceState({}, "", offset ? `/?offset=${offset}` : "/");
    refresh();
  }

  function row(s) {
    const p = s.progress;
    const href = `/searches/${s.id}`;
    const active = ACTIVE.has(s.status);
    const progressText = s.status === "queued" ? "waiting for a worker"
      : !active && p.candidates_done === 0 ? (s.status === "cancelled" ? "cancelled before any candidate finished" : "no candidate finished")
      : s.phase === "final" && active ? "training the final model"
      : s.phase === "confirm" && active ? `confirming the best ${s.config.confirm_top}`
        : `generation ${Math.min(p.generation + 1, p.generations)}/${p.generations} · ${p.candidates_done}/${p.candidates_total || "?"} candidates`;
    const actions = h("div", { class: "row-actions" },
      active ? h("button", {
        class: "btn btn-sm btn-danger-ghost", "aria-label": `Cancel search ${s.name}`,
        onclick: async (e) => {
          e.target.disabled = true;
          try { await api.cancelSearch(s.id); toast(`Cancelled “${s.name}”`, "info"); } catch (err) { toast(err.message); }
          refresh();
        },
      }, "Cancel") : null,
      s.model_available ? h("a", {
        class: "btn btn-sm", href: api.searchModelUrl(s.id), download: "",
        "aria-label": `Download the best model of ${s.name}`,
      }, "Model") : null,
      h("a", { class: "btn btn-sm btn-ghost", href: `/new?clone=${s.id}`, "aria-label": `Clone search ${s.name}` }, "Clone"));
    return h("tr", { class: "clickable", dataset: { searchId: String(s.id) },
      onclick: (e) => { if (!e.target.closest("a,button")) navigate(href); } },
      h("td", {},
        h("a", { href, class: "row-title" }, s.name),
        h("div", { class: "muted small" }, `#${s.id} · ${s.dataset} · ${s.strategy} · ${when(s.created_at)}`)),
      h("td", {}, badge(s.status, s.error || "")),
      h("td", { class: "col-progress" },
        progressBar(s.status === "succeeded" ? 1 : p.fraction, `Progress of ${s.name}`, s.status),
        h("div", { class: "muted small" }, progressText)),
      h("td", { class: "num strong" }, s.best ? pct(s.best.val_accuracy) : "—",
        s.final ? h("div", { class: "muted small" }, `test ${pct(s.final.test_accuracy)}`) : null),
      h("td", { class: "hide-sm" }, duration(p.elapsed_s),
        active && p.eta_s != null ? h("div", { class: "muted small" }, `~${duration(p.eta_s)} left`) : null),
      h("td", {}, actions));
  }

  await refresh();
  // Live statuses: reload on every (re)connect, then patch rows as searches change.
  const stream = new SearchesStream(onSearch, { onOpen: () => refresh() });
  return () => { alive = false; refreshSoon.cancel(); stream.close(); workers.stop(); };
}
