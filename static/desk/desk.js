// The live desk: posts through the desk's JSON endpoints and follows every change to the feed,
// drafts included, over the staff WebSocket. Entry HTML arrives sanitized from the server.
// Made for a phone on a bad network: the composer's text is saved as it is typed, posts wait in an
// outbox until they get through, and every write carries an Idempotency-Key its retries reuse.

import { format, gettext, language, pgettext } from "../feeds/i18n.js";
import { Outbox } from "./outbox.js";
import { ComposerDraft } from "./storage.js";
import { act, newKey, request } from "./transport.js";

const root = document.querySelector("[data-desk]");
const state = JSON.parse(document.getElementById("desk-state").textContent);
const csrf = root.querySelector("[name=csrfmiddlewaretoken]").value;
const entriesUrl = root.dataset.entriesUrl;
const list = root.querySelector("[data-desk-entries]");
const composer = root.querySelector("[data-composer]");
const composerMessage = root.querySelector("[data-composer-message]");
const uploadProgress = composer.querySelector("[data-upload-progress]");
const entries = new Map(state.entries.map((entry) => [String(entry.id), entry]));
const editing = new Set();
const user = state.user;
const storagePrefix = `livefeed:desk:${user.id}:${state.feed_id}`;
let race = state.feed.race || {};

// A desk action: one Idempotency-Key, reused by its quick retries.
function send(url, body, { json = false } = {}) {
  return act(url, { body, csrf, json });
}

function form(fields) {
  const data = new FormData();
  for (const [name, value] of Object.entries(fields)) if (value !== undefined && value !== null) data.append(name, value);
  return data;
}

// --- Composer ------------------------------------------------------------------------------

function showKindFields(container, kind) {
  for (const fieldset of container.querySelectorAll("[data-kind-fields]")) {
    fieldset.hidden = fieldset.dataset.kindFields !== kind;
  }
  const label = container.querySelector("[data-body-label]");
  if (label) {
    const option = container.querySelector(`[data-kind] option[value="${CSS.escape(kind)}"]`);
    label.textContent = option?.dataset.kindBodyLabel || gettext("Body (Markdown)");
  }
}

const kindSelect = composer.querySelector("[data-kind]");
kindSelect.addEventListener("change", () => showKindFields(composer, kindSelect.value));
showKindFields(composer, kindSelect.value);

const draft = new ComposerDraft(composer, `${storagePrefix}:draft`);
if (draft.restore()) {
  showKindFields(composer, kindSelect.value);
  showSchedule();
  say(composerMessage, gettext("Your unsent text is back."), false);
}

function showSchedule() {
  const schedule = composer.querySelector("[data-schedule]");
  if (schedule && composer.elements.publish_at_local.value) schedule.open = true;
}

const SENT = { publish: gettext("Published."), draft: gettext("Draft saved."), schedule: gettext("Scheduled.") };
const OFFLINE = gettext("No connection: kept on this device; it will be sent when the connection returns.");
let lastPosted = null;

// Every post goes through the outbox, so posts reach the feed in the order they were written.
const outbox = new Outbox({ storageKey: `${storagePrefix}:outbox`, send: sendPost });

function sendPost(item, photo) {
  if (item.photo && !photo) {
    // The browser kept the text but not the photo (no IndexedDB, or it was cleared).
    const detail = gettext("The photo was lost when the page reloaded: attach it again.");
    return Promise.resolve({ ok: false, status: 400, data: { detail } });
  }
  const data = form(item.fields);
  if (photo) data.append("image", photo);
  const onProgress = photo ? showProgress : undefined;
  if (photo) showProgress(0);
  // A photo on a slow network takes a while: allow about 25 KB/s on top of the usual 20 s.
  const timeout = 20000 + (photo ? photo.size / 25 : 0);
  return request(entriesUrl, { body: data, key: item.key, csrf, timeout, onProgress }).finally(() => {
    if (photo) uploadProgress.hidden = true;
  });
}

function showProgress(fraction) {
  uploadProgress.hidden = false;
  uploadProgress.value = Math.round(fraction * 100);
  const percent = new Intl.NumberFormat(language, { style: "percent" }).format(fraction);
  uploadProgress.textContent = format(gettext("Uploading %(percent)s"), { percent });
}

