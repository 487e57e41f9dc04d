// "While you were away", loaded only when a reader comes back after more than a few minutes (see
// live.js): a short summary at the top of the key events and race status changes missed, with
// links to each, and how many other updates came; one tap dismisses it. Built from the events API
// after the seq the page had applied when the reader left, which lists each changed entry once, in
// its current state: an entry edited twice is one update.

import { permalink } from "./entries.js";
import { format, gettext, ngettext } from "./i18n.js";

function plainText(html) {
  return new DOMParser().parseFromString(html || "", "text/html").body.textContent.trim();
}

// Sort the missed changes into what the summary names and what it only counts.
export function summarize(messages, { flagBefore = "none" } = {}) {
  const keyEvents = [];
  const raceChanges = [];
  let others = 0;
  let race = null;
  for (const message of messages) {
    if (message.type === "feed.updated") {
      const flag = message.feed_data.race?.flag || "none";
      if (flag !== flagBefore) race = message.feed_data;
      continue;
    }
    if (message.type === "entry.deleted" || !message.entry) continue;
    const entry = message.entry;
    if (entry.kind === "race_status" && message.type === "entry.created") raceChanges.push(entry);
    else if (entry.key_event) keyEvents.push(entry);
    else others += 1;
  }
  // A flag change posted to the stream is already listed; one that was not is told from the feed.
  const line = race && new DOMParser().parseFromString(race.race_html, "text/html").querySelector(".race-flag");
  const statusNow = race && !raceChanges.length ? line?.textContent.trim() || race.race.flag : null;
  return { keyEvents, raceChanges, statusNow, others };
}

// Show `feed` (the page's LiveFeed) what changed since `away` ({seq, race}: the seq it had applied
// and the race status bar's class when the reader left).
export function show(feed, away) {
  const flagBefore = away.race?.match(/flag-(\S+)/)?.[1] || "none";
  new Summary(feed).show(away.seq, flagBefore);
}

class Summary {
  constructor(feed) {
    this.root = feed.root;
    this.slug = feed.slug;
    this.announce = (text) => feed.announce(text);
    // An entry still held behind "N new updates" is shown first, then jumped to.
    this.reveal = (id) => {
      if (!feed.stream.find(id) && feed.stream.pending.has(String(id))) feed.stream.reveal({ scroll: false });
      return feed.stream.find(id);
    };
  }

  async show(after, flagBefore) {
    let body;
    try {
      const response = await fetch(`/api/feeds/${encodeURIComponent(this.slug)}/events/?after=${after}`, {
        headers: { Accept: "application/json" },
        cache: "no-store",
      });
      if (!response.ok) return;
      body = await response.json();
    } catch {
      return; // a summary is a courtesy: the stream itself is complete without it
    }
    const summary = summarize(body.events, { flagBefore });
    if (!summary.keyEvents.length && !summary.raceChanges.length && !summary.statusNow && !summary.others) return;
    this.render(summary);
    const named = summary.keyEvents.length + summary.raceChanges.length;
    const moments = format(ngettext("%(count)s key moment", "%(count)s key moments", named), { count: named });
    const others = format(ngettext("%(count)s other update", "%(count)s other updates", summary.others), {
      count: summary.others,
    });
    this.announce(format(gettext("While you were away: %(moments)s and %(others)s, summarized at the top."), { moments, others }));
  }

  render({ keyEvents, raceChanges, statusNow, others }) {
    this.root.querySelector("[data-away]")?.remove();
    const box = document.createElement("section");
    box.className = "away";
    box.dataset.away = "";
    box.setAttribute("aria-labelledby", "away-title");
    const dismiss = document.createElement("button");
    dismiss.type = "button";
    dismiss.className = "away-dismiss";
    dismiss.dataset.awayDismiss = "";
    dismiss.textContent = gettext("Dismiss");
    dismiss.addEventListener("click", () => box.remove());
    const title = document.createElement("h2");
    title.id = "away-title";
    title.textContent = gettext("While you were away");
    box.append(dismiss, title);
    const list = document.createElement("ul");
    const item = (label, entry) => {
      const li = document.createElement("li");
      const link = document.createElement("a");
      link.href = permalink(this.slug, entry.id);
      link.dataset.awayLink = entry.id;
      link.textContent = entry.headline || plainText(entry.html).slice(0, 80);
      li.append(format(gettext("%(label)s: "), { label }), link);
      list.append(li);
    };
    for (const entry of raceChanges) item(gettext("Race status"), entry);
    for (const entry of keyEvents) item(gettext("Key event"), entry);
    if (statusNow) {
      const li = document.createElement("li");
      li.textContent = format(gettext("Race status now: %(status)s"), { status: statusNow });
      list.append(li);
    }
    if (list.children.length) box.append(list);
    if (others) {
      const more = document.createElement("p");
      more.dataset.awayOthers = others;
      const text = list.children.length
        ? ngettext("And %(count)s other update.", "And %(count)s other updates.", others)
        : ngettext("%(count)s other update.", "%(count)s other updates.", others);
      more.textContent = format(text, { count: others });
      box.append(more);
    }
    box.addEventListener("click", (event) => {
      const link = event.target.closest("[data-away-link]");
      const target = link && this.reveal(link.dataset.awayLink);
      if (!target) return;
      event.preventDefault();
      target.scrollIntoView({ block: "start" });
      target.focus({ preventScroll: true });
    });
    const header = this.root.querySelector(".feed-header");
    header.after(box);
  }
}
