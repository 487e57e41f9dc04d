// Livefeed widget loader. Paste on any page:
//   <div data-livefeed="https://HOST/feeds/SLUG/" data-theme="auto" data-entries="10" data-order="newest"></div>
//   <script async src="https://HOST/embed.js"></script>
// Each div becomes an iframe of the feed's widget that grows to fit its content.
(() => {
  const frames = new Map();
  let count = 0;

  function mount(el) {
    if (el.dataset.livefeedMounted) return;
    let feed;
    try {
      feed = new URL(el.dataset.livefeed, document.baseURI);
    } catch {
      return;
    }
    el.dataset.livefeedMounted = "1";
    const id = `lf${++count}`;
    const src = new URL("embed/", feed.href.endsWith("/") ? feed : `${feed.href}/`);
    for (const name of ["theme", "entries", "order"]) {
      if (el.dataset[name]) src.searchParams.set(name, el.dataset[name]);
    }
    src.searchParams.set("frame", id);
    const iframe = document.createElement("iframe");
    iframe.src = src.href;
    iframe.title = el.dataset.title || "Live feed";
    iframe.loading = "lazy";
    iframe.style.cssText = "width:100%;border:0;display:block;height:" + (el.dataset.height || "600") + "px";
    el.replaceChildren(iframe);
    frames.set(id, { iframe, origin: src.origin });
  }

  addEventListener("message", (event) => {
    const data = event.data;
    if (!data || data.livefeed !== "resize") return;
    const frame = frames.get(data.frame);
    // Only the widget we created, from its own origin, may resize its iframe.
    if (!frame || event.origin !== frame.origin || event.source !== frame.iframe.contentWindow) return;
    const height = Number(data.height);
    if (height > 0 && height < 100000) frame.iframe.style.height = `${height}px`;
  });

  const scan = () => document.querySelectorAll("[data-livefeed]").forEach(mount);
  scan();
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", scan);
})();
