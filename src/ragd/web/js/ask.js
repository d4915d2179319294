// Ask: conversations, a chat with streamed answers, citation markers, sources, feedback, collection and filters.
import { api, optional, stream } from "./api.js";
import { confirmAction, field, h, icon, showError, toast } from "./dom.js";
import { t } from "./i18n.js";
import { openCitation } from "./viewer.js";

const THUMB = "M2 10h4v11H2zM8 21V10l4.2-8c1.4 0 2.6 1.1 2.4 2.6L14 9h6a2 2 0 0 1 2 2.3l-1.6 7.9A2.3 2.3 0 0 1 18.1 21z";
const FILE_TYPES = ["pdf", "docx", "html", "md", "txt", "csv"];
const state = {
  conversationId: null,
  messages: [], // {role, content, citations, id, found, error, streaming, feedback}
  selected: -1, // index of the assistant message whose sources are shown
  collection: "",
  fileTypes: new Set(),
  topK: 5,
  controller: null,
};
let view = null; // {list, messages, sources, form, input, send, stop, convList}
const wide = () => window.matchMedia("(min-width: 1000px)").matches; // side panels open, else folded

export function leave() {
  view = null;
}

export async function render(main, args) {
  const id = args[0] || null;
  if (id && id !== state.conversationId) await loadConversation(id);
  view = {};
  const convList = h("ul", { "data-testid": "conversations" });
  view.convList = convList;
  const aside = h("aside", { class: "conversations", "aria-labelledby": "conv-title" },
    h("details", { open: wide() }, h("summary", {}, h("h2", { id: "conv-title" }, t("ask.conversations"))),
      h("button", { type: "button", class: "primary", onclick: newConversation, "data-testid": "new-conversation" },
        t("ask.new")),
      convList));

  view.messages = h("ol", { class: "messages", "aria-live": "polite", "aria-label": t("ask.messages"),
    "data-testid": "messages" });
  view.input = h("textarea", { id: "question", rows: 2, required: true, placeholder: t("ask.placeholder"),
    onkeydown: (e) => { if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); view.form.requestSubmit(); } } });
  view.send = h("button", { type: "submit", class: "primary", id: "ask-send" }, t("ask.send"));
  view.stop = h("button", { type: "button", hidden: true, onclick: () => state.controller && state.controller.abort() },
    t("ask.stop"));
  view.form = h("form", { class: "composer", onsubmit: (e) => { e.preventDefault(); ask(view.input.value); } },
    h("label", { for: "question", class: "visually-hidden" }, t("ask.question")), view.input, view.send, view.stop);

  const chat = h("section", { class: "chat", "aria-label": t("ask.chat") }, filters(), view.messages, view.form);
  view.sources = h("aside", { class: "sources", "aria-labelledby": "sources-title", "data-testid": "sources" });
  main.append(h("div", { class: "ask" }, aside, chat, view.sources));
  renderMessages();
  renderSources();
  refreshConversations();
  view.input.focus();
}

function filters() {
  const select = h("select", { id: "collection", onchange: (e) => { state.collection = e.target.value; } },
    h("option", { value: "" }, t("ask.allCollections")));
  loadCollections(select);
  const types = h("fieldset", {}, h("legend", {}, t("ask.fileTypes")),
    FILE_TYPES.map((ft) => h("label", { class: "inline" },
      h("input", { type: "checkbox", value: ft, checked: state.fileTypes.has(ft),
        onchange: (e) => { if (e.target.checked) state.fileTypes.add(ft); else state.fileTypes.delete(ft); } }),
      ft.toUpperCase())));
  const topK = h("input", { type: "number", min: 1, max: 20, value: state.topK, size: 3,
    onchange: (e) => { state.topK = Math.min(20, Math.max(1, Number(e.target.value) || 5)); } });
  const active = Boolean(state.collection || state.fileTypes.size);
  return h("details", { class: "filters", open: wide() || active },
    h("summary", {}, t("ask.filters")),
    h("div", { class: "row" }, field(t("ask.collection"), select), types, field(t("ask.topK"), topK)));
}

async function loadCollections(select) {
  try {
    let names = [];
    const cols = await optional("/api/v1/collections");
    if (cols) names = cols.collections.map((c) => c.name);
    else {
      const docs = await api("/api/v1/documents?limit=500");
      names = [...new Set(docs.documents.map((d) => d.collection))].sort();
    }
    for (const n of names) select.append(h("option", { value: n, selected: n === state.collection }, n));
  } catch (e) {
    showError(e);
  }
}

