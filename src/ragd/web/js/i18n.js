// Interface strings: two dictionaries (i18n/en.json, i18n/fr.json) with the same keys, looked up by t(key, {var}).
const SUPPORTED = ["en", "fr"];
let current = "en";
let dict = {};
let fallback = {};

export const languages = () => SUPPORTED;
export const lang = () => current;

/** Saved choice, else the browser's first supported language, else English. */
export function preferredLanguage() {
  try {
    const saved = localStorage.getItem("ragd.lang");
    if (SUPPORTED.includes(saved)) return saved;
  } catch { /* storage disabled */ }
  for (const l of navigator.languages || [navigator.language || "en"]) {
    const base = String(l).slice(0, 2).toLowerCase();
    if (SUPPORTED.includes(base)) return base;
  }
  return "en";
}

async function load(code) {
  const r = await fetch(new URL(`../i18n/${code}.json`, import.meta.url));
  return r.json();
}

export async function setLanguage(code, remember = false) {
  if (!SUPPORTED.includes(code)) code = "en";
  const [d, en] = await Promise.all([load(code), code === "en" ? null : load("en")]);
  dict = d;
  fallback = en || d;
  current = code;
  document.documentElement.lang = code;
  if (remember) {
    try { localStorage.setItem("ragd.lang", code); } catch { /* ignore */ }
  }
  applyI18n(document);
}

export function t(key, vars) {
  let s = dict[key] ?? fallback[key] ?? key;
  if (vars) for (const [k, v] of Object.entries(vars)) s = s.replaceAll(`{${k}}`, String(v));
  return s;
}

/** Fill static markup: data-i18n (text), data-i18n-label (aria-label), data-i18n-placeholder. */
export function applyI18n(root) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-label]")) el.setAttribute("aria-label", t(el.dataset.i18nLabel));
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
}
