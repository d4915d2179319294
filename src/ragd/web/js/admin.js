// Admin (admins only; the API enforces it too): tabs for users, API keys, collections, the audit log and the system.
import { api, ApiError, optional } from "./api.js";
import { field, fmtBytes, fmtDate, fmtNumber, h, showError } from "./dom.js";
import { t } from "./i18n.js";

const TABS = ["users", "keys", "collections", "audit", "system"];
const audit = { action: "", actor: "", since: "", until: "", offset: 0, limit: 50 };
let alive = false;

export function leave() {
  alive = false;
}

export async function render(main, args, ctx) {
  alive = true;
  const tab = TABS.includes(args[0]) ? args[0] : "users";
  const tabs = h("nav", { class: "tabs", "aria-label": t("admin.sections") },
    TABS.map((name) => h("a", { href: `#/admin/${name}`, "aria-current": name === tab ? "page" : null, "data-tab": name },
      t(`admin.${name}`))));
  const panel = h("div", { class: "admin", "data-testid": `admin-${tab}` });
  main.append(h("h1", {}, t("nav.admin")), tabs, panel);
  try {
    if (tab === "system") await system(panel);
    else if (tab === "audit") await auditLog(panel);
    else {
      const access = await import("./admin-access.js");
      await access[tab](panel, ctx);
    }
  } catch (e) {
    panel.append(unavailable(e));
  }
}

/** What to show when an endpoint is missing (older server) or refuses. */
export function unavailable(e) {
  if (e instanceof ApiError && e.status === 404) return h("p", { class: "muted" }, t("admin.unavailable"));
  if (e instanceof ApiError && e.status === 403) return h("p", { class: "error", role: "alert" }, t("forbidden.text"));
  showError(e);
  return h("p", { class: "error" }, e.detail || e.message);
}

/** A table from rows of cells; `cols` are dictionary keys for the headers. */
export function table(cols, rows, testid) {
  return h("div", { class: "table-wrap" }, h("table", { "data-testid": testid },
    h("thead", {}, h("tr", {}, cols.map((c) => h("th", { scope: "col" }, t(c))))),
    h("tbody", {}, rows.length ? rows.map((cells) => h("tr", {}, cells.map((c) => (c instanceof Node && c.tagName === "TD" ? c : h("td", {}, c)))))
      : h("tr", {}, h("td", { colspan: cols.length, class: "empty" }, t("admin.none"))))));
}

// -- system -------------------------------------------------------------------------------------------------------
async function readiness() {
  try { return await api("/api/v1/ready"); } catch (e) {
    if (e instanceof ApiError && e.status === 503) {
      const r = await fetch("/api/v1/ready");
      return r.json();
    }
    throw e;
  }
}

async function system(panel) {
  const [health, stats, ready] = await Promise.all([api("/api/v1/health"), optional("/api/v1/admin/stats"), readiness()]);
  const stat = (key, value, cls) => h("div", { class: "stat" }, h("div", { class: "muted" }, t(key)),
    h("div", { class: `value ${cls || ""}` }, value));
  const cards = h("div", { class: "stats", "data-testid": "stats" },
    stat("system.version", (stats && stats.version) || health.version),
    stat("system.status", t(`system.${ready.status}`), ready.status === "ready" ? "ok" : "fail"),
    stat("system.model", health.embedding_model));
  if (stats) { // operators see the whole store; other tenants' admins their document count
    if (stats.tenant_documents != null) cards.append(stat("system.documents", fmtNumber(stats.tenant_documents)));
    if (stats.chunks != null) cards.append(stat("system.chunks", fmtNumber(stats.chunks)));
    if (stats.vectors != null) cards.append(stat("system.vectors", fmtNumber(stats.vectors), stats.consistent ? "" : "fail"));
    if (stats.index_bytes != null) cards.append(stat("system.indexSize", fmtBytes(stats.index_bytes)));
    if (stats.queue_depth != null) cards.append(stat("system.queue", fmtNumber(stats.queue_depth)));
  }
  const checks = Object.entries(ready.checks || {}).map(([name, c]) => [
    name, h("span", { class: c.status === "ok" ? "ok" : "fail" }, c.status), c.detail || "", c.took_ms != null ? `${c.took_ms} ms` : ""]);
  panel.append(cards, h("section", {}, h("h2", {}, t("system.checks")),
    table(["system.check", "system.status", "system.detail", "system.took"], checks, "checks")));
  if (stats) {
    const shown = ["version", "tenant_documents", "chunks", "vectors", "queue_depth", "consistent", "embedding_model",
      "index_bytes"];
    const extra = Object.entries(stats).filter(([k]) => !shown.includes(k));
    if (extra.length) panel.append(h("section", {}, h("h2", {}, t("system.more")), table(["system.key", "system.value"],
      extra.map(([k, v]) => [k, typeof v === "object" ? JSON.stringify(v) : String(v)]), "more-stats")));
  }
}

