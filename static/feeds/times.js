// Timestamps: relative ("3 min ago") and kept current, the absolute time in the reader's own time
// zone on hover (title) or on tap/Enter (toggle).

const UNITS = [
  ["day", 86400],
  ["hour", 3600],
  ["minute", 60],
];
import { gettext, language } from "./i18n.js";

const relative = new Intl.RelativeTimeFormat(language, { numeric: "auto", style: "short" });
const absolute = new Intl.DateTimeFormat(language, { dateStyle: "medium", timeStyle: "short" });

export function describe(date, now = Date.now()) {
  const seconds = Math.round((date.getTime() - now) / 1000);
  if (Math.abs(seconds) < 45) return gettext("just now");
  if (Math.abs(seconds) > 7 * 86400) return absolute.format(date);
  for (const [unit, size] of UNITS) {
    if (Math.abs(seconds) >= size || unit === "minute") {
      return relative.format(Math.round(seconds / size), unit);
    }
  }
}

export function refreshTimes(scope) {
  for (const el of scope.querySelectorAll("time[datetime]")) {
    const date = new Date(el.dateTime);
    if (Number.isNaN(date.getTime())) continue;
    const full = absolute.format(date);
    el.title = full;
    el.textContent = el.dataset.absolute ? full : describe(date);
    if (el.tabIndex < 0 && !el.closest("a, button")) {
      el.tabIndex = 0;
      el.setAttribute("role", "button");
      el.setAttribute("aria-label", `${full}, ${describe(date)}`);
    }
  }
}

export function followTimes(scope) {
  const toggle = (el) => {
    el.dataset.absolute = el.dataset.absolute ? "" : "1";
    if (!el.dataset.absolute) delete el.dataset.absolute;
    refreshTimes(el.parentNode);
  };
  scope.addEventListener("click", (event) => {
    const el = event.target.closest("time[datetime]");
    if (el && !el.closest("a")) toggle(el);
  });
  scope.addEventListener("keydown", (event) => {
    const el = event.target.closest?.("time[datetime]");
    if (el && (event.key === "Enter" || event.key === " ")) {
      event.preventDefault();
      toggle(el);
    }
  });
  refreshTimes(scope);
  setInterval(() => refreshTimes(scope), 30000);
}