function post(mode) {
  const fields = draft.fields();
  delete fields.publish_at_local;
  if (mode === "publish") fields.publish = "on";
  if (mode === "schedule") {
    const local = composer.elements.publish_at_local.value;
    if (!local) {
      say(composerMessage, gettext("Choose when to publish."), true);
      return;
    }
    fields.publish_at = new Date(local).toISOString();
  }
  const chosen = composer.elements.image?.files?.[0];
  const photo = fields.kind === "image" && chosen ? chosen : null;
  const item = { key: newKey(), mode, fields, photo: Boolean(photo), queued_at: new Date().toISOString() };
  outbox.add(item, photo);
  lastPosted = item.key;
  // The text is safe in the outbox: the composer is free for the next post at once.
  clearComposer();
  say(composerMessage, navigator.onLine ? gettext("Sending…") : OFFLINE, false);
  outbox.flush();
}

function clearComposer() {
  const kind = kindSelect.value;
  composer.reset();
  kindSelect.value = kind;
  showKindFields(composer, kind);
  draft.clear();
  composer.querySelector("[data-body]").focus();
}

outbox.addEventListener("sent", (event) => {
  const { item, result } = event.detail;
  upsert(result.data.entry);
  if (item.key === lastPosted) say(composerMessage, SENT[item.mode] || gettext("Sent."), false);
});
outbox.addEventListener("waiting", (event) => {
  const { item, result } = event.detail;
  if (result.session) say(composerMessage, `${result.data.detail} ${gettext("Your posts wait on this device.")}`, true);
  else if (item.key === lastPosted) say(composerMessage, OFFLINE, false);
});
outbox.addEventListener("refused", (event) => {
  const { item, result } = event.detail;
  const detail = result.data.detail || gettext("The entry was not posted.");
  if (item.key === lastPosted && draft.isEmpty()) {
    // Nothing typed since: the post goes back into the composer with the reason, as if never sent.
    const photo = outbox.photos.get(item.key);
    outbox.remove(item.key);
    backToComposer(item, photo);
    say(composerMessage, detail, true);
  } else {
    say(composerMessage, format(gettext("A post was not sent: %(detail)s"), { detail }), true);
  }
});
outbox.addEventListener("change", () => renderList());

function backToComposer(item, photo) {
  draft.restore(item.fields);
  if (photo && composer.elements.image) {
    const files = new DataTransfer();
    files.items.add(photo);
    composer.elements.image.files = files.files;
  }
  if (item.mode === "schedule" && item.fields.publish_at && composer.elements.publish_at_local) {
    const at = new Date(item.fields.publish_at);
    composer.elements.publish_at_local.value = new Date(at.getTime() - at.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
  }
  showKindFields(composer, kindSelect.value);
  showSchedule();
  draft.save();
}

function say(element, text, isError) {
  element.textContent = text;
  element.classList.toggle("is-error", Boolean(isError));
}

const primary = composer.querySelector("[type=submit]");
composer.addEventListener("submit", (event) => {
  event.preventDefault();
  post(primary.dataset.submit);
});
for (const button of composer.querySelectorAll("button[type=button][data-submit]")) {
  button.addEventListener("click", () => post(button.dataset.submit));
}
composer.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
    event.preventDefault();
    post(primary.dataset.submit);
  }
});

// --- Entries -------------------------------------------------------------------------------

function sortKey(entry) {
  return entry.published_at || entry.publish_at || entry.created_at || "";
}

function upsert(entry) {
  const id = String(entry.id);
  const known = entries.get(id);
  if (known && known.version > entry.version) return;
  entries.set(id, entry);
  if (editing.has(id)) {
    const row = list.querySelector(`[data-entry-id="${id}"]`);
    row?.querySelector("[data-newer]")?.removeAttribute("hidden");
    return;
  }
  renderList();
}

function removeEntry(id) {
  entries.delete(String(id));
  editing.delete(String(id));
  renderList();
}

