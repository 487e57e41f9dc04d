// Entry markup built from a message payload, the same as the server's templates/feeds/_entry.html.

import { refreshTimes } from "./times.js";
import { gettext } from "./i18n.js";

function element(tag, className, text) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  if (text !== undefined) el.textContent = text;
  return el;
}

export function permalink(slug, id) {
  return `/feeds/${encodeURIComponent(slug)}/entries/${id}/`;
}

export function timeElement(iso) {
  const time = element("time");
  time.dateTime = iso || "";
  return time;
}

// A removed entry's notice.
export function renderRemoved(id, seq, published) {
  const article = element("article", "entry entry-removed");
  article.append(element("p", "", gettext("This update was removed.")));
  Object.assign(article, { id: `entry-${id}`, tabIndex: -1 });
  Object.assign(article.dataset, { entryId: id, seq, published, removed: "" });
  return article;
}

export function renderEntry(entry, slug) {
  if (entry.removed) return renderRemoved(entry.id, entry.seq, entry.published_at);
  const article = element("article", "entry");
  article.classList.toggle("entry-pinned", entry.pinned);
  article.classList.toggle("entry-key", entry.key_event);
  article.id = `entry-${entry.id}`;
  article.tabIndex = -1;
  Object.assign(article.dataset, {
    entryId: entry.id,
    seq: entry.seq,
    published: entry.published_at || "",
    key: entry.key_event ? "1" : "",
  });

  const meta = element("header", "entry-meta");
  meta.append(timeElement(entry.published_at));
  if (entry.key_event) meta.append(element("span", "badge badge-key", gettext("Key event")));
  if (entry.pinned) meta.append(element("span", "badge badge-pinned", gettext("Pinned")));
  article.append(meta);
  if (entry.headline) article.append(element("h2", "entry-headline", entry.headline));
  const body = element("div", "entry-body");
  body.innerHTML = entry.html; // sanitized on the server when the entry was saved
  article.append(body);
  // "Corrected 14:02 — note", and the earlier wording struck through.
  for (const { at, note, headline, html } of entry.corrections) {
    const aside = element("aside", "correction");
    aside.innerHTML = "<p><b> <time data-clock></time></b> — </p><details><summary></summary><del></del></details>";
    aside.querySelector("b").prepend(gettext("Corrected"));
    aside.querySelector("summary").textContent = gettext("Earlier wording");
    aside.querySelector("time").dateTime = at;
    aside.firstChild.append(note);
    const earlier = aside.querySelector("del");
    if (headline) earlier.append(element("b", "", headline));
    earlier.insertAdjacentHTML("beforeend", html); // sanitized on the server
    article.append(aside);
  }

  const foot = element("footer", "entry-foot");
  const link = element("a", "entry-link", gettext("Link"));
  link.href = permalink(slug, entry.id);
  link.dataset.permalink = "";
  link.append(element("span", "visually-hidden", ` ${gettext("to this update")}`));
  const share = element("button", "share", gettext("Copy link"));
  share.type = "button";
  share.dataset.share = "";
  foot.append(element("span", "entry-author", entry.author), " ", link, " ", share);
  article.append(foot);
  refreshTimes(article);
  return article;
}

// Entries sort by publication time, then id, as the server's pages do.
export function sortKey(el) {
  return [Date.parse(el.dataset.published) || 0, Number(el.dataset.entryId)];
}

export function newer(a, b) {
  return a[0] > b[0] || (a[0] === b[0] && a[1] > b[1]);
}
