// The desk's Readers panel: the question queue (live over the desk's socket, reloaded on
// connect), answering and dismissing, closing polls, and the feed's switches. A reader's text is
// only ever inserted as text.

import { format, gettext, pgettext } from "../feeds/i18n.js";

const panel = document.querySelector("[data-participation-desk]");
const desk = panel?.closest("[data-desk]") || document;
const csrf = document.querySelector("[name=csrfmiddlewaretoken]")?.value || "";
const queue = panel?.querySelector("[data-question-queue]");
const messageLine = panel?.querySelector("[data-participation-message]");
const questions = new Map();

async function send(url, body = {}) {
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body),
      credentials: "same-origin",
    });
    const answered = format(gettext("The server answered %(status)s."), { status: response.status });
    const data = await response.json().catch(() => ({ detail: answered }));
    if (!response.ok) messageLine.textContent = data.detail || answered;
    else messageLine.textContent = "";
    return { ok: response.ok, data };
  } catch {
    messageLine.textContent = gettext("The server could not be reached; try again.");
    return { ok: false, data: {} };
  }
}

const urlFor = (name, id) => panel.dataset[name].replace(/\/0\/([a-z-]+\/)$/, `/${id}/$1`);

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function drawQuestion(question) {
  const item = element("li");
  item.dataset.question = question.id;
  item.append(element("p", "question-text", question.text));
  const when = new Date(question.created_at);
  item.append(
    element(
      "p",
      "question-from",
      `${question.display_name || gettext("Anonymous")} · ${when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}`,
    ),
  );
  const form = element("form", "question-answer");
  const label = element("label", "", `${gettext("Answer")} `);
  const answer = element("textarea");
  answer.name = "answer";
  answer.rows = 2;
  answer.required = true;
  label.append(answer);
  const publish = element("button", "", gettext("Publish answer"));
  publish.type = "submit";
  const dismiss = element("button", "dismiss", pgettext("reader question", "Dismiss"));
  dismiss.type = "button";
  form.append(label, publish, " ", dismiss);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    publish.disabled = true;
    const { ok } = await send(urlFor("answerUrl", question.id), { answer: answer.value });
    publish.disabled = false;
    if (ok) forget(question.id);
  });
  dismiss.addEventListener("click", async () => {
    const { ok } = await send(urlFor("dismissUrl", question.id));
    if (ok) forget(question.id);
  });
  item.append(form);
  return item;
}

function draw() {
  queue.replaceChildren(...[...questions.values()].map(drawQuestion));
  panel.querySelector("[data-question-count]").textContent = questions.size;
}

function forget(id) {
  questions.delete(String(id));
  draw();
}

async function reload() {
  try {
    const response = await fetch(panel.dataset.queueUrl, { headers: { Accept: "application/json" } });
    if (!response.ok) return;
    const data = await response.json();
    questions.clear();
    for (const question of data.questions) questions.set(String(question.id), question);
    draw();
  } catch {
    // Kept as shown; the next reconnect reloads it.
  }
}

function applyMessage(message) {
  if (message.type === "participation.question") {
    const question = message.question;
    if (question.status === "pending") questions.set(String(question.id), question);
    else questions.delete(String(question.id));
    draw();
  } else if (message.entry?.kind === "poll" || message.type === "entry.deleted") {
    refreshPolls(message);
  }
}

function refreshPolls(message) {
  const list = panel.querySelector("[data-desk-polls]");
  const id = String(message.entry.id);
  const existing = list.querySelector(`[data-poll="${CSS.escape(id)}"]`);
  const entry = message.entry;
  const open = entry.kind === "poll" && entry.status === "published" && !entry.deleted && !entry.details?.result;
  if (!open) {
    existing?.remove();
  } else if (!existing) {
    const item = element("li");
    item.dataset.poll = id;
    item.append(element("span", "", entry.details?.question || ""), " ");
    const button = element("button", "", gettext("Close poll"));
    button.type = "button";
    button.dataset.closePoll = id;
    item.append(button);
    list.querySelector("[data-no-polls]")?.remove();
    list.append(item);
  }
}

if (panel) {
  for (const item of queue.querySelectorAll("[data-question]")) {
    questions.set(item.dataset.question, {
      id: item.dataset.question,
      text: item.querySelector(".question-text").textContent,
      // As sent: the line shown says "Anonymous", in the desk's language, for no name.
      display_name: item.querySelector(".question-from").dataset.displayName,
      created_at: item.querySelector("time").dateTime,
      status: "pending",
    });
  }
  draw();
  desk.addEventListener("desk:message", (event) => applyMessage(event.detail));
  // The desk's socket reconnected: questions sent meanwhile are in the database.
  new MutationObserver(() => {
    if (desk.dataset?.connection === "live") reload();
  }).observe(desk, { attributes: true, attributeFilter: ["data-connection"] });
  panel.addEventListener("click", async (event) => {
    const close = event.target.closest("[data-close-poll]");
    if (close) {
      close.disabled = true;
      const { ok } = await send(urlFor("closeUrl", close.dataset.closePoll));
      if (ok) close.closest("li").remove();
      else close.disabled = false;
    }
  });
  panel.addEventListener("change", async (event) => {
    const toggle = event.target.closest("[data-switch]");
    if (!toggle) return;
    const { ok } = await send(panel.dataset.switchesUrl, { [toggle.dataset.switch]: toggle.checked });
    if (!ok) toggle.checked = !toggle.checked;
  });
}