function renderList() {
  const sorted = [...entries.values()].sort((a, b) => (sortKey(a) < sortKey(b) ? 1 : sortKey(a) > sortKey(b) ? -1 : b.id - a.id));
  const rows = sorted.map((entry) => {
    const id = String(entry.id);
    const existing = list.querySelector(`[data-entry-id="${id}"]`);
    if (existing && editing.has(id)) return existing;
    return renderRow(entry);
  });
  const pending = [...outbox.items()].reverse().map(renderPending);
  list.replaceChildren(...pending, ...rows);
  if (!rows.length && !pending.length) list.textContent = gettext("No entries yet.");
}

function element(tag, className, text) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  if (text !== undefined) el.textContent = text;
  return el;
}

function statusLabel(entry) {
  if (entry.status === "published") return pgettext("entry status", "Published");
  const when = new Date(entry.publish_at).toLocaleString(language);
  return entry.publish_at ? format(gettext("Scheduled %(when)s"), { when }) : pgettext("entry status", "Draft");
}

function canEdit(entry) {
  return user.can_publish || (entry.author_id === user.id && entry.status === "draft" && !entry.publish_at);
}

function renderRow(entry) {
  const row = element("article", `desk-entry status-${entry.status}`);
  row.dataset.entryId = entry.id;
  row.dataset.status = entry.status;
  const meta = element("header", "desk-entry-meta");
  meta.append(element("span", `desk-badge badge-${entry.status}`, statusLabel(entry)));
  meta.append(element("span", "desk-kind", entry.kind.replace("_", " ")));
  if (entry.pinned) meta.append(element("span", "desk-badge badge-pinned", gettext("Pinned")));
  if (entry.key_event) meta.append(element("span", "desk-badge badge-key", gettext("Key event")));
  const [correction] = (entry.corrections || []).slice(-1);
  if (correction) {
    const text = format(gettext("Corrected: %(note)s"), { note: correction.note });
    meta.append(element("span", "desk-badge badge-corrected", text));
  }
  const when = entry.published_at || entry.created_at;
  if (when) meta.append(element("time", "", new Date(when).toLocaleTimeString(language, { hour: "2-digit", minute: "2-digit" })));
  meta.append(element("span", "desk-author", entry.author));
  row.append(meta);
  if (entry.headline) row.append(element("h3", "desk-entry-headline", entry.headline));
  const body = element("div", "desk-entry-body");
  body.innerHTML = entry.html; // sanitized on the server when the entry was saved
  row.append(body);

  const actions = element("div", "desk-entry-actions");
  const action = (label, handler, name) => {
    const button = element("button", "", label);
    button.type = "button";
    button.dataset.action = name;
    button.addEventListener("click", handler);
    actions.append(button);
  };
  if (canEdit(entry)) action(gettext("Edit"), () => startEdit(entry.id), "edit");
  if (user.can_publish) {
    if (entry.status === "draft") action(gettext("Publish"), () => toggle(entry, "publish"), "publish");
    action(entry.pinned ? gettext("Unpin") : gettext("Pin"), () => toggle(entry, entry.pinned ? "unpin" : "pin"), "pin");
    action(entry.key_event ? gettext("Unmark key event") : gettext("Key event"), () => toggle(entry, entry.key_event ? "unkey" : "key"), "key");
    action(gettext("Delete"), () => remove(entry), "delete");
    if (entry.status === "published") action(gettext("Remove with notice"), () => remove(entry, true), "remove-notice");
  }
  action(gettext("History"), () => showHistory(entry.id), "history");
  row.append(actions);
  row.append(element("p", "desk-entry-message", ""));
  return row;
}

