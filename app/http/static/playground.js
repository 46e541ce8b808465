// fm-tailor playground: asks every strategy (one column each) at once and renders their SSE streams.
"use strict";

// The service writes one column per strategy of its table: name, label and whether it retrieves.
const COLUMNS = [...document.querySelectorAll(".column")];
const STRATEGIES = COLUMNS.map((column) => column.dataset.strategy);
const LABELS = Object.fromEntries(COLUMNS.map((column) => [column.dataset.strategy, column.querySelector("h2").textContent]));
const KEY_STORAGE = "fm-tailor.api-key";

let prices = null; // the /pricing table once it answers; no cost is shown without it
let running = null; // the AbortController of the question being answered
// The conversation of each column: the user's turns (shared) and that strategy's own answers.
const threads = Object.fromEntries(STRATEGIES.map((name) => [name, []]));

function part(column, role) {
  return column.querySelector(`[data-role="${role}"]`);
}

function fillColumns() {
  const body = document.getElementById("column-body");
  for (const column of document.querySelectorAll(".column")) {
    column.append(body.content.cloneNode(true));
  }
}

function announce(text) {
  document.getElementById("announcer").textContent = text;
}

function formatMs(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return "–";
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

function formatMoney(amount, currency) {
  const digits = amount === 0 ? "0" : amount < 0.01 ? amount.toPrecision(2) : amount.toFixed(4);
  return currency === "USD" ? `$${digits}` : `${digits} ${currency}`;
}

// Server-Sent Events from a fetch body: frames end with a blank line; `data` is one JSON line.
function parseFrame(frame) {
  let name = "message";
  const data = [];
  for (const line of frame.split("\n")) {
    if (line === "" || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") name = value;
    else if (field === "data") data.push(value);
  }
  return data.length ? { name, data: JSON.parse(data.join("\n")) } : null;
}

async function* readEvents(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const event = parseFrame(buffer.slice(0, end));
      buffer = buffer.slice(end + 2);
      if (event) yield event;
    }
  }
}

function setState(column, state, label) {
  const badge = part(column, "state");
  badge.dataset.state = state;
  badge.textContent = label || state;
  part(column, "answer").setAttribute("aria-busy", String(state === "waiting" || state === "streaming"));
}

// The exchange on screen moves up into the thread before the next question is asked.
function archiveExchange(column) {
  const asked = part(column, "asked");
  if (column.dataset.answered !== "true") return; // a failed turn is not part of the thread
  column.dataset.answered = "false";
  const item = document.createElement("li");
  const question = document.createElement("p");
  question.className = "turn-user";
  question.textContent = asked.textContent;
  const reply = document.createElement("p");
  reply.className = "turn-assistant";
  reply.textContent = part(column, "answer").textContent;
  item.append(question, reply);
  part(column, "thread").append(item);
}

function showQuestion(column, question) {
  const asked = part(column, "asked");
  asked.textContent = question;
  asked.hidden = false;
}

function newConversation() {
  if (running) running.abort();
  running = null;
  for (const column of COLUMNS) {
    threads[column.dataset.strategy].length = 0;
    part(column, "thread").replaceChildren();
    part(column, "asked").hidden = true;
    column.dataset.answered = "false";
    resetColumn(column);
    setState(column, "idle");
    part(column, "answer").textContent = "";
  }
  document.getElementById("new-conversation").disabled = true;
  announce("New conversation.");
  document.getElementById("question").focus();
}

function resetColumn(column) {
  setState(column, "waiting");
  part(column, "answer").textContent = "";
  for (const role of ["first-token", "client-total", "server-timings", "tokens", "cost", "model"]) {
    part(column, role).textContent = "–";
  }
  part(column, "sources").replaceChildren();
  part(column, "sources-summary").textContent = "Sources";
  part(column, "sources-box").querySelector(".no-sources")?.remove();
}

