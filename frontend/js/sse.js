// Live events of one search over Server-Sent Events, with exactly-once delivery to the page.
//
// EventSource reconnects by itself and sends Last-Event-ID; we additionally remember the last
// id we handled and drop anything at or below it, so a replay after a reconnect never
// double-counts. When the server says `end` the search is over: close, or the browser would
// reconnect forever.

import { setConnection } from "./conn.js";

export const EVENT_TYPES = [
  "search_status", "candidate_started", "epoch", "candidate_finished",
  "generation_finished", "final_epoch", "search_finished",
];

export class SearchStream {
  /**
   * @param {number} searchId
   * @param {(type: string, data: object, id: number) => void} onEvent
   * @param {{after?: number, onEnd?: () => void, onState?: (s: string) => void}} options
   */
  constructor(searchId, onEvent, options = {}) {
    this.searchId = searchId;
    this.onEvent = onEvent;
    this.onEnd = options.onEnd || (() => {});
    this.onState = options.onState || (() => {});
    this.lastId = options.after || 0;
    this.source = null;
    this.closed = false;
    this.retryTimer = null;
    this.failures = 0;
    this._online = () => { if (!this.source && !this.closed) this.open(); };
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
    const url = `/api/searches/${this.searchId}/events${this.lastId ? `?after=${this.lastId}` : ""}`;
    const source = new EventSource(url);
    this.source = source;
    this.state(this.failures ? "reconnecting" : "connecting");
    source.onopen = () => {
      this.failures = 0;
      this.state("live");
    };
    source.onerror = () => {
      if (this.closed) return;
      this.failures += 1;
      if (source.readyState === EventSource.CLOSED) {
        // The browser gave up (e.g. an HTTP error): retry ourselves with a backoff.
        this.source = null;
        this.state(navigator.onLine === false ? "offline" : "reconnecting");
        const wait = Math.min(15000, 1000 * 2 ** Math.min(this.failures, 4));
        this.retryTimer = setTimeout(() => this.open(), wait);
      } else {
        this.state(navigator.onLine === false ? "offline" : "reconnecting");
      }
    };
    const handler = (msg) => this.handle(msg);
    for (const type of EVENT_TYPES) source.addEventListener(type, handler);
    source.addEventListener("end", () => {
      this.close("ended");
      this.onEnd();
    });
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
