// Livefeed live page: applies each change pushed over the WebSocket in place, never shows an
// entry twice, and after a dropped connection resumes from the last seq it applied.

const MIN_DELAY_MS = 500;
const MAX_DELAY_MS = 30000;

export class LiveFeed {
  constructor(root) {
    this.root = root;
    this.slug = root.dataset.slug;
    this.lastSeq = Number(root.dataset.seq || 0);
    this.stream = root.querySelector("[data-stream]");
    this.pinned = root.querySelector("[data-pinned]");
    this.connection = root.querySelector("[data-connection]");
    this.attempt = 0;
    this.stopped = false;
    // Highest seq seen per entry id, deletions included, so a late or repeated message never
    // brings back an older state or a deleted entry.
    this.seen = new Map();
    for (const el of root.querySelectorAll("[data-entry-id]")) {
      this.seen.set(el.dataset.entryId, Number(el.dataset.seq || 0));
    }
  }

  url() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    return `${scheme}//${location.host}/ws/feeds/${encodeURIComponent(this.slug)}/?after=${this.lastSeq}`;
  }

  connect() {
    this.setState("connecting");
    const socket = new WebSocket(this.url());
    this.socket = socket;
    socket.addEventListener("open", () => {
      this.attempt = 0;
      this.setState("live");
    });
    socket.addEventListener("message", (event) => this.apply(JSON.parse(event.data)));
    socket.addEventListener("close", (event) => {
      if (event.code === 4404) {
        this.stopped = true;
        this.setState("unavailable");
        return;
      }
      if (this.stopped) this.setState("offline");
      else this.reconnect();
    });
  }

  // Stop following (and stop reconnecting) until resume() is called.
  pause() {
    this.stopped = true;
    this.socket?.close();
  }

  resume() {
    if (!this.stopped) return;
    this.stopped = false;
    this.attempt = 0;
    this.connect();
  }

  reconnect() {
    // Exponential backoff with full jitter, so a restarted server is not hit by every reader at once.
    const ceiling = Math.min(MAX_DELAY_MS, MIN_DELAY_MS * 2 ** this.attempt);
    const delay = Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
    this.attempt += 1;
    this.setState("reconnecting", delay);
    setTimeout(() => this.connect(), delay);
  }

  setState(state, delay) {
    this.root.dataset.connection = state;
    if (!this.connection) return;
    const labels = {
      connecting: "Connecting…",
      live: "Live",
      reconnecting: `Reconnecting in ${Math.ceil((delay || 0) / 1000)} s…`,
      offline: "Offline",
      unavailable: "This feed is not available.",
    };
    this.connection.textContent = labels[state] || "";
  }

  apply(message) {
    if (message.type === "feed.updated") {
      if (message.seq <= (this.feedSeq || 0)) return;
      this.feedSeq = message.seq;
      this.applyFeed(message.feed_data);
    } else if (message.entry) {
      const id = String(message.entry.id);
      if ((this.seen.get(id) || 0) >= message.seq) return;
      this.seen.set(id, message.seq);
      this.remove(id);
      if (message.type !== "entry.deleted") this.insert(message.entry);
    }
    if (message.seq > this.lastSeq) this.lastSeq = message.seq;
    // Other parts of the page (status bar, key events…) follow the same stream through this
    // event, fired once per change after it has been applied.
    this.root.dispatchEvent(new CustomEvent("livefeed:message", { detail: message }));
  }

  applyFeed(feed) {
    const title = this.root.querySelector(".feed-title");
    if (title) title.textContent = feed.title;
    const status = this.root.querySelector("[data-feed-status]");
    if (status) {
      status.textContent = feed.status.charAt(0).toUpperCase() + feed.status.slice(1);
      status.className = `badge badge-${feed.status}`;
    }
  }

  remove(id) {
    for (const el of this.root.querySelectorAll(`[data-entry-id="${CSS.escape(id)}"]`)) el.remove();
  }

  insert(entry) {
    const el = render(entry);
    if (entry.pinned) {
      this.pinned.replaceChildren(el);
      return;
    }
    this.root.querySelector("[data-empty]")?.remove();
    // Newest first: place it before the first entry published earlier than it.
    const published = entry.published_at || "";
    const next = [...this.stream.querySelectorAll("[data-entry-id]")].find(
      (other) => (other.dataset.published || "") < published,
    );
    this.stream.insertBefore(el, next || null);
    el.classList.add("entry-new");
  }
}

function render(entry) {
  const article = document.createElement("article");
  article.className = "entry";
  if (entry.pinned) article.classList.add("entry-pinned");
  if (entry.key_event) article.classList.add("entry-key");
  article.id = `entry-${entry.id}`;
  article.dataset.entryId = entry.id;
  article.dataset.seq = entry.seq;
  article.dataset.published = entry.published_at || "";

  const meta = document.createElement("header");
  meta.className = "entry-meta";
  const time = document.createElement("time");
  time.dateTime = entry.published_at;
  time.textContent = new Date(entry.published_at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  meta.append(time);
  if (entry.key_event) meta.append(badge("Key event", "badge-key"));
  if (entry.pinned) meta.append(badge("Pinned", "badge-pinned"));
  article.append(meta);

  if (entry.headline) {
    const headline = document.createElement("h2");
    headline.className = "entry-headline";
    headline.textContent = entry.headline;
    article.append(headline);
  }
  const body = document.createElement("div");
  body.className = "entry-body";
  body.innerHTML = entry.html; // sanitized on the server when the entry was saved
  article.append(body);
  const author = document.createElement("footer");
  author.className = "entry-author";
  author.textContent = entry.author;
  article.append(author);
  return article;
}

function badge(text, className) {
  const span = document.createElement("span");
  span.className = `badge ${className}`;
  span.textContent = text;
  return span;
}

const root = document.querySelector("[data-livefeed]");
if (root && !("static" in root.dataset)) {
  const feed = new LiveFeed(root);
  window.livefeed = feed;
  feed.connect();
}
