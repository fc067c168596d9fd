// "/": every search with its status, progress, best accuracy, time, and actions.

import { api } from "../api.js";
import { setConnection } from "../conn.js";
import { navigate } from "../router.js";
import { ACTIVE, badge, duration, h, pct, progressBar, toast, when, set } from "../util.js";

export const nav = "list";
const PAGE = 25;
const REFRESH_MS = 3000;

export async function mount(root, _params, query) {
  document.title = "Searches · nasboard";
  setConnection("idle");
  let offset = Math.max(0, Number(query.get("offset")) || 0);
  let timer = null;
  let alive = true;

  const body = h("div", { class: "list-body" });
  root.append(
    h("div", { class: "page-head" },
      h("div", {},
        h("h1", {}, "Searches"),
        h("p", { class: "muted" }, "Evolve CNN architectures and watch them train, generation after generation.")),
      h("a", { class: "btn btn-primary", href: "/new" }, "+ New search")),
    body,
  );

  async function refresh() {
    clearTimeout(timer);
    let data;
    try {
      data = await api.searches(offset, PAGE);
    } catch (err) {
      if (!alive) return;
      set(body, h("div", { class: "empty", role: "alert" }, `Could not load searches: ${err.message}`));
      timer = setTimeout(refresh, REFRESH_MS * 3);
      return;
    }
    if (!alive) return;
    render(data);
    // Keep statuses fresh while something is running (a light list refresh, not a stream).
    if (data.items.some((s) => ACTIVE.has(s.status))) timer = setTimeout(refresh, REFRESH_MS);
  }

  function render(data) {
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
  return () => { alive = false; clearTimeout(timer); };
}
