// The entry stream of a [data-livefeed] root, in the reader's order: newest first (arrivals at
// the top, older entries loaded below) or oldest first (the story from its start, newer entries
// loaded below, arrivals joining at the end). Changes apply in place; arrivals are held back
// behind the "N new updates" button while the reader is elsewhere.

import { newer, renderEntry, renderRemoved, sortKey } from "./entries.js";
import { format, gettext, ngettext } from "./i18n.js";

export class EntryStream {
  constructor(root, { slug, announce }) {
    this.root = root;
    this.slug = slug;
    this.announce = announce;
    this.order = root.dataset.order === "oldest" ? "oldest" : "newest";
    this.detached = "detached" in root.dataset;
    this.list = root.querySelector("[data-stream]");
    this.pinned = root.querySelector("[data-pinned]");
    this.button = root.querySelector("[data-new-updates]");
    this.pending = new Map();
    // Oldest first, arrivals past the pages still to load: shown when the last page is in.
    this.beyond = new Map();
    // Highest seq seen per entry id, deletions included, so a late or repeated message never
    // brings back an older state or a deleted entry.
    this.seen = new Map();
    for (const el of root.querySelectorAll("[data-entry-id]")) this.seen.set(el.dataset.entryId, Number(el.dataset.seq));
    this.button.addEventListener("click", () => this.reveal());
    this.setUpMore();
  }

  find(id) {
    return this.root.querySelector(`[data-entry-id="${CSS.escape(String(id))}"]`);
  }

  entries() {
    return [...this.list.querySelectorAll(":scope > [data-entry-id]")];
  }

  // Apply one entry change; false if it was already applied (or superseded).
  apply(message) {
    const id = String(message.entry.id);
    if ((this.seen.get(id) || 0) >= message.seq) return false;
    this.seen.set(id, message.seq);
    const entry = message.type === "entry.deleted" ? null : message.entry;
    const arriving = entry && !this.find(id) && this.isNew(entry);
    // Oldest first with newer pages still to load: the reader meets it on the way, in order.
    if (arriving && this.order === "oldest" && this.cursor) {
      this.beyond.set(id, entry);
      return true;
    }
    if (!entry) this.beyond.delete(id);
    // A window deep in the feed (a permalink) counts arrivals but shows nothing above itself.
    if (arriving && this.detached && message.type !== "entry.created") return true;
    if (this.pending.has(id) || arriving) {
      if (entry) this.pending.set(id, entry);
      else this.pending.delete(id);
      if (!this.detached && this.atLiveEdge()) this.reveal({ scroll: false });
      else this.showButton();
      return true;
    }
    const old = this.find(id);
    if (entry) this.upsert(entry);
    // Removed with a notice for readers: the notice takes its place.
    else if (message.entry.removal_notice) old?.replaceWith(renderRemoved(id, message.seq, old.dataset.published));
    else old?.remove();
    return true;
  }

  // Show `page` (the feed API's answer) instead of everything shown so far: after a reset.
  replace(page) {
    // Oldest first starts at the feed's first entry, which the server renders: start again there.
    if (this.order === "oldest") {
      window.location.reload();
      return;
    }
    this.pending.clear();
    this.showButton();
    this.seen.clear();
    this.pinned.replaceChildren();
    if (page.pinned) {
      this.seen.set(String(page.pinned.id), page.pinned.seq);
      this.pinned.append(renderEntry(page.pinned, this.slug));
    }
    const shown = [];
    for (const entry of page.entries) {
      this.seen.set(String(entry.id), entry.seq);
      if (!entry.pinned) shown.push(renderEntry(entry, this.slug));
    }
    this.list.replaceChildren(...shown);
    this.cursor = page.older_cursor;
  }

  // Newer than everything shown: an arrival, not an entry further along the feed.
  isNew(entry) {
    if (entry.pinned) return false;
    const last = this.newestShown();
    return !last || newer([Date.parse(entry.published_at), entry.id], sortKey(last));
  }

  newestShown() {
    const entries = this.entries();
    return this.order === "newest" ? entries[0] : entries[entries.length - 1];
  }

  // Where arrivals land is in sight (and, newest first, no keyboard user is inside the stream,
  // whose place an entry arriving above would move).
  atLiveEdge() {
    if (document.hidden) return false;
    const box = this.list.getBoundingClientRect();
    if (this.order === "oldest") return box.bottom <= innerHeight + 40;
    const focused = document.activeElement;
    if (focused && focused !== this.list && this.list.contains(focused)) return false;
    return box.top >= -40;
  }

  showButton() {
    const count = this.pending.size;
    this.button.hidden = count === 0;
    this.button.textContent = format(ngettext("%(count)s new update", "%(count)s new updates", count), { count });
    // Said once per arrival, not again for each edit of an entry already counted.
    if (count > (this.announced || 0)) this.announce(this.button.textContent);
    this.announced = count;
  }

