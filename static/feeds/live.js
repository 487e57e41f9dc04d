// Livefeed live page: mounts on any [data-livefeed] root (the reader page, later the widget).
// FeedConnection brings the changes, EntryStream applies them to the page; each applied change is
// then announced as a `livefeed:message` event on the root for the page's other parts.

import { announce } from "./announce.js";
import { FeedConnection } from "./connection.js";
import { followKeyEvents } from "./keyevents.js";
import { EntryStream } from "./stream.js";
import { format, gettext, pgettext } from "./i18n.js";
import { followTimes, refreshTimes } from "./times.js";

const LABELS = {
  connecting: gettext("Connecting…"),
  live: gettext("Updating live"),
  polling: gettext("Live, checking every few seconds (this network blocks instant updates)"),
  pollingShared: gettext("Live, checking every few seconds (many readers share this connection)"),
  offline: gettext("Offline"),
  ended: gettext("Updates stopped."),
  unavailable: gettext("This feed is not available."),
};
const STATUSES = {
  draft: pgettext("feed status", "Draft"),
  live: pgettext("feed status", "Live"),
  ended: pgettext("feed status", "Ended"),
};

export class LiveFeed {
  constructor(root) {
    this.root = root;
    this.slug = root.dataset.slug;
    this.status = root.dataset.status;
    this.connectionLabel = root.querySelector("[data-connection]");
    this.stream = new EntryStream(root, { slug: this.slug, announce: (text) => this.announce(text) });
    this.connection = new FeedConnection({
      slug: this.slug,
      seq: Number(root.dataset.seq || 0),
      pollInterval: Number(root.dataset.pollInterval || 5000),
      onMessage: (message) => this.apply(message),
      onState: (state, detail) => this.setState(state, detail),
    });
    document.addEventListener("visibilitychange", () => (document.hidden ? this.leave() : this.back()));
    if (document.hidden) this.leave();
    followTimes(root);
    this.clearCoverageNoticeAt(root.querySelector("[data-coverage] time")?.dateTime);
    followKeyEvents(root, this.slug, this.stream.order);
    this.setUpSharing();
    this.focusPermalink();
  }

  get socket() {
    return this.connection.socket;
  }

  get lastSeq() {
    return this.connection.lastSeq;
  }

  connect() {
    if (this.status === "ended") this.setState("ended");
    else this.connection.start();
  }

  // Stop following (and stop reconnecting) until resume() is called.
  pause() {
    this.connection.stop("offline");
  }

  resume() {
    if (this.status !== "ended") this.connection.start();
  }

  // `detail`: when a reconnection is due (reconnecting), or why the page polls (polling).
  setState(state, detail) {
    const retryAt = detail;
    this.root.dataset.connection = state;
    if (state === "reconnecting" || state === "offline") this.leave();
    this.following = state === "live" || state === "polling";
    this.back();
    clearInterval(this.countdown);
    const show = () => {
      const seconds = Math.max(0, Math.ceil((retryAt - Date.now()) / 1000));
      this.connectionLabel.textContent =
        state === "reconnecting"
          ? format(gettext("Connection lost: reconnecting in %(seconds)s s…"), { seconds })
          : state === "polling" && detail === "shared"
            ? LABELS.pollingShared
            : LABELS[state] || "";
    };
    show();
    if (state === "reconnecting") this.countdown = setInterval(show, 1000);
  }

  apply(message) {
    if (!message.seq) {
      // Outside the change sequence (live counts of a plug-in): for the page's other parts only.
      this.root.dispatchEvent(new CustomEvent("livefeed:message", { detail: message }));
      return;
    }
    if (this.reloading) {
      this.reloading.push(message);
      return;
    }
    if (message.type === "feed.reset") {
      this.reload(message);
      return;
    }
    if (message.type === "feed.updated") {
      if (message.seq <= (this.feedSeq || 0)) return;
      this.feedSeq = message.seq;
      this.applyFeed(message.feed_data);
    } else if (message.entry) {
      if (!this.stream.apply(message)) return;
    }
    this.root.dispatchEvent(new CustomEvent("livefeed:message", { detail: message }));
  }

