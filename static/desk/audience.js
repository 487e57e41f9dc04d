// The desk's audience panel: readers over the event as an inline SVG chart, peak and current
// readers, and the reach of each published entry. The figures load once from the API, then each
// new sample arrives over the desk's socket ("readers.sample") and the chart grows.

import { format, gettext, language } from "../feeds/i18n.js";

const panel = document.querySelector("[data-audience]");
const root = document.querySelector("[data-desk]");
const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 600;
const HEIGHT = 180;
const PAD = { left: 40, right: 8, top: 10, bottom: 22 };
// More samples than this are drawn as the highest count of each slice: a long event stays legible.
const MAX_POINTS = 600;

const samples = new Map(); // time in ms -> readers
let entries = [];
let peak = null;

const timeFormat = new Intl.DateTimeFormat(language, { hour: "2-digit", minute: "2-digit" });
const numberFormat = new Intl.NumberFormat(language);

function node(name, attributes = {}, text = "") {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
  if (text) element.textContent = text;
  return element;
}

function points() {
  const all = [...samples].sort((a, b) => a[0] - b[0]);
  if (all.length <= MAX_POINTS) return all;
  const size = Math.ceil(all.length / MAX_POINTS);
  const slices = [];
  for (let i = 0; i < all.length; i += size) {
    const slice = all.slice(i, i + size);
    slices.push([slice[0][0], Math.max(...slice.map((point) => point[1]))]);
  }
  return slices;
}

// A round top for the y axis: 1, 2, 5 × a power of ten, at least the peak.
function roundUp(value) {
  if (value <= 1) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  return [1, 2, 5, 10].map((step) => step * power).find((top) => top >= value);
}

function draw() {
  const holder = panel.querySelector("[data-audience-chart]");
  const shown = points();
  if (!shown.length) return;
  const first = shown[0][0];
  const last = shown[shown.length - 1][0];
  const span = Math.max(last - first, 1);
  const top = roundUp(Math.max(...shown.map((point) => point[1])));
  const x = (time) => PAD.left + ((time - first) / span) * (WIDTH - PAD.left - PAD.right);
  const y = (readers) => HEIGHT - PAD.bottom - (readers / top) * (HEIGHT - PAD.top - PAD.bottom);
  const latest = shown[shown.length - 1][1];

  const svg = node("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", "data-points": samples.size, "data-latest": latest });
  const summary = gettext("Readers over time: %(now)s now, peak %(peak)s");
  svg.append(node("title", {}, format(summary, { now: numberFormat.format(latest), peak: numberFormat.format(peak?.readers ?? latest) })));
  const line = shown.map(([time, readers], index) => `${index ? "L" : "M"}${x(time).toFixed(1)},${y(readers).toFixed(1)}`).join("");
  const baseline = y(0).toFixed(1);
  svg.append(node("path", { class: "area", d: `${line}L${x(last).toFixed(1)},${baseline}L${x(first).toFixed(1)},${baseline}Z` }));
  svg.append(node("path", { class: "line", d: line }));
  svg.append(node("line", { class: "axis", x1: PAD.left, y1: baseline, x2: WIDTH - PAD.right, y2: baseline }));
  svg.append(node("line", { class: "axis", x1: PAD.left, y1: PAD.top, x2: PAD.left, y2: baseline }));
  svg.append(node("text", { x: PAD.left - 4, y: PAD.top + 8, "text-anchor": "end" }, numberFormat.format(top)));
  svg.append(node("text", { x: PAD.left - 4, y: baseline, "text-anchor": "end" }, "0"));
  svg.append(node("text", { x: PAD.left, y: HEIGHT - 6 }, timeFormat.format(first)));
  svg.append(node("text", { x: WIDTH - PAD.right, y: HEIGHT - 6, "text-anchor": "end" }, timeFormat.format(last)));
  for (const entry of entries) {
    const time = Date.parse(entry.published_at);
    if (time < first || time > last) continue;
    const tick = node("line", { class: "entry-tick", x1: x(time), x2: x(time), y1: PAD.top, y2: baseline });
    tick.append(node("title", {}, `${entry.headline}: ${entry.reach === null ? "–" : numberFormat.format(entry.reach)}`));
    svg.append(tick);
  }
  holder.replaceChildren(svg);
}

function showFigures() {
  if (peak) {
    panel.querySelector("[data-audience-peak]").textContent = numberFormat.format(peak.readers);
    panel.querySelector("[data-audience-peak-at]").textContent = timeFormat.format(Date.parse(peak.at));
  }
  const body = panel.querySelector("[data-audience-entries]");
  body.replaceChildren(
    ...entries
      .slice()
      .reverse()
      .map((entry) => {
        const row = document.createElement("tr");
        row.dataset.entryId = entry.id;
        for (const text of [timeFormat.format(Date.parse(entry.published_at)), entry.headline, entry.reach === null ? "–" : numberFormat.format(entry.reach)]) {
          const cell = document.createElement("td");
          cell.textContent = text;
          row.append(cell);
        }
        return row;
      }),
  );
}

function addSample(sample) {
  const time = Date.parse(sample.at);
  samples.set(time, sample.readers);
  if (!peak || sample.readers > peak.readers) peak = sample;
}

async function load() {
  const response = await fetch(panel.dataset.audienceUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" });
  if (!response.ok) return;
  const data = await response.json();
  for (const sample of data.samples) addSample(sample);
  peak = data.peak;
  entries = data.entries;
  showFigures();
  draw();
}

// A newly published entry's reach is known once the next sample is taken: reload the figures then.
let reachPending = false;

root.addEventListener("desk:message", (event) => {
  const message = event.detail;
  if (message.type === "readers") panel.querySelector("[data-audience-current]").textContent = numberFormat.format(message.count);
  else if (message.type === "readers.sample") {
    addSample(message);
    if (reachPending) {
      reachPending = false;
      load();
    }
    showFigures();
    draw();
  } else if (message.entry?.status === "published" && !entries.some((entry) => entry.id === message.entry.id)) {
    reachPending = true;
  }
});

load();
