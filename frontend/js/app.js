// Entry point: register the views and start the router.

import { route, start } from "./router.js";

route("/", () => import("./views/list.js"));
route("/new", () => import("./views/form.js"));
route("/searches/:id", () => import("./views/detail.js"));
route("/searches/:id/candidates/:cid", () => import("./views/candidate.js"));

window.addEventListener("error", (e) => console.error("uncaught", e.message));
start(document.getElementById("app"));