// A post still on this device: waiting for the connection, or refused and waiting for the reporter.
function renderPending(item) {
  const row = element("article", "desk-entry is-pending");
  row.dataset.pending = item.key;
  const meta = element("header", "desk-entry-meta");
  const label = item.error
    ? gettext("Not sent")
    : item.sending
      ? gettext("Sending…")
      : item.photoStored === false
        ? gettext("Saving the photo…")
        : gettext("Waiting to send");
  meta.append(element("span", `desk-badge ${item.error ? "badge-failed" : "badge-pending"}`, label));
  meta.append(element("span", "desk-kind", (item.fields.kind || "text").replace("_", " ")));
  meta.append(element("span", "", { publish: gettext("to publish"), draft: gettext("as a draft"), schedule: gettext("scheduled") }[item.mode] || ""));
  row.append(meta);
  if (item.fields.headline) row.append(element("h3", "desk-entry-headline", item.fields.headline));
  const body = element("p", "desk-entry-body", item.fields.body || "");
  body.style.whiteSpace = "pre-wrap";
  row.append(body);
  if (item.error) {
    row.append(element("p", "desk-entry-message is-error", item.error));
    const actions = element("div", "desk-entry-actions");
    const back = element("button", "", gettext("Back to the composer"));
    back.type = "button";
    back.dataset.action = "recompose";
    back.addEventListener("click", () => {
      if (!draft.isEmpty() && !window.confirm(gettext("Replace the text in the composer with this post?"))) return;
      const photo = outbox.photos.get(item.key);
      outbox.remove(item.key);
      backToComposer(item, photo);
      composer.querySelector("[data-body]").focus();
    });
    const discard = element("button", "", gettext("Discard"));
    discard.type = "button";
    discard.dataset.action = "discard";
    discard.addEventListener("click", () => {
      if (window.confirm(gettext("Discard this post? Its text will be lost."))) outbox.remove(item.key);
    });
    actions.append(back, discard);
    row.append(actions);
  }
  return row;
}

function rowMessage(id, text) {
  const message = list.querySelector(`[data-entry-id="${id}"] .desk-entry-message`);
  if (message) say(message, text, true);
}

async function toggle(entry, name) {
  const { ok, data } = await send(`${entriesUrl}${entry.id}/`, form({ action: name }));
  if (ok) upsert(data.entry);
  else rowMessage(entry.id, data.detail);
}

async function remove(entry, notice = false) {
  const question = notice
    ? gettext("Remove “%(entry)s”? Readers will see “This update was removed” in its place.")
    : gettext("Delete “%(entry)s”? Readers will no longer see it.");
  if (!window.confirm(format(question, { entry: entry.headline || gettext("this entry") }))) return;
  const { ok, data } = await send(`${entriesUrl}${entry.id}/delete/`, form(notice ? { removal_notice: "1" } : {}));
  if (ok) removeEntry(entry.id);
  else rowMessage(entry.id, data.detail);
}

// Each kind's detail inputs from the server's kind registry: [input name, label, key in details].
const KIND_FIELDS = state.kind_fields || {};

function startEdit(id) {
  const entry = entries.get(String(id));
  if (!entry) return;
  editing.add(String(id));
  const row = list.querySelector(`[data-entry-id="${id}"]`);
  const editor = element("form", "desk-edit");
  editor.dataset.editForm = "";
  editor.innerHTML = `
    <p class="desk-conflict" data-conflict role="alert" hidden></p>
    <p class="desk-newer" data-newer hidden>${gettext("Someone saved a newer version while you edit; saving will say so.")}</p>
    <label class="block">${gettext("Headline")} <input name="headline" maxlength="200"></label>
    <label class="block">${gettext("Body")} <textarea name="body" rows="4"></textarea></label>
    <div class="desk-edit-kind"></div>
    <label class="block" data-correction-field hidden>${gettext("Correction note")} <input name="correction_note" maxlength="200"
      placeholder="${gettext("Leave empty for a silent fix (a typo)")}"></label>
    <details class="desk-yours" data-yours hidden><summary>${gettext("Your unsaved text")}</summary><pre></pre></details>
    <div class="desk-edit-actions"><button type="submit" class="default">${gettext("Save")}</button>
    <button type="button" data-cancel>${gettext("Cancel")}</button><span class="desk-entry-message" role="alert"></span></div>`;
  const kindBox = editor.querySelector(".desk-edit-kind");
  for (const [name, label] of KIND_FIELDS[entry.kind] || []) {
    const wrap = element("label", "block", `${label} `);
    const input = element("input");
    input.name = name;
    wrap.append(input);
    kindBox.append(wrap);
  }
  // Readers have seen a published entry: an edit to it may be a visible correction.
  editor.querySelector("[data-correction-field]").hidden = entry.status !== "published";
  fill(editor, entry);
  editor.addEventListener("submit", (event) => {
    event.preventDefault();
    saveEdit(entry.id, editor);
  });
  editor.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      saveEdit(entry.id, editor);
    }
  });
  editor.querySelector("[data-cancel]").addEventListener("click", () => {
    editing.delete(String(id));
    renderList();
  });
  row.replaceChildren(editor);
  editor.elements.body.focus();
}

