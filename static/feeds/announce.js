// The page's polite live region ([data-announcer]): screen readers read what is put there when
// they are next idle, without moving the reader's focus or place.

export function announce(root, text) {
  const region = root.querySelector("[data-announcer]");
  if (region && text) region.textContent = text;
}
