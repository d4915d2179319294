// Admin tabs about access: users and roles, API keys (shown once at creation; revoke), collections and sharing.
import { api, optional } from "./api.js";
import { confirmAction, field, fmtDate, h, showError, toast } from "./dom.js";
import { t } from "./i18n.js";
import { table } from "./admin.js";

const ROLES = ["admin", "user", "api_user", "viewer"];
const roleSelect = (value, attrs = {}) => h("select", attrs, ROLES.map((r) => h("option", { value: r, selected: r === value }, t(`role.${r}`))));

function rerender(panel, fn, ctx) {
  return async () => {
    panel.replaceChildren();
    try { await fn(panel, ctx); } catch (e) { showError(e); }
  };
}

// -- users --------------------------------------------------------------------------------------------------------
export async function users(panel, ctx) {
  const data = await api("/api/v1/admin/users");
  const again = rerender(panel, users, ctx);
  const patch = async (u, body) => {
    try {
      await api(`/api/v1/admin/users/${encodeURIComponent(u.id)}`, { method: "PATCH", json: body });
      toast(t("users.saved", { email: u.email }));
    } catch (e) { showError(e); }
    again();
  };
  const rows = data.users.map((u) => [
    u.email,
    roleSelect(u.role, { "aria-label": t("users.roleOf", { email: u.email }), disabled: u.id === ctx.me.id,
      onchange: (e) => patch(u, { role: e.target.value }) }),
    u.tenant,
    (u.groups || []).join(", "),
    h("label", { class: "inline" }, h("input", { type: "checkbox", checked: u.disabled, disabled: u.id === ctx.me.id,
      onchange: (e) => patch(u, { disabled: e.target.checked }) }), t(u.disabled ? "users.disabled" : "users.active")),
    fmtDate(u.created_at),
  ]);
  const email = h("input", { type: "email", required: true, autocomplete: "off" });
  const password = h("input", { type: "password", required: true, minlength: 8, autocomplete: "new-password" });
  const role = roleSelect("user");
  const form = h("form", { class: "row card", onsubmit: async (e) => {
    e.preventDefault();
    try {
      await api("/api/v1/admin/users", { method: "POST", json: { email: email.value.trim(), password: password.value, role: role.value } });
      toast(t("users.created", { email: email.value.trim() }));
      again();
    } catch (err) { showError(err); }
  } }, h("h2", { class: "visually-hidden" }, t("users.create")),
  field(t("users.email"), email), field(t("users.password"), password), field(t("users.role"), role),
  h("button", { type: "submit", class: "primary" }, t("users.create")));
  panel.append(h("section", {}, h("h2", {}, t("admin.users"), ` (${data.total ?? data.users.length})`),
    table(["users.email", "users.role", "users.tenant", "users.groups", "users.state", "users.created"], rows, "users")),
  h("section", {}, h("h2", {}, t("users.create")), form));
}

// -- API keys -----------------------------------------------------------------------------------------------------
export async function keys(panel, ctx) {
  const data = (await optional("/api/v1/admin/keys")) || (await api("/api/v1/keys"));
  const again = rerender(panel, keys, ctx);
  const revoke = async (k) => {
    if (!confirmAction("keys.confirmRevoke", { name: k.name || k.prefix })) return;
    try {
      await api(`/api/v1/keys/${encodeURIComponent(k.id)}`, { method: "DELETE" });
      toast(t("keys.revoked", { name: k.name || k.prefix }));
      again();
    } catch (e) { showError(e); }
  };
  const rows = data.keys.map((k) => [
    h("code", {}, `${k.prefix.startsWith("ragd_") ? k.prefix : `ragd_${k.prefix}`}_…`), k.name, k.email || "", t(`role.${k.role}`), (k.scopes || []).join(", ") || t("keys.allScopes"),
    fmtDate(k.created_at), k.expires_at ? fmtDate(k.expires_at) : t("keys.never"),
    k.last_used_at ? fmtDate(k.last_used_at) : "–",
    k.revoked_at ? h("span", { class: "muted" }, t("keys.revokedAt", { when: fmtDate(k.revoked_at) }))
      : h("button", { type: "button", class: "danger", onclick: () => revoke(k), "aria-label": t("keys.revokeLabel", { name: k.name || k.prefix }) },
        t("keys.revoke")),
  ]);
  const name = h("input", { required: true, maxlength: 100 });
  const owner = h("input", { type: "email", placeholder: ctx.me.email });
  const role = roleSelect("api_user");
  const days = h("input", { type: "number", min: 1, max: 3650, placeholder: "∞" });
  const reveal = h("div", { "aria-live": "assertive" });
  const form = h("form", { class: "row card", onsubmit: async (e) => {
    e.preventDefault();
    const body = { name: name.value.trim(), role: role.value };
    if (days.value) body.expires_days = Number(days.value);
    const forOther = owner.value.trim() && owner.value.trim() !== ctx.me.email;
    if (forOther) body.email = owner.value.trim();
    try {
      const created = await api(forOther ? "/api/v1/admin/keys" : "/api/v1/keys", { method: "POST", json: body });
      await again();
      panel.prepend(showOnce(created.key));
    } catch (err) { showError(err); }
  } }, field(t("keys.name"), name), field(t("keys.owner"), owner), field(t("keys.role"), role), field(t("keys.expiresDays"), days),
  h("button", { type: "submit", class: "primary" }, t("keys.create")));
  panel.append(reveal, h("section", {}, h("h2", {}, t("admin.keys")),
    table(["keys.key", "keys.name", "keys.owner", "keys.role", "keys.scopes", "keys.created", "keys.expires", "keys.lastUsed", ""],
      rows, "keys")),
  h("section", {}, h("h2", {}, t("keys.create")), form));
}

