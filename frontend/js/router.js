// Client-side routing with history.pushState: every view has its own URL, Back works.

const routes = [];
let current = null; // {cleanup}
let root = null;
let token = 0;

/** Register a view: pattern like "/searches/:id"; load returns the view module. */
export function route(pattern, load) {
  const keys = [];
  const regex = new RegExp(
    "^" + pattern.replace(/:(\w+)/g, (_, k) => { keys.push(k); return "([^/]+)"; }) + "/?$",
  );
  routes.push({ regex, keys, load });
}

export function navigate(path, { replace = false } = {}) {
  if (path === location.pathname + location.search && !replace) return render();
  if (replace) history.replaceState({}, "", path);
  else history.pushState({}, "", path);
  window.scrollTo(0, 0);
  return render();
}

/** Change the query string of the current view without re-rendering it. */
export function setQuery(params) {
  const q = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(params)) {
    if (v === null || v === undefined || v === "") q.delete(k);
    else q.set(k, String(v));
  }
  const s = q.toString();
  history.replaceState({}, "", location.pathname + (s ? `?${s}` : ""));
}

async function render() {
  const my = ++token;
  if (current && current.cleanup) {
    try { current.cleanup(); } catch (err) { console.error(err); }
  }
  current = null;
  const path = location.pathname;
  for (const r of routes) {
    const m = path.match(r.regex);
    if (!m) continue;
    const params = Object.fromEntries(r.keys.map((k, i) => [k, decodeURIComponent(m[i + 1])]));
    const view = await r.load();
    if (my !== token) return;
    root.replaceChildren();
    document.querySelectorAll("[data-nav]").forEach((a) => {
      a.toggleAttribute("aria-current", a.dataset.nav === view.nav);
      if (a.dataset.nav === view.nav) a.setAttribute("aria-current", "page");
    });
    const query = new URLSearchParams(location.search);
    let cleanup = null;
    try {
      cleanup = await view.mount(root, params, query);
    } catch (err) {
      console.error(err);
      root.replaceChildren(errorBox(err));
    }
    if (my !== token) {
      if (cleanup) cleanup();
      return;
    }
    current = { cleanup };
    return;
  }
  root.replaceChildren(errorBox(new Error(`No page at ${path}`)));
}

function errorBox(err) {
  const box = document.createElement("div");
  box.className = "empty";
  box.setAttribute("role", "alert");
  const title = document.createElement("h1");
  title.textContent = err.status === 404 ? "Not found" : "Something went wrong";
  const p = document.createElement("p");
  p.textContent = err.message;
  const a = document.createElement("a");
  a.href = "/";
  a.dataset.link = "";
  a.textContent = "Back to all searches";
  box.append(title, p, a);
  return box;
}

export function start(el) {
  root = el;
  window.addEventListener("popstate", render);
  document.addEventListener("click", (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = e.target.closest("a[href]");
    if (!a || a.target || a.hasAttribute("download")) return;
    const url = new URL(a.href, location.href);
    if (url.origin !== location.origin) return;
    if (url.pathname.startsWith("/api/") || url.pathname.startsWith("/static/")) return;
    e.preventDefault();
    navigate(url.pathname + url.search);
  });
  return render();
}
