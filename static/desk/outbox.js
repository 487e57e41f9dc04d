// Posts waiting to be sent. Every composer post goes through here: kept on this device first
// (so a reload or a crash keeps it), then sent one at a time, oldest first, each with the
// Idempotency-Key it was given when it was written, however many times it has to be retried.
// Storage is read before every change, so two tabs of the same desk share one queue; if both
// send the same post, its key makes the server write it once.

import { isTransient } from "./transport.js";
import { PhotoStore, read, write } from "./storage.js";
import { format, gettext } from "../feeds/i18n.js";

export class Outbox extends EventTarget {
  constructor({ storageKey, send, retryEvery = 5000 }) {
    super();
    this.storageKey = storageKey;
    this.send = send;
    this.retryEvery = retryEvery;
    this.photos = new Map(); // key → File, mirrored in IndexedDB by `photoStore`
    this.photoStore = new PhotoStore();
    this.flushing = false;
    this.retryTimer = null;
    // A post marked as sending when the page went away is simply waiting again.
    write(storageKey, this.items().map((item) => ({ ...item, sending: false })));
    this.ready = this.loadPhotos();
    window.addEventListener("online", () => this.flush());
    window.addEventListener("storage", (event) => {
      if (event.key === this.storageKey) this.changed();
    });
    setInterval(() => {
      if (this.items().some((item) => !item.error)) this.flush();
    }, retryEvery);
  }

  items() {
    return read(this.storageKey, []);
  }

  // The photos of posts that waited across a reload, back from IndexedDB before anything is sent.
  async loadPhotos() {
    for (const item of this.items()) {
      if (!item.photo || this.photos.has(item.key)) continue;
      const photo = await this.photoStore.get(item.key);
      if (photo) this.photos.set(item.key, photo);
    }
  }

  // A photo post says it is saving until its photo is on this device, so "waiting" always means a
  // reload keeps it; nothing is sent before then either.
  add(item, photo) {
    if (photo) {
      this.photos.set(item.key, photo);
      item = { ...item, photoStored: false };
      const stored = this.photoStore.put(item.key, photo).then(() => this.update(item.key, { photoStored: true }));
      this.ready = Promise.all([this.ready, stored]);
    }
    write(this.storageKey, [...this.items(), item]);
    this.changed();
  }

  remove(key) {
    if (this.photos.delete(key)) this.photoStore.delete(key);
    write(this.storageKey, this.items().filter((item) => item.key !== key));
    this.changed();
  }

  update(key, changes) {
    write(this.storageKey, this.items().map((item) => (item.key === key ? { ...item, ...changes } : item)));
    this.changed();
  }

  changed() {
    this.dispatchEvent(new Event("change"));
  }

  // Send what waits, in order; stop at the first post the network did not let through.
  async flush() {
    if (this.flushing || !navigator.onLine) return;
    this.flushing = true;
    clearTimeout(this.retryTimer);
    try {
      await this.ready;
      for (let item = this.next(); item; item = this.next()) {
        this.update(item.key, { sending: true });
        const result = await this.send(item, this.photos.get(item.key));
        if (result.ok) {
          this.remove(item.key);
          this.dispatchEvent(new CustomEvent("sent", { detail: { item, result } }));
        } else if (isTransient(result.status)) {
          const attempts = (item.attempts || 0) + 1;
          this.update(item.key, { sending: false, attempts });
          this.dispatchEvent(new CustomEvent("waiting", { detail: { item, result } }));
          this.retryTimer = setTimeout(() => this.flush(), Math.min(1000 * 2 ** (attempts - 1), this.retryEvery));
          return;
        } else {
          // Refused for a reason retrying will not change: kept, marked, and the next one goes.
          this.update(item.key, { sending: false, error: result.data.detail || format(gettext("Refused (%(status)s)."), { status: result.status }) });
          this.dispatchEvent(new CustomEvent("refused", { detail: { item, result } }));
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  next() {
    return this.items().find((item) => !item.error);
  }
}
