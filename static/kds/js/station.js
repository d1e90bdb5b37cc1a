// A station screen (/kds/<station>/): tickets as cards, oldest first (rush first), item status
// by tap, bump by tapping the header (or the bump bar), recall, all-day counts.

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
  isAllergy,
  root,
  showError,
  startTicking,
  t,
  tickTimers as tickCardTimers,
  toast,
} from "./core.js";
import { E } from "../../js/errors.js";

const board = document.getElementById("board");
const columns = document.getElementById("tickets");
const pager = new Pager(board, columns);
const NEXT_STATUS = { new: "cooking", cooking: "ready", ready: "cooking" };

let snapshot = null;
let seen = null; // ticket ids already shown (null until the first snapshot)
let warnAfter = config.warnAfter;
let lateAfter = config.lateAfter;
let withModifiers = localStorage.getItem(`kds-allday-mods:${config.station}`) === "1";
const busy = new Set();

// --- rendering -------------------------------------------------------------------------------

function timerStart(ticket) {
  // Time since sent; for a course fired later, since it was fired (what the cook must make now).
  let start = ticket.created_at;
  for (const item of ticket.items) {
    if (!item.held && !item.voided && item.fired_at && item.fired_at > start) start = item.fired_at;
  }
  return start;
}

function seatLabel(seat) {
  return seat ? t("seat_n", { n: seat }) : null;
}

function modifierList(mods) {
  if (!mods || !mods.length) return null;
  return el(
    "ul",
    { class: "i-mods" },
    mods.map((m) =>
      el("li", {}, (m.quantity > 1 ? `${m.quantity}× ` : "") + m.name, modifierList(m.children)),
    ),
  );
}

function itemMark(item) {
  if (item.voided) return "✕";
  if (item.held) return "–";
  return { new: "○", cooking: "◐", ready: "✓" }[item.status] || "○";
}

function itemRow(ticket, item) {
  const inactive = item.voided || item.held || ticket.kind === "void";
  const classes = ["t-item"];
  if (item.held) classes.push("is-held");
  if (item.voided || ticket.kind === "void") classes.push("is-voided");
  return el(
    "button",
    {
      type: "button",
      class: classes.join(" "),
      dataset: { item: item.id, status: item.status },
      "aria-disabled": inactive ? "true" : null,
      "aria-label": `${item.quantity} ${item.name}: ${t(`state_${item.status}`)}`,
      onclick: inactive ? null : (event) => {
        event.stopPropagation();
        setItemStatus(item, NEXT_STATUS[item.status] || "cooking");
      },
    },
    el(
      "span",
      { class: "i-line" },
      el("span", { class: "i-mark", "aria-hidden": "true" }, itemMark(item)),
      el("span", { class: "i-qty" }, `${item.quantity}×`),
      el("span", { class: "i-name" }, item.name),
      item.seat ? el("span", { class: "i-seat" }, seatLabel(item.seat)) : null,
    ),
    modifierList(item.modifiers),
    item.moved_to ? el("div", { class: "i-note" }, `→ ${item.moved_to}`) : null,
    item.note
      ? el("div", { class: `i-note${isAllergy(item.note) ? " is-allergy" : ""}` },
          (isAllergy(item.note) ? "⚠ " : "✎ ") + item.note)
      : null,
  );
}

