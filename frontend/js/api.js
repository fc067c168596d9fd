// The REST client: every call the page makes to /api goes through here.

export class ApiError extends Error {
  constructor(status, detail) {
    super(typeof detail === "string" ? detail : `HTTP ${status}`);
    this.status = status;
    this.detail = detail;
  }

  /** FastAPI 422 errors as [{loc, msg}], else []. */
  get fieldErrors() {
    return Array.isArray(this.detail) ? this.detail : [];
  }
}

async function request(method, path, body) {
  const init = { method, headers: { Accept: "application/json" } };
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
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  if (!response.ok) {
    const detail = data && typeof data === "object" && "detail" in data ? data.detail : data;
    throw new ApiError(response.status, detail || response.statusText);
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

export const api = {
  health: () => request("GET", "/api/health"),
  datasets: () => request("GET", "/api/datasets"),
  presets: () => request("GET", "/api/presets"),
  searches: (offset = 0, limit = 50) => request("GET", `/api/searches${query({ offset, limit })}`),
  search: (id) => request("GET", `/api/searches/${id}`),
  createSearch: (body) => request("POST", "/api/searches", body),
  cancelSearch: (id) => request("POST", `/api/searches/${id}/cancel`),
  candidates: (id, params) => request("GET", `/api/searches/${id}/candidates${query(params)}`),
  generations: (id) => request("GET", `/api/searches/${id}/generations`),
  candidate: (cid) => request("GET", `/api/candidates/${cid}`),
  graph: (cid) => request("GET", `/api/candidates/${cid}/graph`),
  searchModelUrl: (id) => `/api/searches/${id}/model?format=keras`,
  candidateModelUrl: (cid) => `/api/candidates/${cid}/model?format=keras`,
  eventsUrl: (id, after) => `/api/searches/${id}/events${after ? `?after=${after}` : ""}`,

  /** Every candidate of a search (pages of 500), sorted by id. */
  async allCandidates(id, max = 5000) {
    const items = [];
    for (let offset = 0; offset < max; offset += 500) {
      const page = await this.candidates(id, { offset, limit: 500, sort: "id", order: "asc" });
      items.push(...page.items);
      if (items.length >= page.count || page.items.length === 0) break;
    }
    return items;
  },
};
