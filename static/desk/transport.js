// How the desk writes: every action carries an Idempotency-Key, and a retry of that action sends
// the same key, so a request whose answer was lost on a bad network never writes twice.
// XMLHttpRequest rather than fetch, for upload progress and a timeout.

import { format, gettext } from "../feeds/i18n.js";

export function newKey() {
  if (globalThis.crypto?.randomUUID) return crypto.randomUUID();
  // Plain-http origins other than localhost have no randomUUID; build a version 4 UUID by hand.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((byte) => byte.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// Worth sending again with the same key: no answer at all, a timeout, a rate limit, a server error.
export function isTransient(status) {
  return status === 0 || status === 408 || status === 429 || status >= 500;
}

export function request(url, { body, key, csrf, json = false, timeout = 20000, onProgress } = {}) {
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.timeout = timeout;
    xhr.setRequestHeader("X-CSRFToken", csrf);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("Idempotency-Key", key);
    if (json) xhr.setRequestHeader("Content-Type", "application/json");
    if (onProgress) {
      xhr.upload.addEventListener("progress", (event) => {
        if (event.lengthComputable) onProgress(event.loaded / event.total);
      });
    }
    const unanswered = (detail) => resolve({ ok: false, status: 0, data: { detail } });
    xhr.addEventListener("load", () => {
      let data = null;
      try {
        data = JSON.parse(xhr.responseText);
      } catch {
        // Not one of the desk's answers: a login page after a redirect, a CSRF refusal, a proxy's page.
      }
      if (data === null || typeof data !== "object") {
        if (xhr.responseURL.includes("/login/") || xhr.status === 403) {
          // The session ended (or was renewed elsewhere): worth retrying once the reporter logs in again.
          const detail = gettext("Your session has ended: log in again and reload this page. Nothing was lost.");
          resolve({ ok: false, status: 0, session: true, data: { detail } });
        } else {
          resolve({ ok: false, status: xhr.status, data: { detail: format(gettext("The server answered %(status)s."), { status: xhr.status }) } });
        }
        return;
      }
      resolve({
        ok: xhr.status >= 200 && xhr.status < 300,
        status: xhr.status,
        data,
        replayed: xhr.getResponseHeader("Idempotent-Replayed") === "true",
      });
    });
    xhr.addEventListener("error", () => unanswered(gettext("The server could not be reached.")));
    xhr.addEventListener("timeout", () => unanswered(gettext("The server did not answer in time.")));
    xhr.addEventListener("abort", () => unanswered(gettext("The request was interrupted.")));
    xhr.send(json ? JSON.stringify(body) : body);
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// One click, one key: a few quick retries with that same key while the network hiccups.
export async function act(url, options, { attempts = 3 } = {}) {
  const key = newKey();
  let result;
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    if (attempt) await sleep(1000 * 2 ** (attempt - 1));
    result = await request(url, { ...options, key });
    if (!isTransient(result.status)) return result;
  }
  if (result.status === 0) result.data.detail += " Nothing was lost; try again.";
  return result;
}
