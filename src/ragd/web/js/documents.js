// Documents: drag-and-drop upload with per-file progress, live status, search, sort, delete, re-index, download.
import { api, optional, upload } from "./api.js";
import { confirmAction, field, fmtBytes, fmtDate, fmtNumber, h, showError, toast } from "./dom.js";
import { t } from "./i18n.js";
import { download } from "./viewer.js";

const ACTIVE = new Set(["pending", "parsing", "ocr", "chunking", "embedding"]);
const STATUSES = ["pending", "parsing", "ocr", "chunking", "embedding", "indexed", "failed"];
const POLL_MS = 2000; // while a document is being processed (a user's budget is 60 requests a minute by default)
const PARALLEL_UPLOADS = 2;

const state = { docs: [], total: 0, search: "", sort: "newest", status: "", collection: "", uploads: [] };
let view = null;
let timer = null;
let generation = 0; // only the latest refresh() schedules the next poll

export function leave() {
  view = null;
  clearTimeout(timer);
  timer = null;
}

export async function render(main) {
  view = {};
  const input = h("input", { type: "file", multiple: true, id: "file-input", class: "visually-hidden",
    onchange: (e) => { addFiles(e.target.files); e.target.value = ""; } });
  const collections = h("datalist", { id: "collection-names" });
  const collection = h("input", { id: "upload-collection", list: "collection-names", value: state.collection,
    placeholder: "default", pattern: "[\\w.\\- ]+", oninput: (e) => { state.collection = e.target.value.trim(); } });
  const zone = h("div", { class: "dropzone", "data-testid": "dropzone" },
    h("p", {}, t("docs.dropHint")),
    h("label", { for: "file-input", class: "button primary", tabindex: 0,
      onkeydown: (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); input.click(); } } },
    t("docs.choose")),
    input, field(t("docs.collection"), collection), collections);
  for (const type of ["dragenter", "dragover"]) {
    zone.addEventListener(type, (e) => { e.preventDefault(); zone.classList.add("over"); });
  }
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => { e.preventDefault(); zone.classList.remove("over"); addFiles(e.dataTransfer.files); });

  view.uploads = h("ul", { class: "uploads", "aria-label": t("docs.uploads"), "data-testid": "uploads" });
  view.tbody = h("tbody", {});
  view.count = h("p", { class: "muted", "aria-live": "polite" });
  const search = h("input", { type: "search", id: "doc-search", value: state.search, placeholder: t("docs.searchPlaceholder"),
    oninput: (e) => { state.search = e.target.value; drawRows(); } });
  const sort = h("select", { id: "doc-sort", onchange: (e) => { state.sort = e.target.value; drawRows(); } },
    ["newest", "oldest", "name", "size", "status"].map((k) => h("option", { value: k, selected: state.sort === k },
      t(`docs.sort.${k}`))));
  const status = h("select", { id: "doc-status", onchange: (e) => { state.status = e.target.value; drawRows(); } },
    h("option", { value: "" }, t("docs.allStatuses")),
    STATUSES.map((k) => h("option", { value: k, selected: state.status === k }, t(`status.${k}`))));
  const head = ["docs.col.name", "docs.col.collection", "docs.col.status", "docs.col.pages", "docs.col.chunks",
    "docs.col.size", "docs.col.added", "docs.col.actions"];
  const optionalCols = new Set(["docs.col.collection", "docs.col.pages", "docs.col.chunks", "docs.col.size", "docs.col.added"]);
  main.append(h("section", { class: "documents" },
    h("h1", {}, t("nav.documents")), zone, view.uploads,
    h("div", { class: "toolbar" }, field(t("docs.search"), search), field(t("docs.sort"), sort), field(t("docs.status"), status)),
    view.count,
    h("div", { class: "table-wrap" }, h("table", { "data-testid": "documents" },
      h("caption", { class: "visually-hidden" }, t("nav.documents")),
      h("thead", {}, h("tr", {}, head.map((k) => h("th", { scope: "col", class: optionalCols.has(k) ? "opt" : null }, t(k))))),
      view.tbody))));
  drawUploads();
  fillCollections(collections);
  await refresh();
}

async function fillCollections(list) {
  try {
    const cols = await optional("/api/v1/collections");
    const names = cols ? cols.collections.map((c) => c.name) : [...new Set(state.docs.map((d) => d.collection))];
    list.replaceChildren(...names.map((n) => h("option", { value: n })));
  } catch { /* suggestions only */ }
}

async function refresh() {
  clearTimeout(timer);
  const mine = ++generation;
  let delay = POLL_MS;
  try {
    const data = await api("/api/v1/documents?limit=500");
    if (mine !== generation) return;
    state.docs = data.documents;
    state.total = data.total;
  } catch (e) {
    if (mine !== generation) return;
    if (e.status === 429) delay = Math.max(POLL_MS, (e.retryAfter || 5) * 1000); // over budget: wait, quietly
    else showError(e);
  }
  if (!view) return;
  drawRows();
  const busy = state.docs.some((d) => ACTIVE.has(d.status)) || state.uploads.some((u) => u.state === "uploading");
  if (busy) timer = setTimeout(refresh, delay);
}

