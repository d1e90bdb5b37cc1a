// Kitchen display: what the station and expo screens share. Snapshot + websocket feed (the
// socket itself, heartbeats and reconnects: static/js/feed.js, shared with the tablets); the
// keyboard bump bar; paging; timers (static/js/timers.js); the beep.
// Protocol: docs/realtime.md. No build step: plain ES modules.

import { FeedSocket } from "../../js/feed.js";
import { every, now, syncClock } from "../../js/timers.js";

export { elapsedSeconds, formatElapsed, now, syncClock, tickTimers, timerLevel } from "../../js/timers.js";

export const config = JSON.parse(document.getElementById("kds-config").textContent);
const STRINGS = JSON.parse(document.getElementById("kds-strings").textContent);
const CSRF = document.querySelector('meta[name="csrf-token"]')?.content || "";
export const root = document.getElementById("kds");

export function t(key, params = {}) {
  const text = STRINGS[key] ?? key;
  return text.replace(/%\((\w+)\)s/g, (_m, name) => String(params[name] ?? ""));
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// --- the clock (server time and timers: static/js/timers.js) --------------------------------

// The venue's clock: its timezone, in its language's style (24 hours in Dutch).
const clockFormat = new Intl.DateTimeFormat(config.locale || undefined, {
  hour: "2-digit",
  minute: "2-digit",
  timeZone: config.timezone || undefined,
});

/** Every second: the clock, and each `[data-since]` timer with its colour level. */
export function startTicking(onTick) {
  const clock = document.getElementById("clock");
  return every(1000, () => {
    if (clock) clock.textContent = clockFormat.format(new Date(now()));
    onTick?.();
  });
}

// --- HTTP ------------------------------------------------------------------------------------

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message || `HTTP ${status}`);
    this.status = status;
    this.code = body?.error?.code || "http_error";
  }
}

/** A fresh idempotency key: one per tap, resent with each retry of that tap. */
export function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID(); // secure contexts only (https, localhost)
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

const RETRIES_MS = [400, 1200]; // a write whose answer was lost is sent again, same key

/**
 * Call the API (/api/v1/kitchen/...). A write carries an `Idempotency-Key` (a fresh one per
 * call, i.e. per tap) and is retried with the same key when the network failed, so a tap
 * that did reach the server is applied once however many times it is sent.
 */