function showOnce(secret) {
  const code = h("div", { class: "secret", "data-testid": "new-key", tabindex: 0 }, secret);
  const copy = h("button", { type: "button", onclick: async () => {
    try { await navigator.clipboard.writeText(secret); toast(t("keys.copied")); } catch { code.focus(); }
  } }, t("keys.copy"));
  const box = h("section", { class: "card", role: "alert" }, h("h2", {}, t("keys.createdTitle")),
    h("p", {}, t("keys.onlyOnce")), code, h("div", { class: "row" }, copy));
  setTimeout(() => code.focus(), 0);
  return box;
}

// -- collections --------------------------------------------------------------------------------------------------
export async function collections(panel, ctx) {
  const data = await api("/api/v1/collections");
  const again = rerender(panel, collections, ctx);
  const save = async (c, grants, tenantAccess) => {
    try {
      await api(`/api/v1/collections/${encodeURIComponent(c.name)}/grants`, { method: "PUT",
        json: { grants, tenant_access: tenantAccess } });
      toast(t("collections.saved", { name: c.name }));
    } catch (e) { showError(e); }
    again();
  };
  const plain = (g) => ({ principal_type: g.principal_type, principal: g.principal, access: g.access });
  const list = h("div", { "data-testid": "collections" });
  for (const c of data.collections) {
    const grants = (c.grants || []).map(plain);
    const tenantSel = h("select", { onchange: (e) => save(c, grants, e.target.value || null) },
      ["", "read", "write"].map((v) => h("option", { value: v, selected: (c.tenant_access || "") === v }, t(`collections.tenant.${v || "none"}`))));
    const ptype = h("select", {}, ["user", "group"].map((v) => h("option", { value: v }, t(`collections.${v}`))));
    const who = h("input", { required: true, placeholder: "alice@example.com" });
    const access = h("select", {}, ["read", "write"].map((v) => h("option", { value: v }, t(`collections.access.${v}`))));
    const grantRows = grants.map((g, i) => [t(`collections.${g.principal_type}`), g.principal, t(`collections.access.${g.access}`),
      h("button", { type: "button", class: "danger", onclick: () => save(c, grants.filter((_, j) => j !== i), c.tenant_access || null) },
        t("collections.remove"))]);
    list.append(h("section", { class: "card", "data-collection": c.name },
      h("h2", {}, c.name, " ", h("span", { class: "muted" }, t("collections.summary", { owner: c.owner || (c.tenant_owned ? t("collections.tenantOwner") : "–"), n: c.documents ?? 0 }))),
      h("div", { class: "row" }, field(t("collections.tenantAccess"), tenantSel),
        h("button", { type: "button", class: "danger", onclick: async () => {
          if (!confirmAction("collections.confirmDelete", { name: c.name })) return;
          try { await api(`/api/v1/collections/${encodeURIComponent(c.name)}`, { method: "DELETE" }); again(); } catch (e) { showError(e); }
        } }, t("collections.delete"))),
      table(["collections.type", "collections.principal", "collections.accessCol", ""], grantRows, "grants"),
      h("form", { class: "row", onsubmit: (e) => {
        e.preventDefault();
        save(c, [...grants, { principal_type: ptype.value, principal: who.value.trim(), access: access.value }], c.tenant_access || null);
      } }, field(t("collections.type"), ptype), field(t("collections.principal"), who), field(t("collections.accessCol"), access),
      h("button", { type: "submit" }, t("collections.share")))));
  }
  if (!data.collections.length) list.append(h("p", { class: "muted" }, t("admin.none")));
  const name = h("input", { required: true, pattern: "[\\w.\\- ]+", maxlength: 200 });
  const tenant = h("select", {}, ["", "read", "write"].map((v) => h("option", { value: v }, t(`collections.tenant.${v || "none"}`))));
  const form = h("form", { class: "row card", onsubmit: async (e) => {
    e.preventDefault();
    try {
      await api("/api/v1/collections", { method: "POST", json: { name: name.value.trim(), tenant_access: tenant.value || null } });
      again();
    } catch (err) { showError(err); }
  } }, field(t("collections.name"), name), field(t("collections.tenantAccess"), tenant),
  h("button", { type: "submit", class: "primary" }, t("collections.create")));
  panel.append(h("section", {}, h("h2", {}, t("collections.create")), form), h("section", {}, h("h2", {}, t("admin.collections")), list));
}