async function refreshConversations() {
  if (!view) return;
  try {
    const data = await api("/api/v1/conversations?limit=100");
    if (!view) return;
    view.convList.replaceChildren(...data.conversations.map((c) => h("li", {},
      h("a", { href: `#/ask/${encodeURIComponent(c.id)}`, "aria-current": c.id === state.conversationId ? "page" : null,
        title: c.title }, c.title || t("ask.untitled")),
      h("button", { type: "button", class: "icon danger", "aria-label": t("ask.deleteConversation", { title: c.title }),
        onclick: () => deleteConversation(c) }, "✕"))));
    if (!data.conversations.length) view.convList.append(h("li", { class: "muted" }, t("ask.noConversations")));
  } catch (e) {
    showError(e);
  }
}

async function loadConversation(id) {
  try {
    const conv = await api(`/api/v1/conversations/${encodeURIComponent(id)}`);
    state.conversationId = conv.id;
    state.messages = conv.messages.filter((m) => m.role !== "system").map((m) => ({
      role: m.role, content: m.content, citations: m.citations || [], id: m.id, found: m.found }));
    state.selected = lastAssistant();
  } catch (e) {
    showError(e);
    resetState();
  }
}

function resetState() {
  if (state.controller) state.controller.abort();
  Object.assign(state, { conversationId: null, messages: [], selected: -1, controller: null });
}

function newConversation() {
  resetState();
  if (location.hash !== "#/ask") location.hash = "#/ask";
  else { renderMessages(); renderSources(); refreshConversations(); view.input.focus(); }
}

async function deleteConversation(c) {
  if (!confirmAction("ask.confirmDelete", { title: c.title })) return;
  try {
    await api(`/api/v1/conversations/${encodeURIComponent(c.id)}`, { method: "DELETE" });
    toast(t("ask.deleted"));
    if (c.id === state.conversationId) newConversation();
    else refreshConversations();
  } catch (e) {
    showError(e);
  }
}

const lastAssistant = () => state.messages.map((m) => m.role).lastIndexOf("assistant");

/** Answer text with [n] markers turned into buttons that open the cited passage. */
function answerNodes(msg, index) {
  const byMarker = new Map((msg.citations || []).map((c) => [c.marker, c]));
  const nodes = [];
  let last = 0;
  for (const m of msg.content.matchAll(/\[(\d+)\]/g)) {
    const cite = byMarker.get(Number(m[1]));
    if (!cite) continue;
    nodes.push(msg.content.slice(last, m.index));
    nodes.push(h("button", { type: "button", class: "cite", "data-marker": cite.marker,
      "aria-label": t("ask.citeLabel", { n: cite.marker, file: cite.filename, page: cite.page ?? "–" }),
      onclick: (e) => { selectMessage(index); openCitation(cite, e.currentTarget); } }, String(cite.marker)));
    last = m.index + m[0].length;
  }
  nodes.push(msg.content.slice(last));
  return nodes;
}

function messageItem(msg, index) {
  if (msg.role === "user") return h("li", { class: "msg user" }, msg.content);
  const li = h("li", { class: `msg assistant${msg.streaming ? " typing" : ""}`, "data-testid": "answer",
    "aria-busy": msg.streaming ? "true" : null });
  if (msg.streaming) li.append(msg.content);
  else li.append(...answerNodes(msg, index));
  if (msg.error) li.append(h("p", { class: "error", role: "alert" }, msg.error));
  if (!msg.streaming && msg.id) li.append(feedbackBar(msg));
  return li;
}

