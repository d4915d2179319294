// The passage viewer: a modal dialog showing a cited passage in context — for a PDF, the page rendered by the
// server with the passage's boxes drawn over it; for other documents, the extracted text with the passage marked.
import { api, blobUrl } from "./api.js";
import { h, nextId, showError } from "./dom.js";
import { t } from "./i18n.js";

const CONTEXT_CHARS = 1500;

/** Open citation `cite` ({document_id, filename, chunk_id, page, start, end, marker}); focus returns to `opener`. */
export async function openCitation(cite, opener) {
  const titleId = nextId("viewer-title");
  const urls = [];
  const title = h("h2", { id: titleId }, `[${cite.marker}] ${cite.filename}`);
  const body = h("div", { class: "body" }, h("p", { class: "loading" }, t("loading")));
  const tools = h("div", { class: "row" });
  const close = h("button", { type: "button", "aria-label": t("viewer.close"), onclick: () => dialog.close() }, "✕");
  const dialog = h("dialog", { class: "viewer", "aria-labelledby": titleId, "data-testid": "viewer" },
    h("header", {}, title, tools, close), body);
  dialog.addEventListener("close", () => {
    urls.forEach((u) => URL.revokeObjectURL(u));
    dialog.remove();
    if (opener && opener.isConnected) opener.focus();
  });
  document.body.append(dialog);
  dialog.showModal();
  close.focus();
  try {
    const doc = await api(`/api/v1/documents/${encodeURIComponent(cite.document_id)}`);
    tools.append(h("button", { type: "button", onclick: () => download(doc) }, t("viewer.download")));
    if (doc.mime === "application/pdf") await pdfView(doc, cite, { title, body, tools, urls });
    else await textView(cite, body);
  } catch (e) {
    body.replaceChildren(h("p", { class: "error", role: "alert" }, e.detail || e.message));
  }
}

export async function download(doc) {
  try {
    const url = await blobUrl(`/api/v1/documents/${encodeURIComponent(doc.id)}/file`);
    const a = h("a", { href: url, download: doc.filename });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  } catch (e) {
    showError(e);
  }
}

async function pdfView(doc, cite, { title, body, tools, urls }) {
  const pages = doc.pages || 1;
  let page = Math.min(Math.max(cite.page || 1, 1), pages);
  const label = h("span", { class: "muted", "aria-live": "polite" });
  const prev = h("button", { type: "button", "aria-label": t("viewer.prev"), onclick: () => show(page - 1) }, "‹");
  const next = h("button", { type: "button", "aria-label": t("viewer.next"), onclick: () => show(page + 1) }, "›");
  tools.prepend(prev, label, next);

  async function show(p) {
    if (p < 1 || p > pages) return;
    page = p;
    prev.disabled = p <= 1;
    next.disabled = p >= pages;
    label.textContent = t("viewer.pageOf", { page: p, pages });
    title.textContent = `[${cite.marker}] ${cite.filename} — ${t("ask.page", { page: p })}`;
    const base = `/api/v1/documents/${encodeURIComponent(doc.id)}/pages/${p}`;
    const [url, boxes] = await Promise.all([
      blobUrl(`${base}?scale=1.5`),
      api(`${base}/boxes?${new URLSearchParams({ chunk_id: cite.chunk_id, start: cite.start, end: cite.end })}`),
    ]);
    urls.push(url);
    const img = h("img", { src: url, alt: t("viewer.pageAlt", { page: p, file: cite.filename }), "data-testid": "page-image" });
    const frame = h("div", { class: "page", "data-page": p });
    frame.append(img);
    for (const b of boxes.boxes) {
      const mark = h("div", { class: "hl", "data-testid": "highlight" });
      Object.assign(mark.style, { left: `${b.x0 * 100}%`, top: `${b.y0 * 100}%`,
        width: `${(b.x1 - b.x0) * 100}%`, height: `${(b.y1 - b.y0) * 100}%` });
      frame.append(mark);
    }
    const note = boxes.boxes.length ? null : h("p", { class: "muted" }, t("viewer.notOnPage"));
    body.replaceChildren(...[note, frame].filter(Boolean));
    await img.decode().catch(() => {});
    const first = frame.querySelector(".hl");
    if (first) first.scrollIntoView({ block: "center" });
  }
  await show(page);
}

async function textView(cite, body) {
  const { text } = await api(`/api/v1/documents/${encodeURIComponent(cite.document_id)}/text`);
  const from = Math.max(0, cite.start - CONTEXT_CHARS);
  const to = Math.min(text.length, cite.end + CONTEXT_CHARS);
  const mark = h("mark", { "data-testid": "highlight" }, text.slice(cite.start, cite.end));
  body.replaceChildren(h("div", { class: "context" },
    from > 0 ? "… " : "", text.slice(from, cite.start), mark, text.slice(cite.end, to), to < text.length ? " …" : ""));
  mark.scrollIntoView({ block: "center" });
}