function sourceItem(source) {
  const item = document.createElement("li");
  const details = document.createElement("details");
  details.className = "source";
  const summary = document.createElement("summary");
  const title = document.createElement("strong");
  title.textContent = source.title || source.id;
  const score = document.createElement("span");
  score.className = "score";
  score.textContent = `score ${Number(source.score).toFixed(3)}`;
  summary.append(title, score);
  const location = document.createElement("p");
  location.className = "location";
  location.textContent = source.location;
  const text = document.createElement("blockquote");
  text.textContent = source.text;
  details.append(summary, location, text);
  item.append(details);
  return item;
}

function renderSources(column, sources) {
  const list = part(column, "sources");
  list.replaceChildren(...sources.map(sourceItem));
  const box = part(column, "sources-box");
  box.querySelector(".no-sources")?.remove();
  if (sources.length) {
    part(column, "sources-summary").textContent = `Sources (${sources.length})`;
    box.open = true;
    return;
  }
  part(column, "sources-summary").textContent = "Sources (none)";
  box.open = true;
  const note = document.createElement("p");
  note.className = "no-sources";
  note.textContent = column.dataset.retrieves === "false"
    ? "No retrieval: this strategy answers from the model alone."
    : "Nothing in the catalog matched.";
  box.append(note);
}

function costOf(result) {
  if (!prices) return null;
  const price = prices.tokens_per_million[result.model];
  if (!price) return "no list price for this model";
  const amount = (result.usage.input_tokens * price.input + result.usage.output_tokens * price.output) / 1e6;
  return `${formatMoney(amount, prices.currency)} per request`;
}

function renderResult(column, result, startedAt) {
  const timings = result.timings_ms;
  part(column, "client-total").textContent = formatMs(performance.now() - startedAt);
  part(column, "server-timings").textContent =
    `retrieve ${formatMs(timings.retrieve)} · generate ${formatMs(timings.generate)} · total ${formatMs(timings.total)}`;
  const usage = result.usage;
  const tokens = part(column, "tokens");
  tokens.textContent = `${usage.estimated ? "≈ " : ""}${usage.input_tokens} / ${usage.output_tokens}`;
  tokens.title = usage.estimated ? "counted by the service: the backend reported no token counts" : "";
  const cost = costOf(result);
  if (cost) part(column, "cost").textContent = cost;
  part(column, "model").textContent = result.model;
  part(column, "answer").textContent = result.answer;
  if (column.dataset.retrieves === "false" || result.sources.length) renderSources(column, result.sources);
  setState(column, "done");
}

function renderError(column, error) {
  const message = document.createElement("span");
  message.className = "error-text";
  message.textContent = `${error.code}: ${error.message}`;
  part(column, "answer").replaceChildren(message);
  setState(column, "error");
}

function requestHeaders() {
  const headers = { "Content-Type": "application/json", Accept: "text/event-stream" };
  const key = sessionStorage.getItem(KEY_STORAGE);
  if (key) headers.Authorization = `Bearer ${key}`;
  return headers;
}

async function errorOf(response) {
  try {
    const body = await response.json();
    if (body && body.error) return body.error;
  } catch (_ignored) { /* not JSON: fall through to the status line */ }
  return { code: `http_${response.status}`, message: response.statusText || "request failed" };
}

async function askStrategy(strategy, question, options, signal) {
  const column = document.querySelector(`.column[data-strategy="${strategy}"]`);
  const thread = threads[strategy];
  const body = { ...options, messages: [...thread, { role: "user", content: question }] };
  archiveExchange(column);
  resetColumn(column);
  showQuestion(column, question);
  const startedAt = performance.now();
  let outcome = "error";
  try {
    const response = await fetch(`/${strategy}`, {
      method: "POST", headers: requestHeaders(), body: JSON.stringify(body), signal,
    });
    if (!response.ok) {
      const error = await errorOf(response);
      if (response.status === 401) openKeyField();
      renderError(column, error);
      return outcome;
    }
    let text = "";
    for await (const event of readEvents(response)) {
      if (event.name === "sources") {
        renderSources(column, event.data.sources);
      } else if (event.name === "delta") {
        if (!text) {
          part(column, "first-token").textContent = formatMs(performance.now() - startedAt);
          setState(column, "streaming");
        }
        text += event.data.text;
        part(column, "answer").textContent = text;
      } else if (event.name === "done") {
        renderResult(column, event.data, startedAt);
        thread.push({ role: "user", content: question }, { role: "assistant", content: event.data.answer });
        column.dataset.answered = "true";
        outcome = "done";
      } else if (event.name === "error") {
        renderError(column, event.data.error);
      }
    }
    if (outcome !== "done" && part(column, "state").dataset.state !== "error") {
      renderError(column, { code: "stream_ended", message: "the answer stopped before it finished" });
    }
  } catch (error) {
    if (signal.aborted) return "aborted";
    renderError(column, { code: "network_error", message: String(error.message || error) });
  }
  return outcome;
}

