// The race status bar on a feed's live page. It follows the page's own stream: live.js fires
// `livefeed:message` on the [data-livefeed] root after applying each change. The bar changes on
// every lap; screen readers hear it only when the flag changes, once.

import { announce } from "./announce.js";
import { format, gettext } from "./i18n.js";

for (const bar of document.querySelectorAll("[data-race-status]")) {
  const root = bar.closest("[data-livefeed]");
  let flag = bar.querySelector(".race-status")?.className.match(/\bflag-(\w+)/)?.[1] || "none";
  root?.addEventListener("livefeed:message", (event) => {
    const message = event.detail;
    if (message.type !== "feed.updated" || !message.feed_data || !("race_html" in message.feed_data)) return;
    bar.innerHTML = message.feed_data.race_html; // rendered and sanitized on the server
    bar.hidden = !message.feed_data.race_html;
    const next = message.feed_data.race?.flag || "none";
    if (next === flag) return;
    flag = next;
    const summary = bar.querySelector(".race-flag")?.textContent.trim();
    if (summary) announce(root, format(gettext("Race status: %(summary)s"), { summary }));
  });
}