function fill(editor, entry) {
  editor.dataset.version = entry.version;
  editor.elements.headline.value = entry.headline;
  editor.elements.body.value = entry.body;
  for (const [field, , key] of KIND_FIELDS[entry.kind] || []) {
    if (editor.elements[field]) editor.elements[field].value = (entry.details || {})[key] || "";
  }
}

async function saveEdit(id, editor) {
  const entry = entries.get(String(id));
  const fields = { kind: entry.kind, version: editor.dataset.version };
  for (const input of editor.querySelectorAll("input[name], textarea[name]")) fields[input.name] = input.value;
  const { ok, status, data } = await send(`${entriesUrl}${id}/`, form(fields));
  if (ok) {
    editing.delete(String(id));
    entries.set(String(id), data.entry);
    renderList();
    return;
  }
  if (status === 409) {
    // Show the newer text in the form and keep the editor's own words beside it: nothing is lost.
    const yours = [fields.headline, fields.body].filter(Boolean).join("\n\n");
    const details = editor.querySelector("[data-yours]");
    details.hidden = false;
    details.open = true;
    details.querySelector("pre").textContent = yours;
    fill(editor, data.current);
    entries.set(String(id), data.current);
    const conflict = editor.querySelector("[data-conflict]");
    conflict.hidden = false;
    conflict.textContent = `${data.detail} ${format(gettext("(saved by %(author)s’s desk at version %(version)s.)"), { author: data.current.author, version: data.current.version })}`;
    editor.querySelector("[data-newer]").hidden = true;
    return;
  }
  say(editor.querySelector(".desk-entry-message"), data.detail || gettext("Not saved."), true);
}

// --- History -------------------------------------------------------------------------------

const historyDialog = root.querySelector("[data-history]");

async function showHistory(id) {
  const response = await fetch(`${entriesUrl}${id}/history/`, { headers: { Accept: "application/json" } });
  const data = await response.json();
  const box = historyDialog.querySelector("[data-history-list]");
  box.replaceChildren();
  for (const version of data.versions || []) {
    const item = element("div", "history-version");
    item.dataset.historyId = version.history_id;
    const kinds = { created: gettext("created"), changed: gettext("changed"), deleted: gettext("deleted") };
    const when = new Date(version.when).toLocaleString(language);
    item.append(element("p", "history-when", `${when} · ${version.who} · ${kinds[version.type] || version.type} · ${format(gettext("version %(number)s"), { number: version.version })}`));
    if (version.reason) item.append(element("p", "history-reason", version.reason));
    const changes = element("ul", "history-changes");
    for (const change of version.changes) {
      changes.append(element("li", "", `${change.field}: ${JSON.stringify(change.old)} → ${JSON.stringify(change.new)}`));
    }
    if (!version.changes.length) changes.append(element("li", "", `${version.headline} ${version.body}`.trim() || gettext("(empty)")));
    item.append(changes);
    if (!version.is_current && version.type !== "deleted" && canEdit(entries.get(String(id)) || {})) {
      const restore = element("button", "", gettext("Restore this version"));
      restore.type = "button";
      restore.addEventListener("click", async () => {
        const { ok, data: answer } = await send(`${entriesUrl}${id}/restore/`, form({ history_id: version.history_id }));
        if (ok) {
          upsert(answer.entry);
          historyDialog.close();
        } else {
          say(item.querySelector(".history-when"), answer.detail, true);
        }
      });
      item.append(restore);
    }
    box.append(item);
  }
  if (!historyDialog.open) historyDialog.showModal();
}

// --- Feed controls and race status -----------------------------------------------------------

