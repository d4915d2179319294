// Entry point: language, who is signed in, the top bar and the fragment router (#/ask, #/documents, #/admin/…).
import { logout, whenSignedOut, whoAmI } from "./api.js";
import { h, showError } from "./dom.js";
import { lang, languages, preferredLanguage, setLanguage, t } from "./i18n.js";

const PAGES = {
  ask: () => import("./ask.js"),
  documents: () => import("./documents.js"),
  admin: () => import("./admin.js"),
  signin: () => import("./signin.js"),
};

/** Shared by every page: the caller ({id, email, role, tenant, groups}) and whether authentication is on. */
export const ctx = { me: null, authEnabled: false, page: null, rerender: () => route() };
let current = null; // the page module on screen (its leave() is called before the next renders)
let firstRender = true;
let routeSeq = 0; // a newer navigation wins over a render still loading

async function loadMe() {
  try {
    const me = await whoAmI();
    ctx.authEnabled = Boolean(me.auth_enabled);
    ctx.me = me.user;
  } catch (e) {
    ctx.me = null;
    if (e.status === 401 || e.status === 403) ctx.authEnabled = true;
    else showError(e);
  }
}

/** Go to `hash`, rendering even when it is already the current one. */
function go(hash) {
  if (location.hash === hash) return route();
  location.hash = hash; // the hashchange event renders
  return null;
}

/** After a successful sign-in. */
export async function signedIn() {
  await loadMe();
  await go("#/ask");
}

async function signOut() {
  await logout();
  ctx.me = null;
  await go("#/signin");
}

function currentTheme() {
  const set = document.documentElement.dataset.theme;
  if (set) return set;
  return window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

function toggleTheme() {
  const next = currentTheme() === "dark" ? "light" : "dark";
  document.documentElement.dataset.theme = next;
  try { localStorage.setItem("ragd.theme", next); } catch { /* not remembered */ }
  renderTools();
}

function renderNav(page) {
  const nav = document.getElementById("nav");
  nav.replaceChildren();
  if (!ctx.me) return;
  const items = [["ask", "nav.ask"], ["documents", "nav.documents"]];
  if (ctx.me.role === "admin") items.push(["admin", "nav.admin"]);
  for (const [name, key] of items) {
    nav.append(h("a", { href: `#/${name}`, "aria-current": page === name ? "page" : null, "data-nav": name }, t(key)));
  }
}

function renderTools() {
  const tools = document.getElementById("tools");
  tools.replaceChildren();
  if (ctx.me) {
    const who = h("div", { class: "who", "data-testid": "who" },
      h("div", { class: "email" }, ctx.authEnabled ? ctx.me.email : t("who.local")),
      h("div", { class: "role" }, `${t(`role.${ctx.me.role}`)} · ${t("who.tenant")} ${ctx.me.tenant}`));
    tools.append(who);
    if (ctx.authEnabled) tools.append(h("button", { type: "button", onclick: signOut, id: "signout" }, t("signout")));
  }
  const select = h("select", { "aria-label": t("lang.label"), id: "lang", onchange: async (e) => {
    await setLanguage(e.target.value, true);
    await route();
  } }, languages().map((l) => h("option", { value: l, selected: l === lang() }, t(`lang.${l}`))));
  const dark = currentTheme() === "dark";
  const theme = h("button", { type: "button", id: "theme", class: "icon", onclick: toggleTheme,
    "aria-label": t(dark ? "theme.toLight" : "theme.toDark"), title: t(dark ? "theme.toLight" : "theme.toDark") },
  dark ? "☀" : "☾");
  tools.append(select, theme);
}

function parseHash() {
  const parts = location.hash.slice(2).split("/").filter(Boolean).map(decodeURIComponent);
  return { name: parts[0] || "ask", args: parts.slice(1) };
}

export async function route() {
  if (location.hash && !location.hash.startsWith("#/")) return; // an in-page anchor, not a route
  let { name, args } = parseHash();
  if (!PAGES[name]) name = "ask";
  if (ctx.authEnabled && !ctx.me) name = "signin";
  else if (name === "signin" && ctx.me) name = "ask";
  const main = document.getElementById("main");
  const seq = ++routeSeq;
  if (current && current.leave) current.leave();
  current = null;
  ctx.page = name;
  renderNav(name);
  renderTools();
  const root = h("div", { class: "view" }); // a render overtaken by a newer one fills a detached element
  main.replaceChildren(root);
  if (name === "admin" && ctx.me.role !== "admin") {
    root.append(h("div", { class: "card", role: "alert", "data-testid": "forbidden" },
      h("h1", {}, t("forbidden.title")), h("p", {}, t("forbidden.text"))));
    document.title = `${t("forbidden.title")} — ragd`;
    return;
  }
  try {
    const page = await PAGES[name]();
    if (seq !== routeSeq) return;
    current = page;
    document.title = `${t(`nav.${name}`)} — ragd`;
    await page.render(root, args, ctx);
  } catch (e) {
    showError(e);
  }
  // After a navigation, move focus to the new content unless the page focused a control of its own.
  if (!firstRender && seq === routeSeq && !main.contains(document.activeElement)) main.focus({ preventScroll: true });
  firstRender = false;
}

async function start() {
  await setLanguage(preferredLanguage());
  document.getElementById("skip").addEventListener("click", () => document.getElementById("main").focus());
  whenSignedOut(() => { ctx.me = null; route(); });
  await loadMe(); // with a stored session, a 401 here refreshes the access token once
  window.addEventListener("hashchange", route);
  await route();
  document.documentElement.dataset.ready = "1";
}

start();