function sorted(docs) {
  const by = {
    newest: (a, b) => b.created_at - a.created_at,
    oldest: (a, b) => a.created_at - b.created_at,
    name: (a, b) => a.filename.localeCompare(b.filename),
    size: (a, b) => b.size - a.size,
    status: (a, b) => STATUSES.indexOf(a.status) - STATUSES.indexOf(b.status),
  }[state.sort];
  return [...docs].sort(by);
}

function drawRows() {
  if (!view) return;
  const q = state.search.trim().toLowerCase();
  const shown = sorted(state.docs.filter((d) => (!state.status || d.status === state.status) &&
    (!q || `${d.filename} ${d.title || ""} ${d.collection}`.toLowerCase().includes(q))));
  view.count.textContent = t("docs.count", { shown: shown.length, total: state.total });
  view.tbody.replaceChildren(...shown.map(row));
  if (!shown.length) view.tbody.append(h("tr", {}, h("td", { colspan: 8, class: "empty" }, t("docs.none"))));
}

function row(d) {
  const statusCell = h("td", {}, h("span", { class: `status ${d.status}`, "data-testid": "status" }, t(`status.${d.status}`)));
  if (d.status === "failed") {
    statusCell.append(h("div", { class: "reason" }, [d.failed_step && `${d.failed_step}: `, d.error, d.error_code && ` (${d.error_code})`]));
  }
  return h("tr", { "data-doc": d.id, "data-filename": d.filename },
    h("td", {}, h("strong", {}, d.filename), d.title && d.title !== d.filename ? h("div", { class: "muted" }, d.title) : null),
    h("td", { class: "opt" }, d.collection),
    statusCell,
    h("td", { class: "num opt" }, d.pages ?? ""),
    h("td", { class: "num opt" }, fmtNumber(d.num_chunks)),
    h("td", { class: "num opt" }, fmtBytes(d.size)),
    h("td", { class: "opt" }, fmtDate(d.created_at)),
    h("td", {}, h("div", { class: "actions" },
      h("button", { type: "button", onclick: () => download(d), "aria-label": t("docs.downloadLabel", { name: d.filename }) },
        t("docs.download")),
      h("button", { type: "button", onclick: () => reindex(d), "aria-label": t("docs.reindexLabel", { name: d.filename }) },
        t("docs.reindex")),
      h("button", { type: "button", class: "danger", onclick: () => remove(d),
        "aria-label": t("docs.deleteLabel", { name: d.filename }) }, t("docs.delete")))));
}

async function reindex(d) {
  try {
    await api(`/api/v1/documents/${encodeURIComponent(d.id)}/reindex`, { method: "POST" });
    toast(t("docs.reindexed", { name: d.filename }));
    refresh();
  } catch (e) { showError(e); }
}

async function remove(d) {
  if (!confirmAction("docs.confirmDelete", { name: d.filename })) return;
  try {
    await api(`/api/v1/documents/${encodeURIComponent(d.id)}`, { method: "DELETE" });
    toast(t("docs.deleted", { name: d.filename }));
    refresh();
  } catch (e) { showError(e); }
}

// -- uploads ------------------------------------------------------------------------------------------------------
function addFiles(files) {
  for (const file of files) state.uploads.push({ file, progress: 0, state: "queued", message: "" });
  drawUploads();
  pump();
}

function pump() {
  const running = state.uploads.filter((u) => u.state === "uploading").length;
  const waiting = state.uploads.filter((u) => u.state === "queued");
  for (const u of waiting.slice(0, Math.max(0, PARALLEL_UPLOADS - running))) start(u);
}

async function start(u) {
  u.state = "uploading";
  drawUploads();
  refresh();
  try {
    const docs = await upload(u.file, state.collection, (p) => { u.progress = p; drawUpload(u); });
    u.progress = 1;
    u.state = "done";
    u.message = docs[0] && docs[0].duplicate ? t("docs.duplicate") : t("docs.uploaded");
  } catch (e) {
    u.state = "error";
    u.message = `${e.detail || e.message}${e.code ? ` (${e.code})` : ""}`;
  }
  drawUploads();
  pump();
  refresh();
}

function drawUpload(u) {
  if (!u.el) return;
  const bar = u.el.querySelector("progress");
  bar.value = Math.round(u.progress * 100);
  u.el.querySelector(".state").textContent = u.state === "uploading" ? `${bar.value} %` : u.message || t(`upload.${u.state}`);
}

function drawUploads() {
  if (!view) return;
  view.uploads.replaceChildren(...state.uploads.map((u) => {
    u.el = h("li", { "data-upload": u.file.name },
      h("span", {}, u.file.name, " ", h("span", { class: "muted" }, fmtBytes(u.file.size))),
      h("progress", { max: 100, value: Math.round(u.progress * 100), "aria-label": t("docs.progress", { name: u.file.name }) }),
      h("span", { class: `state${u.state === "error" ? " error" : ""}`, role: u.state === "error" ? "alert" : null }));
    drawUpload(u);
    return u.el;
  }));
}