function applyFeed(feed) {
  const status = root.querySelector("[data-feed-status]");
  status.textContent = { draft: pgettext("feed status", "Draft"), live: pgettext("feed status", "Live"), ended: pgettext("feed status", "Ended") }[feed.status] || feed.status;
  status.dataset.status = feed.status;
  race = feed.race || {};
  root.querySelector("[data-race-current]").innerHTML = feed.race_html; // sanitized on the server
  const lap = root.querySelector("[data-lap]");
  if (lap) lap.textContent = race.lap ?? "–";
  const total = root.querySelector("[data-laps-total]");
  if (total) total.textContent = race.laps_total ?? "–";
  for (const button of root.querySelectorAll("[data-flag]")) {
    button.setAttribute("aria-pressed", String((race.flag || "none") === button.dataset.flag));
  }
}
applyFeed(state.feed);

for (const button of root.querySelectorAll("[data-feed-action]")) {
  button.addEventListener("click", async () => {
    const { ok, data } = await send(root.dataset.statusUrl, form({ status: button.dataset.feedAction }));
    if (ok) applyFeed(data.feed);
    else window.alert(data.detail);
  });
}

const raceMessage = root.querySelector("[data-race-message]");

async function changeRace(changes, announce = false) {
  const { ok, data } = await send(root.dataset.raceUrl, { changes, announce }, { json: true });
  if (ok) {
    applyFeed(data.feed);
    if (raceMessage) say(raceMessage, "", false);
  } else if (raceMessage) {
    say(raceMessage, data.detail, true);
  }
  return ok;
}

for (const button of root.querySelectorAll("[data-flag]")) {
  button.addEventListener("click", () => {
    const announce = root.querySelector("[data-announce]")?.checked ?? false;
    changeRace({ flag: button.dataset.flag }, announce);
  });
}
for (const button of root.querySelectorAll("[data-lap-step]")) {
  button.addEventListener("click", () => changeRace({ lap: Math.max(0, (race.lap || 0) + Number(button.dataset.lapStep)) }));
}
root.querySelector("[data-caution-step]")?.addEventListener("click", () => changeRace({ cautions: (race.cautions || 0) + 1 }));

const raceForm = root.querySelector("[data-race-form]");
raceForm?.addEventListener("submit", (event) => {
  event.preventDefault();
  const changes = {};
  for (const input of raceForm.querySelectorAll("[name]")) {
    const value = input.value.trim();
    if (input.name === "running_order") changes.running_order = value ? value.split("\n").map((s) => s.trim()).filter(Boolean) : null;
    else changes[input.name] = value === "" ? null : value;
  }
  changeRace(changes);
});

// --- Live updates --------------------------------------------------------------------------

let attempt = 0;
let connectedOnce = false;
const connection = root.querySelector("[data-connection]");

function connect() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const socket = new WebSocket(`${scheme}//${location.host}/ws/desk/${encodeURIComponent(root.dataset.slug)}/`);
  socket.addEventListener("open", async () => {
    attempt = 0;
    root.dataset.connection = "live";
    connection.textContent = gettext("Live");
    if (connectedOnce) await reload();
    connectedOnce = true;
    outbox.flush();
  });
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(event.data);
    apply(message);
    root.dispatchEvent(new CustomEvent("desk:message", { detail: message }));
  });
  socket.addEventListener("close", (event) => {
    root.dataset.connection = "offline";
    if (event.code === 4403 || event.code === 4404) {
      connection.textContent = gettext("Not allowed to follow this feed.");
      return;
    }
    const delay = Math.min(30000, 500 * 2 ** attempt) * (0.5 + Math.random() / 2);
    attempt += 1;
    connection.textContent = gettext("Reconnecting…");
    setTimeout(connect, delay);
  });
}

async function reload() {
  const response = await fetch(entriesUrl, { headers: { Accept: "application/json" } });
  if (!response.ok) return;
  const data = await response.json();
  for (const [id] of entries) if (!editing.has(id)) entries.delete(id);
  for (const entry of data.entries) upsert(entry);
  renderList();
}

function apply(message) {
  if (message.type === "readers") root.querySelector("[data-readers]").textContent = message.count;
  else if (message.type === "feed.updated") applyFeed(message.feed_data);
  else if (message.type === "entry.deleted") removeEntry(message.entry.id);
  else if (message.entry) upsert(message.entry);
}

renderList();
connect();
outbox.flush();
window.desk = { entries, apply, outbox };
