// Timestamps: the reader's own clock (the browser's time zone) and relative ("4 min ago"), kept
// current, with the event's local time (the feed's zone, the root's data-time-zone) on hover.

const UNITS = [
  ["day", 86400],
  ["hour", 3600],
  ["minute", 60],
];
import { format, gettext, locale } from "./i18n.js";

// In the page's language (the reader's variant of it), in the reader's own time zone (the
// browser's, left unset).
const relative = new Intl.RelativeTimeFormat(locale, { numeric: "auto", style: "short" });
const absolute = new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short" });
const clock = new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit" });
let atTheEvent;

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
  const timeZone = document.querySelector("[data-time-zone]")?.dataset.timeZone;
  try {
    atTheEvent ??= new Intl.DateTimeFormat(locale, {
      month: "short",
      day: "numeric",
      hour: "2-digit",
      minute: "2-digit",
      timeZoneName: "short",
      timeZone,
    });
  } catch {
    atTheEvent = absolute; // a zone unknown here
  }
  for (const el of scope.querySelectorAll("time[datetime]:not([data-event-time])")) {
    const date = new Date(el.dateTime);
    if (Number.isNaN(date.getTime())) continue;
    el.title = format(gettext("Your time: %(mine)s. At the event: %(event)s (%(zone)s)"), {
      mine: absolute.format(date),
      event: atTheEvent.format(date),
      zone: timeZone,
    });
    el.textContent = "clock" in el.dataset ? clock.format(date) : `${clock.format(date)} · ${describe(date)}`;
  }
}

export function followTimes(scope) {
  const note = scope.querySelector("[data-time-zone-note]");
  if (note) note.textContent = note.dataset.timeZoneNote;
  refreshTimes(scope);
  setInterval(() => refreshTimes(scope), 30000);
}
