// Live events of one search over Server-Sent Events, with exactly-once delivery to the page.
//
// The page loads a snapshot (which says `last_event_id`), then opens the stream with
// `?after=last_event_id`. On any error we close the EventSource and reopen it ourselves with
// `?after=<last id handled>` (the browser's own retry would resend the original URL), with a
// short backoff. Anything at or below the last handled id is dropped, so a replay after a
// reconnect never double-counts. When the server says `end` the search is over: close.

import { api, onUnauthorized } from "./api.js";
import { setConnection } from "./conn.js";

export const EVENT_TYPES = [
  "search_status", "candidate_started", "epoch", "candidate_finished",
  "generation_finished", "final_epoch", "search_finished",
];

export class SearchStream {
  /**
   * @param {number} searchId
   * @param {(type: string, data: object, id: number) => void} onEvent
   * @param {{after?: number, onEnd?: () => void, onState?: (s: string) => void,
   *          onReconnect?: () => void}} options
   */
  constructor(searchId, onEvent, options = {}) {
    this.searchId = searchId;
    this.onEvent = onEvent;
    this.onEnd = options.onEnd || (() => {});
    this.onState = options.onState || (() => {});
    this.onReconnect = options.onReconnect || (() => {});
    this.lastId = options.after || 0;
    this.source = null;
    this.closed = false;
    this.retryTimer = null;
    this.failures = 0;
    this.everOpen = false;
    this._online = () => { if (!this.closed) this.open(); };
    this._offline = () => this.state("offline");
    window.addEventListener("online", this._online);
    window.addEventListener("offline", this._offline);
    this.open();
  }

  state(s) {
    setConnection(s);
    this.onState(s);
  }

  open() {
    if (this.closed) return;
    clearTimeout(this.retryTimer);
    if (this.source) this.source.close();
    const source = new EventSource(api.eventsUrl(this.searchId, this.lastId));
    this.source = source;
    this.state(this.failures ? "reconnecting" : "connecting");
    source.onopen = () => {
      if (this.source !== source) return;
      const wasDown = this.failures > 0 || this.everOpen;
      this.failures = 0;
      this.everOpen = true;
      this.state("live");
      if (wasDown) this.onReconnect();
    };
    source.onerror = () => {
      if (this.closed || this.source !== source) return;
      source.close();
      this.source = null;
      this.failures += 1;
      this.state(navigator.onLine === false ? "offline" : "reconnecting");
      if (this.failures >= 2) this.probe();
      const wait = Math.min(5000, 500 * 2 ** Math.min(this.failures - 1, 4));
      this.retryTimer = setTimeout(() => this.open(), wait);
    };
    const handler = (msg) => this.handle(msg);
    for (const type of EVENT_TYPES) source.addEventListener(type, handler);
    source.addEventListener("end", () => {
      this.close("ended");
      this.onEnd();
    });
  }

  /** EventSource hides HTTP statuses: ask once with fetch, so a 401 goes to the login page. */
  probe() {
    fetch(`/api/searches/${this.searchId}`, { headers: { Accept: "application/json" } })
      .then((r) => { if (r.status === 401) onUnauthorized(); })
      .catch(() => {});
  }

  handle(msg) {
    const id = Number(msg.lastEventId);
    if (Number.isFinite(id) && id > 0) {
      if (id <= this.lastId) return; // already handled before a reconnect
      this.lastId = id;
    }
    let data;
    try {
      data = JSON.parse(msg.data);
    } catch {
      return;
    }
    try {
      this.onEvent(msg.type, data, id);
    } catch (err) {
      console.error("event handler failed", err);
    }
  }

  close(final = "idle") {
    this.closed = true;
    clearTimeout(this.retryTimer);
    window.removeEventListener("online", this._online);
    window.removeEventListener("offline", this._offline);
    if (this.source) this.source.close();
    this.source = null;
    this.state(final);
  }
}

/**
 * GET /api/events: every search's summary as it changes (no ids). On each (re)connect the
 * caller reloads what it shows, then follows.
 */
export class SearchesStream {
  constructor(onSearch, { onOpen = () => {} } = {}) {
    this.onSearch = onSearch;
    this.onOpen = onOpen;
    this.closed = false;
    this.failures = 0;
    this.retryTimer = null;
    this.open();
  }

  open() {
    if (this.closed) return;
    const source = new EventSource("/api/events");
    this.source = source;
    setConnection(this.failures ? "reconnecting" : "connecting");
    source.onopen = () => {
      if (this.source !== source) return;
      this.failures = 0;
      setConnection("live");
      this.onOpen();
    };
    source.onerror = () => {
      if (this.closed || this.source !== source) return;
      source.close();
      this.source = null;
      this.failures += 1;
      setConnection(navigator.onLine === false ? "offline" : "reconnecting");
      if (this.failures >= 2) {
        fetch("/api/searches?limit=1", { method: "GET" })
          .then((r) => { if (r.status === 401) onUnauthorized(); }).catch(() => {});
      }
      this.retryTimer = setTimeout(() => this.open(), Math.min(5000, 500 * 2 ** Math.min(this.failures - 1, 4)));
    };
    source.addEventListener("search", (msg) => {
      let data;
      try { data = JSON.parse(msg.data); } catch { return; }
      try { this.onSearch(data); } catch (err) { console.error("search event handler failed", err); }
    });
  }

  close() {
    this.closed = true;
    clearTimeout(this.retryTimer);
    if (this.source) this.source.close();
    this.source = null;
    setConnection("idle");
  }
}