function feedbackBar(msg) {
  const fb = msg.feedback || (msg.feedback = { rating: 0, sent: false, open: false });
  const bar = h("div", { class: "meta" });
  const draw = () => {
    bar.replaceChildren();
    if (msg.citations && msg.citations.length) {
      bar.append(h("button", { type: "button", class: "icon", onclick: () => selectMessage(state.messages.indexOf(msg)) },
        t("ask.showSources", { n: msg.citations.length })));
    }
    if (fb.sent) { bar.append(h("span", { class: "muted" }, t("feedback.thanks"))); return; }
    for (const [rating, turn, key] of [[1, null, "feedback.up"], [-1, "rotate(180 12 12)", "feedback.down"]]) {
      bar.append(h("button", { type: "button", class: "icon", "aria-label": t(key), title: t(key),
        "aria-pressed": fb.rating === rating ? "true" : "false",
        "data-rating": rating,
        onclick: () => { fb.rating = rating; fb.open = true; draw(); bar.querySelector("textarea").focus(); } },
      icon(THUMB, turn)));
    }
    if (fb.open) {
      const comment = h("textarea", { rows: 2, maxlength: 4000, placeholder: t("feedback.commentPlaceholder") });
      bar.append(h("form", { class: "feedback-form", onsubmit: async (e) => {
        e.preventDefault();
        try {
          await api("/api/v1/feedback", { method: "POST", json: { message_id: msg.id, rating: fb.rating,
            comment: comment.value.trim() || null } });
          fb.sent = true;
          draw();
        } catch (err) { showError(err); }
      } }, field(t("feedback.comment"), comment), h("button", { type: "submit", class: "primary" }, t("feedback.send"))));
    }
  };
  draw();
  return bar;
}

function renderMessages() {
  if (!view) return;
  view.messages.replaceChildren(...state.messages.map(messageItem));
  if (!state.messages.length) view.messages.append(h("li", { class: "empty" }, t("ask.empty")));
  view.messages.lastElementChild.scrollIntoView({ block: "end" });
}

function selectMessage(index) {
  state.selected = index;
  renderSources();
}

function renderSources() {
  if (!view) return;
  const msg = state.messages[state.selected];
  const cites = msg && msg.citations ? msg.citations : [];
  view.sources.replaceChildren(h("h2", { id: "sources-title" }, t("ask.sources")));
  if (!cites.length) { view.sources.append(h("p", { class: "muted" }, t("ask.noSources"))); return; }
  view.sources.append(h("ol", {}, cites.map((c) => h("li", { class: "source" },
    h("button", { type: "button", "data-testid": "source", onclick: (e) => openCitation(c, e.currentTarget) },
      h("div", { class: "title" }, `[${c.marker}] ${c.filename}`
        + (c.attached_to ? `, ${t("ask.attachedTo", { parent: c.attached_to })}` : "")),
      h("div", { class: "muted" }, c.page ? t("ask.page", { page: c.page }) : "",
        c.heading_path && c.heading_path.length ? ` · ${c.heading_path.join(" › ")}` : ""),
      h("div", { class: "snippet" }, c.text))))));
}

function requestFilters() {
  const f = {};
  if (state.collection) f.collection = state.collection;
  if (state.fileTypes.size) f.file_types = [...state.fileTypes];
  return Object.keys(f).length ? f : null;
}

async function ask(text) {
  const question = text.trim();
  if (!question || state.controller) return;
  view.input.value = "";
  const msg = { role: "assistant", content: "", citations: [], streaming: true };
  state.messages.push({ role: "user", content: question }, msg);
  renderMessages();
  const body = { messages: [{ role: "user", content: question }], stream: true, top_k: state.topK };
  const f = requestFilters();
  if (f) body.filters = f;
  if (state.conversationId) body.conversation_id = state.conversationId;
  state.controller = new AbortController();
  view.send.disabled = true;
  view.stop.hidden = false;
  const live = () => view && view.messages.lastElementChild;
  try {
    for await (const ev of stream("/api/v1/chat", body, state.controller.signal)) {
      if (ev.event === "token") {
        msg.content += ev.data.text;
        const li = live();
        if (li) { li.textContent = msg.content; li.scrollIntoView({ block: "end" }); }
      } else if (ev.event === "citations") {
        msg.content = ev.data.answer;
        msg.citations = ev.data.citations;
        msg.found = ev.data.found;
      } else if (ev.event === "done") {
        msg.id = ev.data.message_id;
        if (ev.data.conversation_id && ev.data.conversation_id !== state.conversationId) {
          state.conversationId = ev.data.conversation_id;
          history.replaceState(null, "", `#/ask/${encodeURIComponent(state.conversationId)}`);
        }
      } else if (ev.event === "error") {
        msg.error = `${ev.data.detail || ev.data.title} (${ev.data.code})`;
      }
    }
  } catch (e) {
    if (e.name === "AbortError") msg.error = t("ask.stopped");
    else msg.error = e.detail || e.message;
  } finally {
    msg.streaming = false;
    state.controller = null;
    state.selected = state.messages.indexOf(msg);
    if (view) {
      view.send.disabled = false;
      view.stop.hidden = true;
      renderMessages();
      renderSources();
      refreshConversations();
      view.input.focus();
    }
  }
}
