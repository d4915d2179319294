// Tiny DOM helpers: h() builds elements, toast() announces, formatters follow the interface language.
import { lang, t } from "./i18n.js";

/** h("button", {class: "x", onclick: f, "aria-label": "…"}, "text", child…) */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else if (key === "value" || key === "checked" || key === "selected") el[key] = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

const SVG_NS = "http://www.w3.org/2000/svg";
/** A decorative 24×24 icon from one path (the button carrying it has the accessible name). */
export function icon(d, transform) {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", "18");
  svg.setAttribute("height", "18");
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS(SVG_NS, "path");
  path.setAttribute("d", d);
  path.setAttribute("fill", "currentColor");
  if (transform) path.setAttribute("transform", transform);
  svg.append(path);
  return svg;
}

let uid = 0;
/** A unique id for label/aria wiring. */
export const nextId = (prefix) => `${prefix}-${++uid}`;

/** A labelled form control: label text above the control. */
export function field(labelText, control, cls) {
  if (!control.id) control.id = nextId("f");
  return h("label", { class: cls, for: control.id }, labelText, control);
}

export function toast(message, kind = "info") {
  const box = document.getElementById("toasts");
  const item = h("div", { class: `toast ${kind}`, role: kind === "error" ? "alert" : null }, message);
  box.append(item);
  setTimeout(() => item.remove(), kind === "error" ? 9000 : 4000);
}

/** Show an API (or other) error to the user. */
export function showError(err) {
  const msg = err && err.detail ? `${err.detail}${err.code ? ` (${err.code})` : ""}` : String(err && err.message || err);
  toast(msg, "error");
}

export function fmtBytes(n) {
  if (n == null) return "";
  const units = ["B", "KB", "MB", "GB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${new Intl.NumberFormat(lang(), { maximumFractionDigits: i ? 1 : 0 }).format(n)} ${units[i]}`;
}

export function fmtDate(epoch) {
  if (!epoch) return "";
  return new Intl.DateTimeFormat(lang(), { dateStyle: "medium", timeStyle: "short" }).format(new Date(epoch * 1000));
}

export function fmtNumber(n) {
  return n == null ? "" : new Intl.NumberFormat(lang()).format(n);
}

/** A confirm() in the interface language. */
export function confirmAction(key, vars) {
  return window.confirm(t(key, vars));
}
