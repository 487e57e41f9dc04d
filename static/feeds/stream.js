// The entry stream of a [data-livefeed] root: applies changes in place, holds new entries back
// while the reader is elsewhere, loads older entries by cursor and flips the order.

import { newer, renderEntry, sortKey } from "./entries.js";

const ORDER_COOKIE = "livefeed_order";

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
    // Highest seq seen per entry id, deletions included, so a late or repeated message never
    // brings back an older state or a deleted entry.
    this.seen = new Map();
    for (const el of root.querySelectorAll("[data-entry-id]")) this.seen.set(el.dataset.entryId, Number(el.dataset.seq));
    this.button.addEventListener("click", () => this.reveal());
    this.setUpOlder();
    this.setUpOrder();
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
    const above = entry && !this.find(id) && this.isNew(entry);
    // A window deep in the feed (a permalink) counts arrivals but shows nothing above itself.
    if (above && this.detached && message.type !== "entry.created") return true;
    if (this.pending.has(id) || above) {
      if (entry) this.pending.set(id, entry);
      else this.pending.delete(id);
      if (!this.detached && this.atLiveEdge()) this.reveal({ scroll: false });
      else this.showButton();
      return true;
    }
    if (entry) this.upsert(entry);
    else this.find(id)?.remove();
    return true;
  }

  // Show `page` (the feed API's answer) instead of everything shown so far: after a reset.
  replace(page) {
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
    if (this.order === "oldest") shown.reverse();
    this.list.replaceChildren(...shown);
    this.cursor = page.older_cursor;
  }

  // Newer than everything shown: an arrival, not an entry further down the feed.
  isNew(entry) {
    if (entry.pinned) return false;
    const first = this.newestShown();
    return !first || newer([Date.parse(entry.published_at), entry.id], sortKey(first));
  }

  newestShown() {
    const entries = this.entries();
    return this.order === "newest" ? entries[0] : entries[entries.length - 1];
  }

  atLiveEdge() {
    if (document.hidden) return false;
    const box = this.list.getBoundingClientRect();
    return this.order === "newest" ? box.top >= -40 : box.bottom <= innerHeight + 40;
  }

  showButton() {
    const count = this.pending.size;
    this.button.hidden = count === 0;
    this.button.textContent = `${count} new update${count === 1 ? "" : "s"}`;
    if (count) this.announce(this.button.textContent);
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
      if (el.isConnected && (!first || el.compareDocumentPosition(first) & Node.DOCUMENT_POSITION_FOLLOWING)) first = el;
    }
    const [last] = arrived.slice(-1);
    if (arrived.length > 1) this.announce(`${arrived.length} new updates`);
    else if (last) this.announce(`New update${last.headline ? `: ${last.headline}` : ""}`);
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
      old.replaceWith(el);
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

  // Older than the oldest entry shown while more are still to load: "Load older" will bring it.
  beyondLoaded(entry) {
    const entries = this.entries();
    const oldest = this.order === "newest" ? entries[entries.length - 1] : entries[0];
    return Boolean(this.cursor && oldest && newer(sortKey(oldest), [Date.parse(entry.published_at), entry.id]));
  }

  place(el) {
    const key = sortKey(el);
    const before = this.entries().find((other) =>
      this.order === "newest" ? newer(key, sortKey(other)) : newer(sortKey(other), key),
    );
    this.list.insertBefore(el, before || null);
  }

  setUpOlder() {
    const link = this.root.querySelector("[data-older]");
    this.cursor = link?.dataset.older || null;
    if (!link) return;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "load-older";
    button.textContent = "Load older";
    link.replaceWith(button);
    this.olderButton = button;
    button.addEventListener("click", () => this.loadOlder());
    if ("IntersectionObserver" in window) {
      this.observer = new IntersectionObserver(
        (seen) => seen.some((item) => item.isIntersecting) && this.order === "newest" && this.loadOlder(),
        { rootMargin: "600px 0px" },
      );
      this.observer.observe(button);
    }
  }

  async loadOlder() {
    if (!this.cursor || this.loading) return;
    this.loading = true;
    this.olderButton.textContent = "Loading…";
    try {
      const url = `/api/feeds/${encodeURIComponent(this.slug)}/?before=${encodeURIComponent(this.cursor)}`;
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(response.statusText);
      const page = await response.json();
      const height = document.documentElement.scrollHeight;
      this.cursor = page.older_cursor;
      for (const entry of page.entries) {
        const id = String(entry.id);
        if (this.find(id) || (this.seen.get(id) || 0) > entry.seq) continue;
        this.seen.set(id, entry.seq);
        const el = renderEntry(entry, this.slug);
        if (this.order === "newest") this.list.append(el);
        else this.list.prepend(el);
      }
      // Oldest first, older entries land above the reader: keep what they were reading in place.
      if (this.order === "oldest") scrollBy(0, document.documentElement.scrollHeight - height);
      this.olderButton.textContent = "Load older";
      if (!this.cursor) {
        this.observer?.disconnect();
        this.olderButton.remove();
      }
      this.root.dispatchEvent(new CustomEvent("livefeed:older", { detail: page }));
    } catch {
      this.olderButton.textContent = "Could not load: try again";
    } finally {
      this.loading = false;
    }
  }

  setUpOrder() {
    const toggle = this.root.querySelector("[data-order-toggle]");
    toggle?.addEventListener("click", (event) => {
      event.preventDefault();
      this.setOrder(this.order === "newest" ? "oldest" : "newest");
      toggle.textContent = this.order === "newest" ? "Show oldest first" : "Show newest first";
      const url = new URL(toggle.href);
      url.searchParams.set("order", this.order === "newest" ? "oldest" : "newest");
      toggle.href = url.href;
    });
  }

  setOrder(order) {
    if (order === this.order) return;
    this.order = order;
    this.root.dataset.order = order;
    document.cookie = `${ORDER_COOKIE}=${order}; path=/; max-age=31536000; samesite=lax`;
    this.list.append(...this.entries().reverse());
    const pager = this.root.querySelector("[data-pager]");
    if (pager) this.list.parentNode.insertBefore(pager, order === "newest" ? this.list.nextSibling : this.list);
  }
}