function ticketCard(ticket) {
  const courses = new Set(ticket.items.map((i) => i.course));
  const anyHeld = ticket.items.some((i) => i.held && !i.voided);
  const showCourses = courses.size > 1 || anyHeld;
  const body = el("div", { class: "t-body" });
  let course = null;
  for (const item of ticket.items) {
    if (showCourses && item.course !== course) {
      course = item.course;
      const held = ticket.items.some((i) => i.course === course && i.held && !i.voided);
      body.append(
        el(
          "div",
          { class: `t-course${held ? " is-held" : ""}` },
          t("course_n", { n: course }),
          held ? el("span", { class: "hold" }, t("hold")) : null,
        ),
      );
    }
    body.append(itemRow(ticket, item));
  }
  const badges = el("div", { class: "t-badges" });
  if (ticket.kind === "void") badges.append(el("span", { class: "badge badge-void" }, t("void")));
  else if (ticket.addition) badges.append(el("span", { class: "badge badge-addition" }, t("addition")));
  if (ticket.rush) badges.append(el("span", { class: "badge badge-rush" }, t("rush")));
  if (ticket.kind !== "void") {
    badges.append(el("span", { class: "badge badge-state" }, t(`state_${ticket.state}`)));
  }
  const guests = ticket.guests ? (ticket.guests === 1 ? t("guest_1") : t("guests_n", { n: ticket.guests })) : null;
  const meta = [t("check_n", { n: ticket.number }), ticket.server, guests].filter(Boolean);
  const isNew = seen !== null && !seen.has(ticket.id);
  const card = el(
    "article",
    {
      class: `ticket${ticket.rush ? " is-rush" : ""}${isNew ? " is-new" : ""}`,
      dataset: {
        key: String(ticket.id),
        id: ticket.id,
        check: ticket.check,
        number: ticket.number,
        kind: ticket.kind,
        state: ticket.state,
        since: timerStart(ticket),
        timer: "ok",
      },
    },
    el(
      "button",
      {
        type: "button",
        class: "t-head",
        title: ticket.kind === "void" ? t("tap_ack") : t("bump"),
        onclick: () => (ticket.kind === "void" ? acknowledge(ticket) : bump(ticket)),
      },
      el(
        "span",
        { class: "t-row1" },
        el("span", { class: "t-pos" }),
        el("span", { class: "t-label" }, ticket.label),
        el("span", { class: "t-timer" }, formatElapsed(elapsedSeconds(timerStart(ticket)))),
      ),
      el("span", { class: "t-row2" }, meta.flatMap((part, i) => (i ? [el("span", { class: "sep" }, "·"), part] : [part]))),
      badges,
    ),
    body,
    ticket.kind === "void"
      ? el("button", { type: "button", class: "t-ack", onclick: () => acknowledge(ticket) }, t("tap_ack"))
      : null,
    el("footer", { class: "t-foot" }, ticket.also_at.length ? t("also_at", { stations: ticket.also_at.join(", ") }) : ""),
  );
  return card;
}

function renderAllDay() {
  const list = document.getElementById("allday-list");
  const rows = (withModifiers ? snapshot.all_day_modifiers : snapshot.all_day) || [];
  list.replaceChildren(
    ...(rows.length
      ? rows.map((row) => el("li", {}, el("span", { class: "n" }, row.count), el("span", {}, row.name)))
      : [el("li", { class: "empty" }, t("all_caught_up"))]),
  );
}

function renderBumped() {
  const list = document.getElementById("bumped-list");
  const rows = snapshot.recently_bumped || [];
  list.replaceChildren(
    ...(rows.length
      ? rows.map((ticket) =>
          el(
            "li",
            {},
            el(
              "div",
              { class: "what" },
              el("strong", {}, `${ticket.label} · ${t("check_n", { n: ticket.number })}`),
              el("span", {}, ticket.items.filter((i) => !i.voided).map((i) => `${i.quantity}× ${i.name}`).join(", ")),
            ),
            el("button", { type: "button", class: "btn", onclick: () => recall(ticket) }, t("recall")),
          ),
        )
      : [el("li", { class: "empty" }, t("none_bumped"))]),
  );
}

function render(next) {
  snapshot = next;
  warnAfter = next.station?.warn_after ?? warnAfter;
  lateAfter = next.station?.late_after ?? lateAfter;
  const fresh = seen !== null && next.tickets.some((tk) => !seen.has(tk.id));
  columns.replaceChildren(...next.tickets.map(ticketCard));
  document.getElementById("empty").hidden = next.tickets.length > 0;
  document.getElementById("open-count").textContent = t("open_n", { n: next.tickets.length });
  seen = new Set([...(seen || []), ...next.tickets.map((tk) => tk.id)]);
  renderAllDay();
  renderBumped();
  tickTimers();
  pager.layout();
  if (fresh) beep();
}

function tickTimers() {
  tickCardTimers(columns.querySelectorAll(".ticket"), {
    warnAfter,
    lateAfter,
    quiet: (card) => card.dataset.kind === "void" || card.dataset.state === "held" || card.dataset.state === "ready",
    badge: document.getElementById("late-count"),
  });
}

// --- actions ---------------------------------------------------------------------------------

async function post(path, body, key) {
  if (busy.has(key)) return null; // a double tap is one tap
  busy.add(key);
  try {
    const answer = await api(config.base + path, { method: "POST", body });
    if (answer?.snapshot) feed.applySnapshot(answer.snapshot);
    return answer;
  } catch (error) {
    if (error.status !== 401) showError(error);
    if (error.status === 404 || error.status === 409) feed.refresh();
    return null;
  } finally {
    busy.delete(key);
  }
}

