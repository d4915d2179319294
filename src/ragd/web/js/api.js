// The public JSON API, with the session's bearer token; streamed answers (SSE over fetch) and uploads (XHR).
const KEY = "ragd.session";
let session = readSession();
let refreshing = null;
let onSignedOut = () => {};

export class ApiError extends Error {
  constructor(status, body) {
    super((body && (body.detail || body.title)) || `HTTP ${status}`);
    this.status = status;
    this.code = body && body.code;
    this.detail = body && (typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail));
    this.retryAfter = body && body.retry_after; // seconds, with 429 rate_limited
  }
}

function readSession() {
  try { return JSON.parse(localStorage.getItem(KEY)) || null; } catch { return null; }
}

function saveSession(s) {
  session = s;
  try {
    if (s) localStorage.setItem(KEY, JSON.stringify(s));
    else localStorage.removeItem(KEY);
  } catch { /* storage disabled: the session lasts as long as the page */ }
}

export const hasSession = () => Boolean(session && session.refresh_token);
export const whenSignedOut = (fn) => { onSignedOut = fn; };

function fromLogin(body) {
  return { access_token: body.access_token, refresh_token: body.refresh_token,
           expires_at: Date.now() + (body.expires_in || 0) * 1000 };
}

export function authHeaders() {
  return session && session.access_token ? { Authorization: `Bearer ${session.access_token}` } : {};
}

async function toError(r) {
  let body = null;
  try { body = await r.json(); } catch { /* not JSON */ }
  return new ApiError(r.status, body || { detail: r.statusText, code: `http_${r.status}` });
}

/** Rotate the tokens once, however many requests are waiting; false when the session is over. */
async function refresh() {
  if (!refreshing) {
    const used = session && session.refresh_token;
    refreshing = (async () => {
      const stored = readSession(); // another tab may have rotated already
      if (stored && stored.refresh_token && stored.refresh_token !== used) { session = stored; return true; }
      if (!used) return false;
      const r = await fetch("/api/v1/auth/refresh", { method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ refresh_token: used }) });
      if (!r.ok) { saveSession(null); return false; }
      saveSession(fromLogin(await r.json()));
      return true;
    })().finally(() => { refreshing = null; });
  }
  return refreshing;
}

/** fetch() with the bearer token; one refresh and retry on 401. Throws ApiError on any non-2xx. */
export async function request(path, { method = "GET", json, body, headers = {}, signal } = {}) {
  const send = () => {
    const h = { ...headers, ...authHeaders() };
    let payload = body;
    if (json !== undefined) { h["Content-Type"] = "application/json"; payload = JSON.stringify(json); }
    return fetch(path, { method, headers: h, body: payload, signal });
  };
  let r = await send();
  if (r.status === 401 && hasSession() && !path.startsWith("/api/v1/auth/login")) {
    if (await refresh()) r = await send();
    else onSignedOut();
  }
  if (!r.ok) throw await toError(r);
  return r;
}

/** JSON in, JSON out (null for 204). */
export async function api(path, options) {
  const r = await request(path, options);
  return r.status === 204 ? null : r.json();
}

/** Like api(), but a 404 (an endpoint this server does not have) gives `missing` instead of throwing. */
export async function optional(path, missing = null) {
  try { return await api(path); } catch (e) {
    if (e instanceof ApiError && e.status === 404) return missing;
    throw e;
  }
}

export async function login(email, password) {
  const body = await api("/api/v1/auth/login", { method: "POST", json: { username: email, password } });
  saveSession(fromLogin(body));
  return body.user;
}

export async function logout() {
  const token = session && session.refresh_token;
  saveSession(null);
  if (token) {
    try { await fetch("/api/v1/auth/logout", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refresh_token: token }) }); } catch { /* signed out locally anyway */ }
  }
}

/** Who is calling: {auth_enabled, user}. A server without the auth API (404) runs with authentication off. */
export async function whoAmI() {
  try { return await api("/api/v1/auth/me"); } catch (e) {
    if (e instanceof ApiError && e.status === 404) {
      return { auth_enabled: false, user: { id: "local", email: "local", role: "admin", tenant: "default", groups: [] } };
    }
    throw e;
  }
}

/** Parse a Server-Sent Events stream from a POST: yields {event, data} with data parsed as JSON. */
export async function* stream(path, json, signal) {
  const r = await request(path, { method: "POST", json, signal, headers: { Accept: "text/event-stream" } });
  const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value.replace(/\r\n?/g, "\n");
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        let event = "message";
        const data = [];
        for (const line of block.split("\n")) {
          if (line.startsWith("event:")) event = line.slice(6).trim();
          else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
        }
        if (data.length) yield { event, data: JSON.parse(data.join("\n")) };
      }
    }
  } finally {
    reader.releaseLock();
  }
}

/** Upload one file with progress callbacks (fraction 0..1); resolves with the API's documents list. */
export function upload(file, collection, onProgress) {
  const attempt = () => new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/v1/documents/upload");
    for (const [k, v] of Object.entries(authHeaders())) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
    xhr.onerror = () => reject(new ApiError(0, { detail: "network error", code: "network_error" }));
    xhr.onload = () => {
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body.documents);
      else reject(new ApiError(xhr.status, body || { detail: xhr.statusText }));
    };
    const form = new FormData();
    form.append("file", file, file.name);
    if (collection) form.append("collection", collection);
    xhr.send(form);
  });
  return attempt().catch(async (e) => {
    if (e.status === 401 && hasSession() && await refresh()) return attempt();
    throw e;
  });
}

/** An object URL for an authenticated binary resource (page images, downloads). */
export async function blobUrl(path) {
  const r = await request(path);
  return URL.createObjectURL(await r.blob());
}