  reveal({ scroll = true } = {}) {
    if (this.detached) {
      location.href = this.root.dataset.latest || `/feeds/${encodeURIComponent(this.slug)}/`;
      return;
    }
    const arrived = [...this.pending.values()];
    this.pending.clear();
    this.showButton();
    let first;
    for (const entry of arrived) {
      const el = this.upsert(entry);
      el.classList.add("entry-new");
      if (!el.isConnected) continue;
      // The first to read: the newest at the top, or the earliest of those joining the end.
      const following = first && el.compareDocumentPosition(first) & Node.DOCUMENT_POSITION_FOLLOWING;
      if (!first || following) first = el;
    }
    const [last] = arrived.slice(-1);
    if (arrived.length > 1) {
      this.announce(format(ngettext("%(count)s new update", "%(count)s new updates", arrived.length), { count: arrived.length }));
    } else if (last) {
      this.announce(last.headline ? format(gettext("New update: %(headline)s"), { headline: last.headline }) : gettext("New update"));
    }
    if (scroll && first) {
      if (this.order === "newest") scrollTo({ top: 0 });
      else first.scrollIntoView({ block: "start" });
      first.focus({ preventScroll: true });
    }
  }

  // Put the entry where it belongs, replacing its old element in place; returns the element.
  upsert(entry) {
    const el = renderEntry(entry, this.slug);
    const old = this.find(entry.id);
    if (old && this.pinned.contains(old) === entry.pinned) {
      const focus = focusWithin(old);
      old.replaceWith(el);
      focus?.(el);
      return el;
    }
    old?.remove();
    if (entry.pinned) {
      this.pinned.replaceChildren(el);
      return el;
    }
    if (this.beyondLoaded(entry)) return el;
    this.root.querySelector("[data-empty]")?.remove();
    this.place(el);
    return el;
  }

  // Further along than the last entry shown while more pages are still to load: loading brings it.
  beyondLoaded(entry) {
    const entries = this.entries();
    const last = entries[entries.length - 1];
    if (!this.cursor || !last) return false;
    const key = [Date.parse(entry.published_at), entry.id];
    return this.order === "newest" ? newer(sortKey(last), key) : newer(key, sortKey(last));
  }

  place(el) {
    const key = sortKey(el);
    const before = this.entries().find((other) =>
      this.order === "newest" ? newer(key, sortKey(other)) : newer(sortKey(other), key),
    );
    this.list.insertBefore(el, before || null);
  }

  // The server's "Older entries" / "Newer entries" link becomes a button that loads the next page
  // in place, by hand or (on the reader's page) when the reader scrolls near it.
  setUpMore() {
    const link = this.root.querySelector("[data-next-page]");
    this.cursor = link?.dataset.nextPage || null;
    if (!link) return;
    this.label = this.order === "newest" ? gettext("Load older") : gettext("Load newer");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "load-more";
    button.textContent = this.label;
    link.replaceWith(button);
    this.moreButton = button;
    button.addEventListener("click", () => this.loadMore());
    // Not in the widget: its frame grows with the content, so the button would always be in sight.
    if ("IntersectionObserver" in window && !("embed" in this.root.dataset)) {
      this.observer = new IntersectionObserver((seen) => seen.some((item) => item.isIntersecting) && this.loadMore(), {
        rootMargin: "600px 0px",
      });
      this.observer.observe(button);
    }
  }

  async loadMore() {
    if (!this.cursor || this.loading) return;
    this.loading = true;
    this.moreButton.textContent = gettext("Loading…");
    try {
      const cursor = encodeURIComponent(this.cursor);
      const query = this.order === "newest" ? `before=${cursor}` : `order=oldest&after=${cursor}`;
      const response = await fetch(`/api/feeds/${encodeURIComponent(this.slug)}/?${query}`, {
        headers: { Accept: "application/json" },
      });
      if (!response.ok) throw new Error(response.statusText);
      const page = await response.json();
      this.cursor = this.order === "newest" ? page.older_cursor : page.newer_cursor;
      for (const entry of page.entries) {
        const id = String(entry.id);
        if (this.find(id) || (this.seen.get(id) || 0) > entry.seq) continue;
        this.seen.set(id, entry.seq);
        this.list.append(renderEntry(entry, this.slug));
      }
      this.moreButton.textContent = this.label;
      if (!this.cursor) {
        this.observer?.disconnect();
        this.moreButton.remove();
        for (const entry of this.beyond.values()) if (!this.find(entry.id)) this.upsert(entry);
        this.beyond.clear();
      }
      this.root.dispatchEvent(new CustomEvent("livefeed:more", { detail: page }));
    } catch {
      this.moreButton.textContent = gettext("Could not load: try again");
    } finally {
      this.loading = false;
    }
  }
}

// If focus is inside `el`, a function that puts it back on the same control of its replacement.
function focusWithin(el) {
  const focused = document.activeElement;
  if (!focused || !el.contains(focused)) return null;
  const selector = focused === el ? null : ["[data-permalink]", "[data-share]", "time"].find((s) => focused.matches(s));
  return (replacement) => (selector ? replacement.querySelector(selector) : replacement)?.focus({ preventScroll: true });
}
