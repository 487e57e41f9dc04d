// Inside the widget's iframe: tell the embedding page how tall the content is, whenever it
// changes, so the iframe grows with the feed. The page checks that the message came from us.
const frame = new URLSearchParams(location.search).get("frame") || "";
let last = 0;

function report() {
  const height = Math.ceil(document.documentElement.getBoundingClientRect().height);
  if (height === last) return;
  last = height;
  parent.postMessage({ livefeed: "resize", frame, height }, "*");
}

new ResizeObserver(report).observe(document.documentElement);
report();
