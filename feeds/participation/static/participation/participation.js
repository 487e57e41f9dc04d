// Polls, reactions and the question form on the reader page and the widget. Progressive: the
// page shows each poll's options (and a closed poll's result) without this script; with it,
// readers vote, react and see the counts move, from tallies the live socket brings (at most one
// per poll per second, whatever the crowd).

import { format, gettext, ngettext } from "../feeds/i18n.js";

const part = document.querySelector("[data-participation]");
const root = part?.closest("[data-livefeed]");
const slug = part?.dataset.slug;
const api = `/api/feeds/${encodeURIComponent(slug)}`;
const polls = new Map(); // entry id -> {counts, closed}
const reactionCounts = new Map(); // entry id -> {name: count}
let reactions = [];
let reactionsEnabled = false;

// What a screen reader says for each reaction (its symbol says nothing in words).
const REACTION_NAMES = {
  like: gettext("Like"),
  love: gettext("Love"),
  wow: gettext("Wow"),
  sad: gettext("Sad"),
  flag: gettext("Chequered flag"),
};

const votedKey = (id) => `livefeed:voted:${slug}:${id}`;
const reactedKey = (id) => `livefeed:reacted:${slug}:${id}`;

function remembered(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

function remember(key, value) {
  try {
    localStorage.setItem(key, value);
  } catch {
    // Private mode: the server's cookie still counts this browser once.
  }
}

async function post(url, body) {
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
      credentials: "same-origin",
    });
    let data = {};
    try {
      data = await response.json();
    } catch {
      // Not JSON: a proxy's page; the status says enough.
    }
    return { status: response.status, data };
  } catch {
    return { status: 0, data: { detail: gettext("The server could not be reached; try again.") } };
  }
}

function announce(text) {
  const announcer = root.querySelector("[data-announcer]");
  if (announcer) announcer.textContent = text;
}

// --- Polls ----------------------------------------------------------------------------------

function drawPoll(article) {
  const id = article.dataset.entryId;
  const poll = article.querySelector(".entry-poll");
  if (!poll) return;
  const state = polls.get(id) || { counts: [], closed: false };
  const closed = state.closed || poll.querySelector(".poll-final") !== null;
  const voted = remembered(votedKey(id));
  const items = [...poll.querySelectorAll(".poll-options > li")];
  const total = items.reduce((sum, _, index) => sum + (state.counts[index] || 0), 0);
  poll.dataset.pollEntry = id;
  poll.classList.toggle("poll-closed", closed);
  items.forEach((item, index) => {
    const count = state.counts[index] || 0;
    let bar = item.querySelector("progress");
    if (!bar) {
      bar = document.createElement("progress");
      bar.className = "poll-bar";
      const label = document.createElement("span");
      label.className = "poll-tally";
      label.dataset.pollTally = "";
      item.append(" ", bar, label);
    }
    bar.max = Math.max(total, 1);
    bar.value = count;
    const share = total ? Math.round((100 * count) / total) : 0;
    if (!item.querySelector(".poll-count")) {
      item.querySelector("[data-poll-tally]").textContent = ` ${count} · ${share}%`;
    }
    bar.setAttribute("aria-label", `${item.querySelector(".poll-option")?.textContent || ""}: ${share}%`);
    let button = item.querySelector("[data-vote]");
    if (!closed && voted === null) {
      if (!button) {
        button = document.createElement("button");
        button.type = "button";
        button.className = "poll-vote";
        button.dataset.vote = String(index);
        button.textContent = gettext("Vote");
        button.setAttribute(
          "aria-label",
          format(gettext("Vote for %(option)s"), { option: item.querySelector(".poll-option")?.textContent || "" }),
        );
        item.prepend(button, " ");
      }
    } else if (button) {
      button.remove();
    }
    item.classList.toggle("poll-mine", voted === String(index));
  });
  let note = poll.querySelector("[data-poll-state]");
  if (!note) {
    note = document.createElement("p");
    note.className = "poll-note";
    note.dataset.pollState = "";
    note.setAttribute("role", "status");
    poll.append(note);
  }
  if (closed) note.textContent = "";
  else {
    const votes = format(ngettext("%(count)s vote", "%(count)s votes", total), { count: total });
    note.textContent = voted !== null ? format(gettext("%(votes)s · you voted"), { votes }) : votes;
  }
}

async function vote(article, option) {
  const id = article.dataset.entryId;
  const { status, data } = await post(`${api}/entries/${id}/vote/`, { option });
  if (status === 200 || (status === 409 && /already/.test(data.detail || ""))) {
    remember(votedKey(id), String(option));
    announce(status === 200 ? gettext("Your vote was counted.") : data.detail);
  } else {
    if (status === 409) polls.set(id, { ...(polls.get(id) || { counts: [] }), closed: true });
    announce(data.detail || format(gettext("The vote was not counted (%(status)s)."), { status }));
  }
  drawPoll(article);
}

