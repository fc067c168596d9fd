// The "Workers" panel of the list page: every training process, alive or recently gone,
// its device, what it trains now (a link to the candidate) and its throughput. Polled every
// 5 s: a handful of rows, and no event carries a worker's heartbeat.

import { api } from "../api.js";
import { duration, h, pct, set, when } from "../util.js";

const POLL_MS = 5000;

function status(w) {
  return w.alive
    ? h("span", { class: "badge badge-completed", title: `last heartbeat ${when(w.heartbeat_at)}` }, "alive")
    : h("span", { class: "badge badge-pending", title: `last heartbeat ${when(w.heartbeat_at)}` }, "gone");
}

function training(w) {
  const c = w.current_candidate;
  if (c) {
    return h("a", { href: `/searches/${c.search_id}/candidates/${c.id}`, class: "worker-current" },
      `#${c.id}`, h("span", { class: "muted small" }, ` search ${c.search_id} · gen ${c.generation} · ${c.index}`));
  }
  return h("span", { class: "muted" }, w.alive ? "idle" : "—");
}

function row(w) {
  const start = new Date(w.started_at).getTime();
  const lived = w.alive
    ? `up ${duration((Date.now() - start) / 1000)}`
    : `ran ${duration((new Date(w.heartbeat_at).getTime() - start) / 1000)}`;
  return h("tr", { dataset: { worker: w.name }, class: w.alive ? "" : "worker-gone" },
    h("td", {},
      h("div", { class: "row-title" }, w.name),
      h("div", { class: "muted small" },
        `${w.concurrency > 1 ? `pool of ${w.concurrency} · ` : ""}${w.tf_threads ? `${w.tf_threads} TF threads · ` : ""}${lived}`)),
    h("td", {}, status(w), w.alive ? null : h("div", { class: "muted small" }, `seen ${when(w.heartbeat_at)}`)),
    h("td", { class: "worker-device" }, w.device || h("span", { class: "muted" }, "detecting…")),
    h("td", {}, training(w)),
    h("td", { class: "num" }, String(w.candidates_done)),
    h("td", { class: "num" }, `${w.throughput_per_min.toFixed(2)} / min`),
    h("td", { class: "num hide-sm" }, pct(w.busy_fraction, 0)));
}

/** The panel's element and a stop() for the view's cleanup. */
export function createWorkersPanel() {
  const summary = h("p", { class: "muted small", id: "workers-summary" });
  const body = h("div", { class: "workers-body" }, h("p", { class: "muted" }, "Loading workers…"));
  const el = h("section", { class: "card workers-panel", id: "workers", "aria-labelledby": "workers-title" },
    h("div", { class: "card-head" }, h("h2", { id: "workers-title" }, "Workers"), summary),
    body);
  let timer = null;
  let stopped = false;

  function render(data) {
    summary.textContent = `${data.alive} alive${data.count > data.alive ? ` · ${data.count - data.alive} gone` : ""} · refreshed every 5 s`;
    if (!data.count) {
      set(body, h("p", { class: "muted" }, "No worker has registered yet: start one with ",
        h("code", {}, "nasboard worker"), " (one process per GPU)."));
      return;
    }
    set(body, h("div", { class: "table-wrap" },
      h("table", { class: "table workers-table" },
        h("caption", { class: "sr-only" }, "Worker processes, alive first"),
        h("thead", {}, h("tr", {},
          h("th", { scope: "col" }, "Worker"),
          h("th", { scope: "col" }, "Status"),
          h("th", { scope: "col" }, "Device"),
          h("th", { scope: "col" }, "Training"),
          h("th", { scope: "col", class: "num" }, "Done"),
          h("th", { scope: "col", class: "num" }, "Throughput"),
          h("th", { scope: "col", class: "num hide-sm" }, "Busy"))),
        h("tbody", {}, data.items.map(row)))));
  }

  async function poll() {
    try {
      const data = await api.workers();
      if (stopped) return;
      render(data);
    } catch (err) {
      if (stopped) return;
      summary.textContent = "";
      set(body, h("p", { class: "muted", role: "status" }, `Could not load workers: ${err.message}`));
    }
    if (!stopped) timer = setTimeout(poll, POLL_MS);
  }

  poll();
  return {
    el,
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
