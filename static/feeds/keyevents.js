// The "Key events" list, in the page's order: follows the stream through livefeed:message, like
// any other page part, and jumps to an entry already on the page instead of reloading it.

import { newer, permalink, timeElement } from "./entries.js";
import { refreshTimes } from "./times.js";

export function followKeyEvents(root, slug, order = "newest") {
  const box = root.querySelector("[data-key-events]");
  if (!box) return;
  const list = box.querySelector("[data-key-list]");
  const count = box.querySelector("[data-key-count]");
  const empty = box.querySelector("[data-key-empty]");
  // Collapsed on phones, where it would push the stream out of sight.
  if (matchMedia("(max-width: 40rem)").matches) box.open = false;

  const item = (id) => list.querySelector(`[data-key-id="${CSS.escape(String(id))}"]`);
  const key = (li) => [Date.parse(li.dataset.published || li.querySelector("time")?.dateTime) || 0, Number(li.dataset.keyId)];

  root.addEventListener("livefeed:message", ({ detail: message }) => {
    if (!message.entry) return;
    const entry = message.entry;
    const old = item(entry.id);
    if (message.type === "entry.deleted" || !entry.key_event) {
      old?.remove();
    } else {
      const li = document.createElement("li");
      li.dataset.keyId = entry.id;
      li.dataset.published = entry.published_at;
      const link = document.createElement("a");
      link.href = permalink(slug, entry.id);
      const text = entry.headline || new DOMParser().parseFromString(entry.html, "text/html").body.textContent;
      link.append(timeElement(entry.published_at), ` ${text.trim().slice(0, 80)}`);
      li.append(link);
      if (old) old.replaceWith(li);
      else {
        const mine = key(li);
        const after = (other) => (order === "newest" ? newer(mine, key(other)) : newer(key(other), mine));
        list.insertBefore(li, [...list.children].find(after) || null);
      }
      refreshTimes(li);
    }
    count.textContent = `(${list.children.length})`;
    empty.hidden = list.children.length > 0;
  });

  list.addEventListener("click", (event) => {
    const li = event.target.closest("[data-key-id]");
    const target = li && root.querySelector(`#entry-${CSS.escape(li.dataset.keyId)}`);
    if (!target) return;
    event.preventDefault();
    target.scrollIntoView({ block: "start" });
    target.focus({ preventScroll: true });
    history.replaceState(null, "", `#${target.id}`);
  });
}
