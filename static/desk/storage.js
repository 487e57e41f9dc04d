// What the desk keeps on this device (localStorage), per user and feed: the composer's text as it
// is typed, and the posts waiting for a connection. Storage may be full or disabled (private
// browsing); the desk then keeps them in memory and works on.

const memory = new Map();

export function read(key, fallback) {
  try {
    const text = localStorage.getItem(key);
    return text === null ? fallback : JSON.parse(text);
  } catch {
    return memory.has(key) ? memory.get(key) : fallback;
  }
}

export function write(key, value) {
  memory.set(key, value);
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // Kept in memory above.
  }
}

export function forget(key) {
  memory.delete(key);
  try {
    localStorage.removeItem(key);
  } catch {
    // Nothing stored.
  }
}

// Photos of posts waiting in the outbox, kept in IndexedDB (localStorage holds text only), so a
// reload or a tab the phone's browser discarded keeps them too. Where IndexedDB is unavailable
// every call answers undefined and the photo waits in memory only.
export class PhotoStore {
  open() {
    this.opening ||= new Promise((resolve) => {
      try {
        const request = indexedDB.open("livefeed-desk", 1);
        request.onupgradeneeded = () => request.result.createObjectStore("photos");
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => resolve(null);
      } catch {
        resolve(null);
      }
    });
    return this.opening;
  }

  async run(mode, action) {
    const db = await this.open();
    if (!db) return undefined;
    return new Promise((resolve) => {
      try {
        const transaction = db.transaction("photos", mode);
        const request = action(transaction.objectStore("photos"));
        transaction.oncomplete = () => resolve(request.result);
        transaction.onerror = transaction.onabort = () => resolve(undefined);
      } catch {
        resolve(undefined);
      }
    });
  }

  put(key, photo) {
    return this.run("readwrite", (store) => store.put(photo, key));
  }

  get(key) {
    return this.run("readonly", (store) => store.get(key));
  }

  delete(key) {
    return this.run("readwrite", (store) => store.delete(key));
  }
}

// The composer's fields (all but the photo, which storage cannot hold), saved on every keystroke.
export class ComposerDraft {
  constructor(form, storageKey) {
    this.form = form;
    this.storageKey = storageKey;
    form.addEventListener("input", () => this.save());
    form.addEventListener("change", () => this.save());
  }

  fields() {
    const fields = {};
    for (const element of this.form.elements) {
      if (!element.name || element.type === "file" || element.type === "submit" || element.type === "button") continue;
      fields[element.name] = element.value;
    }
    return fields;
  }

  isEmpty() {
    return Object.entries(this.fields()).every(([name, value]) => name === "kind" || !value.trim());
  }

  save() {
    if (this.isEmpty()) forget(this.storageKey);
    else write(this.storageKey, this.fields());
  }

  // Put saved fields back into the form; true when there were any.
  restore(fields = read(this.storageKey, null)) {
    if (!fields) return false;
    for (const [name, value] of Object.entries(fields)) {
      const element = this.form.elements[name];
      if (element && element.type !== "file") element.value = value;
    }
    return true;
  }

  clear() {
    forget(this.storageKey);
  }
}