function numberField(id) {
  const value = document.getElementById(id).value.trim();
  return value === "" ? undefined : Number(value);
}

async function askAll(question) {
  if (running) running.abort();
  const controller = new AbortController();
  running = controller;
  const options = {
    stream: true,
    top_k: numberField("top-k"), max_tokens: numberField("max-tokens"), temperature: numberField("temperature"),
  };
  announce(`Asking ${STRATEGIES.map((name) => LABELS[name]).join(", ")}.`);
  const outcomes = await Promise.all(
    STRATEGIES.map((name) => askStrategy(name, question, options, controller.signal)),
  );
  if (controller.signal.aborted) return;
  running = null;
  if (outcomes.includes("done")) {
    // The question is in the thread now: the field is free for the follow-up.
    document.getElementById("question").value = "";
    document.getElementById("new-conversation").disabled = false;
  }
  const summary = STRATEGIES.map((name, index) => `${LABELS[name]} ${outcomes[index] === "done" ? "answered" : "failed"}`);
  announce(`${summary.join(", ")}.`);
}

function openKeyField() {
  document.getElementById("options").open = true;
  announce("The service needs an API key: enter it under Options.");
}

async function loadPrices() {
  try {
    const response = await fetch("/pricing", { headers: requestHeaders() });
    if (!response.ok) return;
    prices = await response.json();
    for (const row of document.querySelectorAll('[data-role="cost-row"]')) row.hidden = false;
    document.getElementById("cost-note").hidden = false;
  } catch (_ignored) { /* no price table: the page shows no cost */ }
}

async function watchReadiness() {
  const pill = document.getElementById("service-status");
  try {
    const response = await fetch("/ready", { headers: requestHeaders() });
    const body = await response.json();
    if (response.ok && body.ready) {
      pill.dataset.state = "ready";
      const models = body.backends ? Object.values(body.backends.models).join(" · ") : "";
      pill.textContent = models ? `ready · ${models}` : "ready";
      // While the tuned model's adapter trains (rag already answers), show its progress.
      if (body.adapter) pill.textContent += ` · fine-tune ${body.adapter.status}`;
      pill.title = pill.textContent;
      if (body.adapter) setTimeout(watchReadiness, 3000);
      return;
    }
    pill.dataset.state = body.detail === "loading" ? "checking" : "error";
    pill.textContent = body.detail === "loading" ? "loading models…" : `not ready: ${body.detail}`;
  } catch (_ignored) {
    pill.dataset.state = "error";
    pill.textContent = "service unreachable";
  }
  setTimeout(watchReadiness, 3000);
}

function setUp() {
  fillColumns();
  const form = document.getElementById("ask-form");
  const question = document.getElementById("question");
  const key = document.getElementById("api-key");
  key.value = sessionStorage.getItem(KEY_STORAGE) || "";
  key.addEventListener("input", () => {
    if (key.value) sessionStorage.setItem(KEY_STORAGE, key.value);
    else sessionStorage.removeItem(KEY_STORAGE);
  });
  document.getElementById("new-conversation").addEventListener("click", newConversation);
  question.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = question.value.trim();
    if (text) askAll(text);
  });
  loadPrices();
  watchReadiness();
  question.focus();
}

document.addEventListener("DOMContentLoaded", setUp);
