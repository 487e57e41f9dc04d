// The race status bar on a feed's live page. It follows the page's own stream: live.js fires
// `livefeed:message` on the [data-livefeed] root after applying each change.

for (const bar of document.querySelectorAll("[data-race-status]")) {
  const root = bar.closest("[data-livefeed]");
  root?.addEventListener("livefeed:message", (event) => {
    const message = event.detail;
    if (message.type !== "feed.updated" || !message.feed_data || !("race_html" in message.feed_data)) return;
    bar.innerHTML = message.feed_data.race_html; // rendered and sanitized on the server
    bar.hidden = !message.feed_data.race_html;
  });
}
