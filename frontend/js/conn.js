// The connection-state indicator in the top bar.

const LABELS = {
  idle: "idle",
  connecting: "connecting…",
  live: "live",
  reconnecting: "reconnecting…",
  offline: "offline",
  ended: "up to date",
};

export function setConnection(state) {
  const el = document.getElementById("conn");
  if (!el) return;
  el.dataset.state = state;
  el.querySelector(".conn-text").textContent = LABELS[state] || state;
  el.title = {
    live: "Receiving live updates from the server",
    reconnecting: "Connection lost; reconnecting (no updates are lost)",
    offline: "You are offline; updates resume when the connection is back",
    ended: "The search is over; everything has been received",
  }[state] || "No live stream on this page";
}

window.addEventListener("offline", () => setConnection("offline"));
