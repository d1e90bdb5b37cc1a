// The expo screen (/kds/expo/): every order at the pass (a check's send) with each station's
// progress; an order whose stations are all ready is green and is served with one tap.

import {
  Feed,
  Pager,
  api,
  beep,
  bindKeys,
  bindSoundButton,
  config,
  el,
  elapsedSeconds,
  formatElapsed,
  showError,
  startTicking,
  t,
  tickTimers as tickCardTimers,
  toast,
} from "./core.js";

const board = document.getElementById("board");
const columns = document.getElementById("tickets");
const pager = new Pager(board, columns);

let snapshot = null;
let seen = null;
let warnAfter = config.warnAfter;
let lateAfter = config.lateAfter;
const busy = new Set();

const keyOf = (order) => `${order.check}-${order.send}`;

function stationBlock(station) {
  return el(
    "div",
    { class: "o-station", dataset: { state: station.state, station: station.station } },
    el(
      "div",
      { class: "o-chip" },
      el("span", {}, station.name),
      el("span", { class: "chip" }, (station.state === "ready" ? "✓ " : "") + t(`state_${station.state}`)),
    ),
    el(
      "ul",
      { class: "o-items" },
      station.items.map((item) => {
        const cls = item.voided ? "is-voided" : item.held ? "is-held" : item.status === "ready" ? "is-ready" : "";
        const seat = item.seat ? ` · ${t("seat_n", { n: item.seat })}` : "";
        return el("li", { class: cls }, `${item.quantity}× ${item.name}${seat}${item.held ? ` (${t("held")})` : ""}`);
      }),
    ),
  );
}

function orderCard(order) {
  const waiting = order.stations.filter((s) => s.state !== "ready" && s.state !== "void").map((s) => s.name);
  const isNew = seen !== null && !seen.has(keyOf(order));
  const badges = el("div", { class: "t-badges" });
  if (order.send > 1) badges.append(el("span", { class: "badge badge-addition" }, t("addition")));
  if (order.rush) badges.append(el("span", { class: "badge badge-rush" }, t("rush")));
  const live = order.stations.filter((s) => s.state !== "void" && s.state !== "held");
  const state = order.ready ? "ready" : live.length && live.every((s) => s.state === "new") ? "new" : "cooking";
  badges.append(el("span", { class: "badge badge-state" }, t(`state_${state}`)));
  return el(
    "article",
    {
      class: `ticket order${order.rush ? " is-rush" : ""}${isNew ? " is-new" : ""}`,
      dataset: {
        key: keyOf(order),
        check: order.check,
        number: order.number,
        send: order.send,
        ready: String(order.ready),
        since: order.created_at,
        timer: "ok",
      },
    },
    el(
      "button",
      { type: "button", class: "t-head", title: t("serve"), onclick: () => serve(order) },
      el(
        "span",
        { class: "t-row1" },
        el("span", { class: "t-pos" }),
        el("span", { class: "t-label" }, order.label),
        el("span", { class: "t-timer" }, formatElapsed(elapsedSeconds(order.created_at))),
      ),
      el(
        "span",
        { class: "t-row2" },
        t("check_n", { n: order.number }),
        el("span", { class: "sep" }, "·"),
        order.server,
        el("span", { class: "sep" }, "·"),
        t("send_n", { n: order.send }),
      ),
      badges,
    ),
    el("div", { class: "o-stations" }, order.stations.map(stationBlock)),
    el(
      "button",
      { type: "button", class: "o-serve", onclick: () => (order.ready ? serve(order) : callReady(order)) },
      order.ready ? t("ready_to_serve") : t("call_ready", { stations: waiting.join(", ") }),
    ),
  );
}

function render(next) {
  snapshot = next;
  warnAfter = next.station?.warn_after ?? warnAfter;
  lateAfter = next.station?.late_after ?? lateAfter;
  const fresh = seen !== null && next.orders.some((o) => !seen.has(keyOf(o)));
  columns.replaceChildren(...next.orders.map(orderCard));
  document.getElementById("empty").hidden = next.orders.length > 0;
  const ready = next.orders.filter((o) => o.ready).length;
  document.getElementById("open-count").textContent =
    t("open_n", { n: next.orders.length }) + (ready ? ` · ${ready} ✓` : "");
  seen = new Set([...(seen || []), ...next.orders.map(keyOf)]);
  tickTimers();
  pager.layout();
  if (fresh) beep();
}

function tickTimers() {
  tickCardTimers(columns.querySelectorAll(".order"), {
    warnAfter,
    lateAfter,
    quiet: (card) => card.dataset.ready === "true",
    badge: document.getElementById("late-count"),
  });
}

async function serve(order) {
  const key = keyOf(order);
  if (busy.has(key)) return;
  busy.add(key);
  try {
    const answer = await api(`${config.base}orders/${order.check}/serve`, {
      method: "POST",
      body: { send: order.send },
    });
    feed.applySnapshot(answer.snapshot);
    toast(t("served", { label: answer.label }), { ms: 3000 });
  } catch (error) {
    if (error.status !== 401) showError(error);
    feed.refresh();
  } finally {
    busy.delete(key);
  }
}

async function callReady(order) {
  // The pass calls an order ready: every station's ticket is bumped (print-only stations never
  // bump themselves), and the server's tablet shows "food ready".
  const key = keyOf(order);
  if (busy.has(key)) return;
  busy.add(key);
  try {
    const answer = await api(`${config.base}orders/${order.check}/ready`, {
      method: "POST",
      body: { send: order.send },
    });
    feed.applySnapshot(answer.snapshot);
    toast(t("called_ready", { label: answer.label }), { ms: 3000 });
  } catch (error) {
    if (error.status !== 401) showError(error);
    feed.refresh();
  } finally {
    busy.delete(key);
  }
}

function orderFor(card) {
  return card && snapshot ? snapshot.orders.find((o) => keyOf(o) === card.dataset.key) : null;
}

document.getElementById("btn-prev").addEventListener("click", () => pager.go(-1));
document.getElementById("btn-next").addEventListener("click", () => pager.go(1));
bindSoundButton();
bindKeys({
  select: (n) => pager.select(n),
  bump: () => {
    // Without a selection, the first order that is ready (never an unready one by accident).
    const card = pager.selected ? pager.target() : pager.visible().find((c) => c.dataset.ready === "true");
    const order = orderFor(card);
    pager.selected = null;
    if (order) serve(order);
  },
  next: () => pager.go(1),
  prev: () => pager.go(-1),
  clear: () => {
    pager.selected = null;
    pager.layout();
  },
});

const feed = new Feed({
  onSnapshot: render,
  // Every ticket change; a change to a check at the pass (its table, server, served lines).
  relevant: (event) =>
    event.type.startsWith("ticket.") ||
    (event.type === "check.changed" && (!snapshot || snapshot.orders.some((o) => o.check === event.data?.check))),
});
startTicking(() => snapshot && tickTimers());
feed.start();