async function bump(ticket) {
  const answer = await post(`tickets/${ticket.id}/bump`, undefined, `t${ticket.id}`);
  if (answer && answer.bumped) {
    toast(t("bumped", { label: answer.label }), { action: t("undo"), onAction: () => recall({ id: answer.ticket }) });
  }
}

async function start(ticket) {
  await post(`tickets/${ticket.id}/start`, undefined, `t${ticket.id}`);
}

async function acknowledge(ticket) {
  await post(`tickets/${ticket.id}/ack`, undefined, `t${ticket.id}`);
}

async function recall(ticket) {
  const answer = await post(`tickets/${ticket.id}/recall`, undefined, `r${ticket.id}`);
  if (answer) toast(t("recalled", { label: answer.label }), { ms: 2500 });
}

async function recallLast() {
  try {
    const answer = await api(`${config.base}recall`, { method: "POST" });
    feed.applySnapshot(answer.snapshot);
    toast(t("recalled", { label: answer.label }), { ms: 2500 });
  } catch (error) {
    if (error.code === E.nothing_to_recall) toast(t("nothing_to_recall"), { ms: 2000 });
    else if (error.status !== 401) showError(error);
  }
}

async function setItemStatus(item, status) {
  await post(`items/${item.id}/status`, { status }, `i${item.id}`);
}

function ticketFor(card) {
  return card && snapshot ? snapshot.tickets.find((tk) => String(tk.id) === card.dataset.key) : null;
}

// --- panels, keys, start ---------------------------------------------------------------------

function togglePanel(id, button, force) {
  const panel = document.getElementById(id);
  const open = force ?? panel.hidden;
  panel.hidden = !open;
  document.getElementById(button)?.setAttribute("aria-pressed", String(open));
  if (id === "allday") root.classList.toggle("allday-open", open);
  requestAnimationFrame(() => pager.layout());
}

document.getElementById("btn-allday").addEventListener("click", () => togglePanel("allday", "btn-allday"));
document.getElementById("btn-bumped").addEventListener("click", () => togglePanel("drawer", "btn-bumped"));
document.querySelector('[data-close="drawer"]').addEventListener("click", () => togglePanel("drawer", "btn-bumped", false));
document.getElementById("btn-recall").addEventListener("click", recallLast);
document.getElementById("btn-prev").addEventListener("click", () => pager.go(-1));
document.getElementById("btn-next").addEventListener("click", () => pager.go(1));
const modsBox = document.getElementById("allday-mods");
modsBox.checked = withModifiers;
modsBox.addEventListener("change", () => {
  withModifiers = modsBox.checked;
  localStorage.setItem(`kds-allday-mods:${config.station}`, withModifiers ? "1" : "0");
  if (snapshot) renderAllDay();
});
bindSoundButton();

bindKeys({
  select: (n) => pager.select(n),
  bump: () => {
    const ticket = ticketFor(pager.target());
    if (!ticket) return;
    pager.selected = null;
    if (ticket.kind === "void") acknowledge(ticket);
    else bump(ticket);
  },
  start: () => {
    const ticket = ticketFor(pager.target());
    if (ticket && ticket.kind !== "void") start(ticket);
  },
  recall: recallLast,
  next: () => pager.go(1),
  prev: () => pager.go(-1),
  allday: () => togglePanel("allday", "btn-allday"),
  bumped: () => togglePanel("drawer", "btn-bumped"),
  clear: () => {
    pager.selected = null;
    togglePanel("drawer", "btn-bumped", false);
  },
});

function showsCheck(checkId) {
  if (!snapshot) return true;
  return [...snapshot.tickets, ...(snapshot.recently_bumped || [])].some((tk) => tk.check === checkId);
}

const feed = new Feed({
  onSnapshot: render,
  // This station's tickets; another station's ticket of a check shown here ("also at"); a
  // change to a check shown here (its table, server, guests). Everything else is skipped.
  relevant: (event) =>
    (event.type.startsWith("ticket.") &&
      (event.data?.station === config.station || showsCheck(event.data?.check))) ||
    (event.type === "check.changed" && showsCheck(event.data?.check)),
});
startTicking(() => snapshot && tickTimers());
feed.start();