  // Reload the feed and its newest entries as they are now (after a feed.reset); changes that
  // arrive meanwhile are applied afterwards, so none is lost to the reload.
  async reload(message) {
    if (this.stream.detached) {
      location.reload();
      return;
    }
    this.reloading = [];
    try {
      const response = await fetch(`/api/feeds/${encodeURIComponent(this.slug)}/`, {
        headers: { Accept: "application/json" },
        cache: "no-store",
      });
      if (!response.ok) throw new Error(response.statusText);
      const page = await response.json();
      this.stream.replace(page);
      this.feedSeq = 0;
      this.applyFeed(page.feed);
    } catch {
      location.reload();
      return;
    } finally {
      const arrived = this.reloading;
      this.reloading = null;
      this.root.dispatchEvent(new CustomEvent("livefeed:message", { detail: message }));
      for (const later of arrived) this.apply(later);
    }
  }

  applyFeed(feed) {
    this.root.querySelector(".feed-title").textContent = feed.title;
    const status = this.root.querySelector("[data-feed-status]");
    status.textContent = STATUSES[feed.status] || feed.status;
    status.className = `badge badge-${feed.status}`;
    this.status = this.root.dataset.status = feed.status;
    const coverage = this.root.querySelector("[data-coverage]");
    if (feed.status === "ended") {
      coverage.textContent = gettext("Coverage has ended.");
      // Nothing more will come: stop instead of reconnecting all night.
      queueMicrotask(() => this.connection.stop("ended"));
    } else if (feed.coverage_start && Date.parse(feed.coverage_start) > Date.now()) {
      // "Coverage starts %(time)s.": the words around the time, in the language's order.
      const [before, after = ""] = gettext("Coverage starts %(time)s.").split("%(time)s");
      coverage.textContent = before;
      const time = document.createElement("time");
      time.dateTime = feed.coverage_start;
      coverage.append(time, after);
      refreshTimes(coverage);
      this.clearCoverageNoticeAt(feed.coverage_start);
    } else {
      coverage.textContent = "";
    }
  }

  // "Coverage starts at …" is wrong once that moment has passed, whether or not the feed changes.
  clearCoverageNoticeAt(start) {
    clearTimeout(this.coverageTimer);
    const wait = Date.parse(start) - Date.now();
    if (!(wait > 0) || wait > 2 ** 31 - 1) return;
    this.coverageTimer = setTimeout(() => {
      if (this.status !== "ended") this.root.querySelector("[data-coverage]").textContent = "";
    }, wait);
  }

  // Hidden or cut off: note when, and the seq applied.
  leave() {
    this.away ??= { at: Date.now(), seq: this.lastSeq, race: this.root.querySelector(".race-status")?.className };
  }

  // Back after long enough: show what was missed (away-summary.js).
  async back() {
    const away = this.away;
    if (!away || document.hidden || !this.following) return;
    this.away = null;
    if (Date.now() - away.at >= this.root.dataset.awayAfter * 1000) (await import(this.root.dataset.awaySummary)).show(this, away);
  }

  // Screen readers hear it politely, without losing their place.
  announce(text) {
    announce(this.root, text);
  }

  setUpSharing() {
    for (const button of this.root.querySelectorAll("[data-share]")) button.hidden = false;
    this.root.addEventListener("click", async (event) => {
      const button = event.target.closest("[data-share]");
      if (!button) return;
      const url = new URL(button.parentNode.querySelector("[data-permalink]").href, location.href).href;
      try {
        await navigator.clipboard.writeText(url);
        button.textContent = gettext("Copied");
        this.announce(gettext("Link copied."));
      } catch {
        prompt(gettext("Copy this link:"), url);
      }
      setTimeout(() => (button.textContent = gettext("Copy link")), 2000);
    });
  }

  focusPermalink() {
    const id = this.root.dataset.focus;
    const target = id && this.root.querySelector(`#entry-${CSS.escape(id)}`);
    if (!target) return;
    target.scrollIntoView({ block: "start" });
    target.focus({ preventScroll: true });
  }
}

export function mount(root) {
  const feed = new LiveFeed(root);
  if (!("static" in root.dataset) || "detached" in root.dataset) feed.connect();
  return feed;
}

const root = document.querySelector("[data-livefeed]");
if (root) window.livefeed = mount(root);
