// Entry point: register the views, show who is signed in (when auth is on), start the router.

import { api } from "./api.js";
import { loadPlotly } from "./charts.js";
import { route, start } from "./router.js";
import { h, set, toast } from "./util.js";

route("/", () => import("./views/list.js"));
route("/new", () => import("./views/form.js"));
route("/searches/:id", () => import("./views/detail.js"));
route("/searches/:id/candidates/:cid", () => import("./views/candidate.js"));

window.addEventListener("error", (e) => console.error("uncaught", e.message));

/** With auth on, the top bar names the user and offers logout; with it off (404) nothing. */
async function showUser() {
  const el = document.getElementById("user");
  let user = null;
  try {
    user = await api.me(); // a 401 has already sent the browser to /login
  } catch {
    return;
  }
  if (!user) return;
  const name = user.username || user.name || user.email || `user ${user.id ?? ""}`.trim();
  const logout = h("button", { class: "btn btn-sm btn-ghost", id: "logout", type: "button",
    onclick: async () => {
      logout.disabled = true;
      try {
        await api.logout();
      } catch (err) {
        if (err.status !== 401) { toast(`Could not log out: ${err.message}`); logout.disabled = false; return; }
      }
      location.assign("/login");
    } }, "Log out");
  set(el, h("span", { class: "user-name", id: "user-name", title: "Signed in" }, name), logout);
  el.hidden = false;
}

loadPlotly(); // runs while the first view fetches its data
showUser();
start(document.getElementById("app"));
