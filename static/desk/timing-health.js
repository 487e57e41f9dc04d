// The desk's timing panel: the server sends it re-rendered ("timing.health") whenever the
// source's health changes; desk.js re-fires each desk message as `desk:message` on its root.

const root = document.querySelector("[data-desk]");
root?.addEventListener("desk:message", (event) => {
  const message = event.detail;
  if (message.type !== "timing.health") return;
  const panel = root.querySelector("[data-timing-health]");
  if (!panel) return;
  const template = document.createElement("template");
  template.innerHTML = message.html; // rendered and escaped by the server's template
  const fresh = template.content.querySelector("[data-timing-health]");
  if (fresh) panel.replaceWith(fresh);
});