// -- audit log ----------------------------------------------------------------------------------------------------
function toEpoch(local) {
  return local ? String(new Date(local).getTime() / 1000) : "";
}

async function auditLog(panel) {
  const inputs = {
    action: h("input", { id: "audit-action", value: audit.action, placeholder: "auth.*" }),
    actor: h("input", { id: "audit-actor", value: audit.actor, placeholder: "alice@example.com" }),
    since: h("input", { id: "audit-since", type: "datetime-local", value: audit.since }),
    until: h("input", { id: "audit-until", type: "datetime-local", value: audit.until }),
  };
  const results = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "row", onsubmit: (e) => {
    e.preventDefault();
    for (const k of Object.keys(inputs)) audit[k] = inputs[k].value.trim();
    audit.offset = 0;
    load();
  } },
  field(t("audit.action"), inputs.action), field(t("audit.actor"), inputs.actor),
  field(t("audit.since"), inputs.since), field(t("audit.until"), inputs.until),
  h("button", { type: "submit", class: "primary" }, t("audit.filter")));
  const verdict = h("span", { "aria-live": "polite", "data-testid": "audit-verdict" });
  const verify = h("button", { type: "button", onclick: async () => {
    verdict.textContent = t("loading");
    try {
      const v = await api("/api/v1/admin/audit/verify", { method: "POST" });
      verdict.className = v.ok ? "ok" : "fail";
      verdict.textContent = v.ok ? t("audit.verified", { n: v.checked })
        : t("audit.broken", { seq: v.first_bad_seq, reason: v.reason });
    } catch (e) { verdict.textContent = ""; showError(e); }
  } }, t("audit.verify"));
  panel.append(form, h("div", { class: "row" }, verify, verdict), results);

  async function load() {
    const q = new URLSearchParams({ limit: audit.limit, offset: audit.offset });
    if (audit.action) q.set("action", audit.action);
    if (audit.actor) q.set("actor", audit.actor);
    if (audit.since) q.set("since", toEpoch(audit.since));
    if (audit.until) q.set("until", toEpoch(audit.until));
    try {
      const data = await api(`/api/v1/admin/audit?${q}`);
      if (!alive) return;
      const rows = data.entries.map((e) => [
        String(e.seq), fmtDate(e.ts),
        e.actor ? `${e.actor.email}${e.actor.key_id ? ` (${t("audit.viaKey", { key: e.actor.key_id })})` : ""}` : "–",
        e.action, e.target || "",
        h("pre", { class: "details" }, JSON.stringify(e.decision ? { ...e.details, decision: e.decision } : e.details, null, 1)),
      ]);
      const pager = h("div", { class: "row" },
        h("button", { type: "button", disabled: audit.offset === 0, onclick: () => { audit.offset = Math.max(0, audit.offset - audit.limit); load(); } },
          t("audit.newer")),
        h("span", { class: "muted" }, t("audit.range", { from: data.total ? audit.offset + 1 : 0,
          to: audit.offset + data.entries.length, total: data.total })),
        h("button", { type: "button", disabled: audit.offset + data.entries.length >= data.total,
          onclick: () => { audit.offset += audit.limit; load(); } }, t("audit.older")));
      results.replaceChildren(table(["audit.seq", "audit.when", "audit.actor", "audit.action", "audit.target",
        "audit.details"], rows, "audit"), pager);
    } catch (e) {
      results.replaceChildren(unavailable(e));
    }
  }
  await load();
}