export async function api(path, { method = "GET", body, key } = {}) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") {
    headers["Content-Type"] = "application/json";
    headers["X-CSRFToken"] = CSRF;
    headers["Idempotency-Key"] = key || newKey();
  }
  const send = () =>
    fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      cache: "no-store",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  let response;
  for (let attempt = 0; ; attempt += 1) {
    try {
      response = await send();
      break;
    } catch (error) {
      if (attempt >= RETRIES_MS.length) throw error; // no connection: showError says so
      await new Promise((resolve) => setTimeout(resolve, RETRIES_MS[attempt]));
    }
  }
  let data = null;
  try {
    data = await response.json();
  } catch (_e) {
    data = null;
  }
  if (response.status === 401) {
    unpaired();
    throw new ApiError(401, data);
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

function unpaired() {
  // The device was revoked (or the cookie is gone): the page itself shows "Pair this screen".
  toast(t("unpaired"), { error: true });
  setTimeout(() => location.reload(), 1500);
}

// --- the live feed: snapshot + websocket -----------------------------------------------------

const REFRESH_DEBOUNCE_MS = 80;
const RETRY_SNAPSHOT_MS = 2000;

/**
 * Keeps the screen equal to the database. The snapshot (GET, carries `seq`) is the truth; the
 * websocket (static/js/feed.js) only says "something changed" (docs/realtime.md, protocol 2):
 *   - the socket sends this screen's events (the kitchen's) in `events` frames, each covering
 *     every one of them with `after` < seq <= `seq`; the server skips what the kitchen does
 *     not draw and fills any hole itself, so the stream is complete: `covered` is the seq up
 *     to which the screen has heard everything (a socket cannot lose a frame; a new socket
 *     starts from a new snapshot);
 *   - an event concerning what the screen shows refetches the snapshot (debounced), and the
 *     snapshot must be at least as new as that event (`needSeq`);
 *   - socket closed -> banner, reconnect with backoff, then refetch the snapshot;
 *   - a pong carries the seq the socket is complete to; `resync` asks for a snapshot;
 *   - closed with 4401 / 4403 (not paired, revoked) -> back to "Pair this screen".
 */
export class Feed {
  constructor({ onSnapshot, relevant }) {
    this.onSnapshot = onSnapshot;
    this.relevant = relevant;
    this.covered = null; // every event of ours up to this seq is heard (or in the snapshot)
    this.needSeq = 0; // the snapshot must be at least this new (a relevant event's seq)
    this.helloSeq = null; // the seq the current socket's hello announced
    this.inflight = false;
    this.again = false;
    this.timers = {};
    this.socket = new FeedSocket(config.ws, {
      hello: (message, { first }) => this.onHello(message, first),
      events: (frame) => this.onFrame(frame),
      pong: (message) => {
        // The socket has sent us everything of ours up to its seq.
        if (typeof message.seq === "number" && this.covered !== null) {
          this.covered = Math.max(this.covered, message.seq);
        }
      },
      resync: (message) => {
        this.stats.gaps += 1;
        this.needSeq = Math.max(this.needSeq, message.seq || 0);
        this.scheduleRefresh(0);
      },
      down: () => {
        this.setState("reconnecting");
        // Meanwhile the snapshot keeps the screen current over plain HTTP (and a 401 there
        // means the screen was unpaired: back to the pairing page).
        this.scheduleRefresh(0);
      },
      refused: () => {
        this.setState("offline");
        unpaired();
      },
    });
    // Counters for tests and for anyone looking at a screen's console.
    this.stats = { snapshots: 0, events: 0, gaps: 0, reconnects: 0, ignored: 0 };
    window.kdsFeed = this;
  }

  /** The seq the screen is current to (kept under its old name for tests and the console). */
  get lastSeq() {
    return this.covered;
  }

  start() {
    this.refresh();
    this.socket.start();
  }

  /** Forget the socket at once (as when it is found dead); `scheduleReconnect` follows. */
  dropSocket() {
    this.socket.drop();
  }

  scheduleReconnect() {
    this.socket.reconnect();
  }

  setState(state) {
    root.dataset.conn = state;
    const conn = document.getElementById("conn");
    if (conn) {
      conn.dataset.state = state;
      conn.textContent = t(state === "live" ? "live" : state === "offline" ? "offline" : "reconnecting");
    }
    document.getElementById("banner").hidden = state === "live" || state === "connecting";
  }

  // Snapshot ---------------------------------------------------------------------------------

  scheduleRefresh(delay = REFRESH_DEBOUNCE_MS) {
    clearTimeout(this.timers.refresh);
    this.timers.refresh = setTimeout(() => this.refresh(), delay);
  }

  async refresh() {
    clearTimeout(this.timers.refresh);
    if (this.inflight) {
      this.again = true; // one more fetch after this one: it may predate the change
      return;
    }
    this.inflight = true;
    try {
      const snapshot = await api(config.snapshot);
      this.applySnapshot(snapshot);
    } catch (error) {
      if (error.status !== 401) this.scheduleRefresh(RETRY_SNAPSHOT_MS);
    } finally {
      this.inflight = false;
      if (this.again) {
        this.again = false;
        this.scheduleRefresh(0);
      }
    }
  }

  /** A snapshot from the feed or from an action's answer: newer than what we have wins. */
  applySnapshot(snapshot) {
    if (!snapshot || typeof snapshot.seq !== "number") return;
    if (snapshot.seq < this.needSeq) {
      this.scheduleRefresh(0); // older than a change we heard of: fetch again
      return;
    }
    this.covered = this.covered === null ? snapshot.seq : Math.max(this.covered, snapshot.seq);
    this.stats.snapshots += 1;
    if (this.helloSeq !== null && this.helloSeq > snapshot.seq) {
      // Read before events that happened before our socket joined: those never reach us.
      this.needSeq = Math.max(this.needSeq, this.helloSeq);
      this.scheduleRefresh(0);
    }
    if (snapshot.now) syncClock(snapshot.now);
    this.onSnapshot(snapshot);
  }

  // Events -----------------------------------------------------------------------------------

  onHello(message, first) {
    this.helloSeq = message.seq;
    this.setState("live");
    if (!first) {
      this.stats.reconnects += 1;
      // Whatever happened while we were away is in the snapshot; until it is here, the new
      // socket's frames (which follow on from its hello) only say "fetch again".
      this.covered = null;
      this.needSeq = Math.max(this.needSeq, message.seq);
      this.refresh();
    } else if (this.covered !== null && message.seq > this.covered) {
      this.needSeq = Math.max(this.needSeq, message.seq);
      this.scheduleRefresh(0); // changed between our snapshot and the socket opening
    }
  }

  onFrame(frame) {
    if (this.covered === null) {
      this.needSeq = Math.max(this.needSeq, frame.seq);
      this.scheduleRefresh(); // no snapshot yet: the one in flight (or this) covers it
      return;
    }
    for (const event of frame.events || []) {
      this.stats.events += 1;
      if (event.seq <= this.covered) {
        this.stats.ignored += 1; // already in a snapshot
        continue;
      }
      if (this.relevant(event)) {
        this.needSeq = Math.max(this.needSeq, event.seq);
        this.scheduleRefresh();
      }
    }
    this.covered = Math.max(this.covered, frame.seq);
  }
}

// --- paging and the keyboard bump bar --------------------------------------------------------

/** Tickets flow top-to-bottom in CSS columns; a page is one screen width of columns. */
export class Pager {
  constructor(board, columns) {
    this.board = board;
    this.columns = columns;
    this.page = 0;
    this.pages = 1;
    this.selected = null; // ticket key
    window.addEventListener("resize", () => this.layout());
  }

  pageWidth() {
    const gap = parseFloat(getComputedStyle(this.columns).columnGap) || 0;
    return this.columns.clientWidth + gap;
  }

  cards() {
    return [...this.columns.querySelectorAll(":scope > [data-key]")];
  }

  /** Recount pages after a render; keep the page; number the visible cards 1..9. */
  layout() {
    const width = this.pageWidth();
    const cards = this.cards();
    // Card and container move together (the page transform): their difference is the
    // card's place in the untransformed flow of columns.
    const left0 = this.columns.getBoundingClientRect().left;
    let last = 0;
    for (const card of cards) {
      const x = card.getBoundingClientRect().left - left0;
      card._page = Math.max(0, Math.floor((x + 2) / width));
      last = Math.max(last, card._page);
    }
    this.pages = last + 1;
    this.page = Math.min(this.page, this.pages - 1);
    this.columns.style.transform = `translateX(${-this.page * width}px)`;
    const visible = this.visible();
    for (const card of cards) {
      const n = visible.indexOf(card);
      const pos = card.querySelector(".t-pos");
      if (pos) pos.textContent = n >= 0 && n < 9 ? String(n + 1) : "";
      card.classList.toggle("is-selected", card.dataset.key === this.selected);
    }
    if (this.selected && !cards.some((c) => c.dataset.key === this.selected)) this.selected = null;
    const info = document.getElementById("page-info");
    if (info) info.textContent = this.pages > 1 ? t("page_n_of", { n: this.page + 1, total: this.pages }) : "";
  }

  visible() {
    return this.cards().filter((card) => card._page === this.page);
  }

  go(delta) {
    this.page = Math.max(0, Math.min(this.pages - 1, this.page + delta));
    this.layout();
  }

  select(n) {
    const card = this.visible()[n - 1];
    if (!card) return;
    this.selected = this.selected === card.dataset.key ? null : card.dataset.key;
    this.layout();
  }

  /** The selected card, or (for bump/start) the first visible one. */
  target() {
    const cards = this.cards();
    return cards.find((c) => c.dataset.key === this.selected) || this.visible()[0] || null;
  }
}

export function keymap() {
  try {
    return JSON.parse(root.dataset.keymap || "{}");
  } catch (_e) {
    return {};
  }
}

/** Calls actions[name]() for a key of the bump bar (number keys: actions.select(n)). */
export function bindKeys(actions) {
  const map = keymap();
  const byKey = new Map();
  for (const [action, keys] of Object.entries(map)) {
    (keys || []).forEach((key, index) => byKey.set(key, action === "select" ? ["select", index + 1] : [action]));
  }
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target instanceof HTMLInputElement) return;
    const hit = byKey.get(event.key);
    if (!hit) return;
    const [action, arg] = hit;
    if (!actions[action]) return;
    event.preventDefault();
    actions[action](arg);
  });
}

