// Time on screens: the server's clock, how long something has been going, and ticking.
// Shared by the kitchen screens (ticket and order timers, the clock) and the tablet (the PIN
// lockout countdown). No build step: a plain ES module.

let clockSkewMs = 0; // server now - local now, from each snapshot

/** Follow the server's clock (a snapshot's `now`), so timers agree across screens. */
export function syncClock(serverNowIso) {
  const server = Date.parse(serverNowIso);
  if (!Number.isNaN(server)) clockSkewMs = server - Date.now();
}

/** Milliseconds since the epoch, on the server's clock. */
export function now() {
  return Date.now() + clockSkewMs;
}

/** Whole seconds since an ISO time (0 for none, or for a time in the future). */
export function elapsedSeconds(iso) {
  const start = Date.parse(iso);
  return Number.isNaN(start) ? 0 : Math.max(0, Math.floor((now() - start) / 1000));
}

/** 75 -> "1:15", 3725 -> "1:02:05". */
export function formatElapsed(seconds) {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const mm = String(m).padStart(h ? 2 : 1, "0");
  return (h ? `${h}:` : "") + `${mm}:${String(s).padStart(2, "0")}`;
}

export function timerLevel(seconds, warnAfter, lateAfter) {
  if (seconds >= lateAfter) return "late";
  if (seconds >= warnAfter) return "warn";
  return "ok";
}

/** Call `tick` now and then every `ms`; returns a function that stops it. */
export function every(ms, tick) {
  tick();
  const id = setInterval(tick, ms);
  return () => clearInterval(id);
}

/**
 * The timers of cards (tickets, orders) with `data-since`: each card's `.t-timer` shows how
 * long it has been waiting and its `data-timer` the level (ok, warn after `warnAfter`
 * seconds, late after `lateAfter`; always ok for a card `quiet(card)` says is not waiting).
 * `badge`, if given, shows how many are late. Returns that count.
 */
export function tickTimers(cards, { warnAfter, lateAfter, quiet = () => false, badge = null }) {
  let late = 0;
  for (const card of cards) {
    const seconds = elapsedSeconds(card.dataset.since);
    const timer = card.querySelector(".t-timer");
    if (timer) timer.textContent = formatElapsed(seconds);
    const level = quiet(card) ? "ok" : timerLevel(seconds, warnAfter, lateAfter);
    card.dataset.timer = level;
    if (level === "late") late += 1;
  }
  if (badge) {
    badge.hidden = late === 0;
    badge.textContent = `${late} ⚠`;
  }
  return late;
}
