// How a page follows one feed: a WebSocket that resumes from the last seq it applied, with
// backoff, and polling of the events API where WebSockets are blocked or refused. Knows nothing of
// the DOM.

const MIN_DELAY_MS = 500;
const MAX_DELAY_MS = 30000;
// A socket that fails to open while plain HTTP works, this many times running, means something
// between reader and server blocks WebSockets: poll instead.
const BLOCKED_AFTER = 2;
// While polling, try a WebSocket again now and then: the reader may have changed networks.
const UPGRADE_EVERY_POLLS = 12;
// The server's close code when this client address already holds its share of reader sockets.
const CLOSE_TOO_MANY = 4429;

export class FeedConnection {
  constructor({ slug, seq, onMessage, onState, pollInterval = 5000 }) {
    this.slug = slug;
    this.lastSeq = seq;
    this.onMessage = onMessage;
    this.onState = onState;
    this.pollInterval = pollInterval;
    this.attempt = 0;
    this.blocked = 0;
    this.polling = false;
    this.stopped = true;
    addEventListener("online", () => this.backOnline());
    addEventListener("offline", () => this.stopped || this.state("offline"));
  }

  get eventsUrl() {
    return `/api/feeds/${encodeURIComponent(this.slug)}/events/?after=${this.lastSeq}`;
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    this.attempt = 0;
    this.next();
  }

  // Stop following (and reconnecting) until start() is called again.
  stop(reason = "offline") {
    this.stopped = true;
    clearTimeout(this.timer);
    const socket = this.socket;
    this.socket = null;
    socket?.close();
    this.state(reason);
  }

  // The device is back on a network: say so if the socket survived, else try at once.
  backOnline() {
    if (this.stopped) return;
    if (this.socket?.readyState === WebSocket.OPEN) return this.state("live");
    if (this.socket) return;
    clearTimeout(this.timer);
    this.next();
  }

  next() {
    if (this.polling) this.poll();
    else this.connect();
  }

  state(name, detail) {
    this.onState(name, detail);
  }

  receive(message) {
    // feed.reset: the page's state cannot be brought up to date change by change (it is ahead of
    // the feed, or too far behind); the page reloads it and follows on from the feed's seq.
    if (message.type === "feed.reset") this.lastSeq = message.seq;
    this.onMessage(message);
    if (message.seq > this.lastSeq) this.lastSeq = message.seq;
  }

  connect() {
    if (this.stopped) return;
    this.state("connecting");
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const path = `/ws/feeds/${encodeURIComponent(this.slug)}/?after=${this.lastSeq}`;
    const socket = new WebSocket(`${scheme}//${location.host}${path}`);
    let opened = false;
    this.socket = socket;
    socket.onopen = () => {
      opened = true;
      this.attempt = 0;
      this.blocked = 0;
      this.state("live");
    };
    socket.onmessage = (event) => this.receive(JSON.parse(event.data));
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (event.code === 4404) this.stop("unavailable");
      else if (this.stopped) return;
      // Refused by the per-address cap (a crowd sharing one public address): another socket would
      // be refused too, while the events API serves every one of them (a CDN can absorb it).
      else if (event.code === CLOSE_TOO_MANY) this.pollFromNow("shared");
      else if (opened) this.later();
      else this.probe();
    };
  }

  // The socket never opened: ask the events API whether the server is up at all.
  async probe() {
    const ok = await this.fetchEvents();
    if (this.stopped) return;
    if (!ok) return this.later();
    this.blocked += 1;
    if (this.blocked >= BLOCKED_AFTER) this.pollFromNow("blocked");
    else this.connect();
  }

  // Follow by polling the events API, the first time after one interval. The reason ("blocked":
  // this network stops WebSockets; "shared": the reader's address is over the server's cap) is
  // kept until the next one, so the page can say why.
  pollFromNow(reason = this.pollReason) {
    this.polling = true;
    this.pollReason = reason;
    this.state("polling", reason);
    this.timer = setTimeout(() => this.poll(), this.pollInterval);
  }

  async poll() {
    if (this.stopped) return;
    if (await this.fetchEvents()) {
      this.attempt = 0;
      this.polls = (this.polls || 0) + 1;
      if (!this.stopped && this.polls % UPGRADE_EVERY_POLLS === 0) {
        // One more refusal (a socket that fails to open, or a 4429) sends it straight back to
        // polling.
        this.polling = false;
        this.blocked = BLOCKED_AFTER - 1;
        this.connect();
      } else if (!this.stopped) {
        this.pollFromNow();
      }
    } else {
      this.later();
    }
  }

  // Fetch and apply the changes after lastSeq; false when the server could not be reached.
  async fetchEvents() {
    try {
      const response = await fetch(this.eventsUrl, { headers: { Accept: "application/json" } });
      if (response.status === 404) {
        this.stop("unavailable");
        return false;
      }
      if (!response.ok) return false;
      const body = await response.json();
      if (this.stopped) return true;
      if (body.seq < this.lastSeq) this.receive({ type: "feed.reset", seq: body.seq, feed: this.slug });
      for (const message of body.events) this.receive(message);
      return true;
    } catch {
      return false;
    }
  }

  later() {
    if (this.stopped) return;
    // Exponential backoff with full jitter, so a restarted server is not hit by every reader at once.
    const ceiling = Math.min(MAX_DELAY_MS, MIN_DELAY_MS * 2 ** this.attempt);
    const delay = Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
    this.attempt += 1;
    this.state(navigator.onLine === false ? "offline" : "reconnecting", Date.now() + delay);
    this.timer = setTimeout(() => this.next(), delay);
  }
}
