// The REST client: every call the page makes to /api goes through here.

export class ApiError extends Error {
  constructor(status, detail) {
    super(messageOf(status, detail));
    this.status = status;
    this.detail = detail;
  }

  /** FastAPI 4xx errors as [{loc, msg}], else []. */
  get fieldErrors() {
    return Array.isArray(this.detail) ? this.detail : [];
  }
}

function messageOf(status, detail) {
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail) && detail.length) {
    return detail.map((d) => String(d.msg || "invalid").replace(/^Value error, /, "")).join("; ");
  }
  return `HTTP ${status}`;
}

/** Where a 401 sends the browser: the backend's login page, back here afterwards. */
export function loginUrl() {
  return `/login?next=${encodeURIComponent(location.pathname + location.search)}`;
}

let redirecting = false;
/** Any API 401 means "log in first": go to /login once, and keep the page quiet meanwhile. */
export function onUnauthorized() {
  if (!redirecting) {
    redirecting = true;
    location.assign(loginUrl());
  }
}

function parse(text) {
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return text;
  }
}

function fail(status, data, statusText) {
  if (status === 401) onUnauthorized();
  const detail = data && typeof data === "object" && "detail" in data ? data.detail : data;
  return new ApiError(status, detail || statusText);
}

async function request(method, path, body, { allow401 = false } = {}) {
  const init = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    throw new ApiError(0, "The server cannot be reached.");
  }
  const data = parse(await response.text());
  if (!response.ok) {
    if (response.status === 401 && allow401) throw new ApiError(401, "not logged in");
    throw fail(response.status, data, response.statusText);
  }
  return data;
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}

/**
 * POST multipart form data with upload progress (fetch cannot report it; XHR can).
 * onProgress(fraction | null) while bytes go up; resolves with the JSON answer.
 */
function upload(path, formData, onProgress = () => {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", path);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = (e) => onProgress(e.lengthComputable ? e.loaded / e.total : null);
    xhr.upload.onload = () => onProgress(1);
    xhr.onload = () => {
      const data = parse(xhr.responseText);
      if (xhr.status >= 200 && xhr.status < 300) resolve(data);
      else reject(fail(xhr.status, data, xhr.statusText));
    };
    xhr.onerror = () => reject(new ApiError(0, "The upload failed: the server cannot be reached."));
    xhr.onabort = () => reject(new ApiError(0, "The upload was cancelled."));
    xhr.send(formData);
  });
}

export const api = {
  health: () => request("GET", "/api/health"),
  datasets: () => request("GET", "/api/datasets"),
  uploadDataset: (formData, onProgress) => upload("/api/datasets", formData, onProgress),
  deleteDataset: (id) => request("DELETE", `/api/datasets/${encodeURIComponent(id)}`),
  presets: () => request("GET", "/api/presets"),
  searches: (offset = 0, limit = 50) => request("GET", `/api/searches${query({ offset, limit })}`),
  search: (id) => request("GET", `/api/searches/${id}`),
  createSearch: (body) => request("POST", "/api/searches", body),
  cancelSearch: (id) => request("POST", `/api/searches/${id}/cancel`),
  pauseSearch: (id) => request("POST", `/api/searches/${id}/pause`),
  resumeSearch: (id) => request("POST", `/api/searches/${id}/resume`),
  candidates: (id, params) => request("GET", `/api/searches/${id}/candidates${query(params)}`),
  generations: (id) => request("GET", `/api/searches/${id}/generations`),
  candidate: (cid) => request("GET", `/api/candidates/${cid}`),
  graph: (cid) => request("GET", `/api/candidates/${cid}/graph`),
  searchModelUrl: (id, format = "keras") => `/api/searches/${id}/model?format=${format}`,
  modelCardUrl: (id) => `/api/searches/${id}/model-card?format=html`,
  candidateModelUrl: (cid) => `/api/candidates/${cid}/model?format=keras`,
  workers: () => request("GET", "/api/workers"),
  eventsUrl: (id, after) => `/api/searches/${id}/events${after ? `?after=${after}` : ""}`,

  /** The signed-in user, or null when auth is off (404) or the answer names nobody. */
  async me() {
    try {
      const data = await request("GET", "/api/auth/me");
      // With auth off the answer names nobody ({method: "off", name: null}): show nothing.
      if (!data || typeof data !== "object" || data.method === "off" || !data.name) return null;
      return data;
    } catch (err) {
      if (err.status === 404) return null;
      throw err;
    }
  },
  logout: () => request("POST", "/api/auth/logout", undefined, { allow401: true }),

  /**
   * Every candidate of a search as summaries (no genomes: what charts need), sorted by id:
   * pages of 5,000; the first tells the count, the rest are fetched in parallel.
   */
  async allCandidates(id, max = 50000) {
    const limit = 5000;
    const page = (offset) => this.candidates(id, { offset, limit, sort: "id", order: "asc", fields: "summary" });
    const first = await page(0);
    const total = Math.min(first.count, max);
    const rest = [];
    for (let offset = limit; offset < total; offset += limit) rest.push(page(offset));
    const pages = await Promise.all(rest);
    return [first, ...pages].flatMap((p) => p.items);
  },
};