// --- Reactions ------------------------------------------------------------------------------

function drawReactions(article) {
  const id = article.dataset.entryId;
  let bar = article.querySelector("[data-reactions]");
  if (!reactionsEnabled) {
    bar?.remove();
    return;
  }
  if (!bar) {
    bar = document.createElement("div");
    bar.className = "reactions";
    bar.dataset.reactions = "";
    bar.setAttribute("role", "group");
    bar.setAttribute("aria-label", gettext("Reactions"));
    (article.querySelector(".entry-foot") || article).append(bar);
  }
  const counts = reactionCounts.get(id) || {};
  const mine = remembered(reactedKey(id));
  bar.replaceChildren(
    ...reactions.map(({ name, symbol }) => {
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.react = name;
      button.className = "reaction";
      button.disabled = mine !== null;
      button.setAttribute("aria-pressed", String(mine === name));
      button.setAttribute(
        "aria-label",
        format(gettext("%(reaction)s: %(count)s"), { reaction: REACTION_NAMES[name] || name, count: counts[name] || 0 }),
      );
      button.textContent = `${symbol} ${counts[name] || 0}`;
      return button;
    }),
  );
}

async function react(article, name) {
  const id = article.dataset.entryId;
  const { status, data } = await post(`${api}/entries/${id}/reaction/`, { reaction: name });
  if (status === 200 || status === 409) remember(reactedKey(id), name);
  if (status === 200) {
    const counts = reactionCounts.get(id) || {};
    counts[name] = (counts[name] || 0) + 1;
    reactionCounts.set(id, counts);
  }
  announce(
    status === 200 ? gettext("Reaction sent.") : data.detail || format(gettext("Not sent (%(status)s)."), { status }),
  );
  drawReactions(article);
}

// --- Wiring ---------------------------------------------------------------------------------

function drawAll() {
  for (const article of root.querySelectorAll("article[data-entry-id]")) {
    drawPoll(article);
    drawReactions(article);
  }
}

function articlesOf(id) {
  return root.querySelectorAll(`article[data-entry-id="${CSS.escape(String(id))}"]`);
}

function applyTally(message) {
  const id = String(message.entry);
  if (message.box === "poll") {
    const previous = polls.get(id) || { closed: false };
    const counts = Object.entries(message.counts).reduce((list, [index, count]) => {
      list[Number(index)] = count;
      return list;
    }, []);
    polls.set(id, { counts, closed: previous.closed || Boolean(message.closed) });
    for (const article of articlesOf(id)) drawPoll(article);
  } else if (message.box === "reactions") {
    reactionCounts.set(id, { ...message.counts });
    for (const article of articlesOf(id)) drawReactions(article);
  }
}

async function load() {
  try {
    const response = await fetch(`${api}/participation/`, { headers: { Accept: "application/json" } });
    if (!response.ok) return;
    const state = await response.json();
    reactions = state.reactions;
    reactionsEnabled = state.reactions_enabled;
    for (const poll of state.polls) polls.set(String(poll.entry), { counts: poll.counts, closed: poll.closed });
    for (const item of state.reaction_counts) reactionCounts.set(String(item.entry), item.counts);
  } catch {
    // The page still shows every poll's options and closed polls' results.
  }
  drawAll();
}

function setUpQuestions() {
  const form = part.querySelector("[data-ask]");
  if (!form) return;
  const message = form.querySelector("[data-ask-message]");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const fields = new FormData(form);
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    const { status, data } = await post(`${api}/questions/`, Object.fromEntries(fields));
    button.disabled = false;
    if (status === 202) {
      form.querySelector("textarea").value = "";
      message.textContent = data.detail;
    } else {
      const detail = data.detail || Object.values(data).flat().join(" ") || format(gettext("Not sent (%(status)s)."), { status });
      message.textContent = detail;
    }
  });
}

if (root) {
  root.addEventListener("livefeed:message", (event) => {
    const message = event.detail;
    if (message.type === "participation.tally") applyTally(message);
    else if (message.entry?.id !== undefined) {
      for (const article of articlesOf(message.entry.id)) {
        drawPoll(article);
        drawReactions(article);
      }
    }
  });
  root.addEventListener("click", (event) => {
    const voteButton = event.target.closest("[data-vote]");
    if (voteButton) {
      voteButton.disabled = true;
      vote(voteButton.closest("article[data-entry-id]"), Number(voteButton.dataset.vote));
      return;
    }
    const reactButton = event.target.closest("[data-react]");
    if (reactButton) react(reactButton.closest("article[data-entry-id]"), reactButton.dataset.react);
  });
  // Another tab of this browser voted: it counts for this one too.
  addEventListener("storage", (event) => {
    if (event.key?.startsWith(`livefeed:voted:${slug}:`) || event.key?.startsWith(`livefeed:reacted:${slug}:`)) drawAll();
  });
  setUpQuestions();
  load();
}