// --- sound and toasts ------------------------------------------------------------------------

let audio = null;
let soundOn = localStorage.getItem("kds-sound") !== "off";

function ensureAudio() {
  if (!audio) {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return null;
    audio = new Ctx();
  }
  if (audio.state === "suspended") audio.resume().catch(() => {});
  return audio;
}

// Browsers only start audio after a user gesture: the first tap anywhere unlocks it.
document.addEventListener("pointerdown", ensureAudio, { once: true });
document.addEventListener("keydown", ensureAudio, { once: true });

/** A short two-tone chime, generated (no audio files). */
export function beep() {
  if (!soundOn) return;
  const ctx = ensureAudio();
  if (!ctx || ctx.state !== "running") return;
  const start = ctx.currentTime;
  [880, 1320].forEach((freq, i) => {
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.type = "sine";
    osc.frequency.value = freq;
    const t0 = start + i * 0.16;
    gain.gain.setValueAtTime(0.0001, t0);
    gain.gain.exponentialRampToValueAtTime(0.4, t0 + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, t0 + 0.15);
    osc.connect(gain).connect(ctx.destination);
    osc.start(t0);
    osc.stop(t0 + 0.16);
  });
}

export function bindSoundButton() {
  const button = document.getElementById("btn-sound");
  if (!button) return;
  const show = () => {
    button.setAttribute("aria-pressed", String(soundOn));
    button.textContent = `♪ ${t(soundOn ? "sound_on" : "sound_off")}`;
  };
  show();
  button.addEventListener("click", () => {
    soundOn = !soundOn;
    localStorage.setItem("kds-sound", soundOn ? "on" : "off");
    show();
    if (soundOn) beep();
  });
}

let toastTimer = null;

export function toast(message, { action = null, onAction = null, error = false, ms = 5000 } = {}) {
  const box = document.getElementById("toast");
  if (!box) return;
  box.replaceChildren(el("span", {}, message));
  if (action && onAction) {
    box.append(
      el("button", {
        type: "button",
        class: "btn",
        onclick: () => {
          box.hidden = true;
          onAction();
        },
      }, action),
    );
  }
  box.classList.toggle("is-error", error);
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    box.hidden = true;
  }, ms);
}

export function showError(error) {
  toast(error?.message || t("error"), { error: true });
}

/** A note that names an allergy or intolerance is shown red, any other note yellow. */
const ALLERGY = /allerg|intoler|coeliac|celiac|gluten|lactose|nut|noten|pinda|peanut|shellfish|schaal|sesam|soy|soja|egg|ei\b|vegan|halal|kosher|epipen/i;

export function isAllergy(note) {
  return ALLERGY.test(note || "");
}
