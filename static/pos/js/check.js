// The check screen: menu on the left, the check on the right, actions along the bottom.

import { api, get, post } from "./api.js";
import { E } from "../../js/errors.js";
import { can, itemByPlu, nav, state } from "./state.js";
import { openModifierDialog, defaultChoices } from "./modifiers.js";
import * as actions from "./actions.js";
import { $, $$, confirmDialog, delta, h, money, t, toast, uuid } from "./util.js";

/** What this user is doing on the check screen; kept across live re-renders. */
export const ui = {
  checkId: null,
  category: null,
  search: "",
  seat: 0,
  course: null, // null: each item's own default course
  extraSeats: 0,
  selected: null, // line id
  rush: new Set(), // ids of new lines to send as rush (fired at once whatever their course)
  mode86: false,
  inflight: 0, // writes on their way
  seenVersion: 0, // the newest version an event announced while a write was in flight
};

export function initCheck() {
  $("#item-search").addEventListener("input", (event) => {
    ui.search = event.target.value;
    renderItems();
  });
  $("#item-search").addEventListener("keydown", (event) => {
    if (event.key !== "Enter") return;
    event.preventDefault();
    const code = event.target.value.trim();
    const exact = itemByPlu(code);
    const found = exact ? [exact] : searchItems(code);
    if (found.length === 1) {
      event.target.value = "";
      ui.search = "";
      renderItems();
      addItem(found[0], { fromScan: Boolean(exact) });
    }
  });
  $("#categories").addEventListener("click", (event) => {
    const button = event.target.closest("[data-category]");
    if (!button) return;
    ui.category = Number(button.dataset.category);
    ui.search = "";
    $("#item-search").value = "";
    renderMenu();
  });
  const items = $("#items");
  items.addEventListener("click", (event) => {
    const button = event.target.closest("[data-item]");
    if (!button) return;
    if (longPressed) {
      longPressed = false;
      return;
    }
    const item = state.items.get(Number(button.dataset.item));
    if (!item) return;
    if (ui.mode86) toggle86(item, false);
    else addItem(item);
  });
  items.addEventListener("pointerdown", (event) => {
    const button = event.target.closest("[data-item]");
    if (!button || !can("item.86")) return;
    clearTimeout(pressTimer);
    longPressed = false;
    pressTimer = setTimeout(() => {
      longPressed = true;
      const item = state.items.get(Number(button.dataset.item));
      if (item) toggle86(item, true);
    }, 650);
  });
  for (const type of ["pointerup", "pointerleave", "pointercancel", "scroll"]) {
    items.addEventListener(type, () => clearTimeout(pressTimer), { passive: true });
  }
  items.addEventListener("contextmenu", (event) => event.preventDefault());
  $("#btn-86-mode").addEventListener("click", () => {
    ui.mode86 = !ui.mode86;
    if (ui.mode86) toast(t("mode_86_hint"), "info");
    renderMenu();
  });
  $("#seat-select").addEventListener("click", (event) => {
    const button = event.target.closest("[data-seat]");
    if (!button) return;
    if (button.dataset.seat === "+") {
      ui.extraSeats += 1;
      ui.seat = seatCount();
    } else {
      ui.seat = Number(button.dataset.seat);
    }
    renderSelectors();
  });
  $("#course-select").addEventListener("click", (event) => {
    const button = event.target.closest("[data-course]");
    if (!button) return;
    ui.course = button.dataset.course === "auto" ? null : Number(button.dataset.course);
    renderSelectors();
  });
  $("#lines").addEventListener("click", (event) => {
    const row = event.target.closest("[data-line]");
    if (!row) return;
    const id = Number(row.dataset.line);
    ui.selected = ui.selected === id ? null : id;
    $$("#lines [data-line]").forEach((el) => el.classList.toggle("selected", Number(el.dataset.line) === ui.selected));
    renderActions();
  });
  $("#check-actions").addEventListener("click", async (event) => {
    const button = event.target.closest("[data-action]");
    if (!button || button.disabled || button.dataset.busy) return;
    button.dataset.busy = "1"; // a double tap is one action
    try {
      await runAction(button.dataset.action, button);
    } finally {
      delete button.dataset.busy;
    }
  });
}

let pressTimer = null;
let longPressed = false;

// --- loading and live updates ----------------------------------------------------------------

export async function openCheck(id, body = null) {
  if (ui.checkId !== id) {
    Object.assign(ui, { checkId: id, seat: 0, course: null, extraSeats: 0, selected: null, search: "", seenVersion: 0 });
    ui.rush.clear();
    $("#item-search").value = "";
  }
  if (body) setCheck(body);
  else {
    try {
      setCheck(await get(`checks/${id}`));
    } catch (error) {
      toast(error.message, "error");
      nav.showFloor();
      return false;
    }
  }
  return true;
}

export function setCheck(body, { changedSince = null } = {}) {
  if (!body || body.id !== ui.checkId) return;
  if (state.check && state.check.id === body.id && body.version < state.check.version) return; // older
  state.check = body;
  if (body.status !== "open") {
    toast(t("check_closed", { n: body.number, label: body.label }), "info");
    nav.showFloor();
    return;
  }
  if (state.screen === "check") renderCheck({ changedSince, menu: false });
}

/** Refetch the check (another tablet changed it, or ours was refused as stale). */
export async function reloadCheck({ notice = false } = {}) {
  if (!ui.checkId) return;
  const before = state.check ? state.check.version : 0;
  try {
    const body = await get(`checks/${ui.checkId}`);
    setCheck(body, { changedSince: notice ? before : null });
    if (notice && body.version > before) toast(t("updated_elsewhere"), "info", 2500);
  } catch (error) {
    if (error.status === 404) nav.showFloor();
  }
}

/** A check.changed event: refetch when it is about this check and newer than what we show. */
export function onCheckChanged(data) {
  if (!state.check || data.check !== state.check.id || state.screen !== "check") return;
  if (data.version <= state.check.version) return; // our own write, already shown
  if (ui.inflight) {
    ui.seenVersion = Math.max(ui.seenVersion, data.version);
    return;
  }
  reloadCheck({ notice: true });
}

export function onItemAvailability(data) {
  const item = state.items.get(data.item);
  if (!item) return;
  item.available = data.available && data.stock_count !== 0;
  item.stock_count = data.stock_count;
  if (state.screen === "check") renderItems();
}

export function onModifierAvailability(data) {
  for (const item of state.items.values()) {
    walkGroups(item.modifier_groups || [], (mod) => {
      if (mod.id === data.modifier) mod.available = data.available;
    });
  }
}

function walkGroups(groups, fn) {
  for (const group of groups) {
    for (const mod of group.modifiers || []) {
      fn(mod, group);
      if (mod.group) walkGroups([mod.group], fn);
    }
  }
}

/**
 * A write to this check: sends the version we show, re-renders from the answer, and deals
 * with the answers every write may get (stale version, already voided, check closed).
 * With {inDialog: true} errors are thrown to the dialog to show; otherwise they are toasts.
 */
export async function write(method, path, body = {}, { inDialog = false, key = null } = {}) {
  const tab = state.check;
  ui.inflight += 1;
  try {
    const result = await api(method, `checks/${tab.id}/${path}`, { ...body, version: tab.version }, { key: key || uuid() });
    if (result && result.check) {
      if (result.check.id !== ui.checkId) {
        // a merge into the other check: follow the lines
        nav.openCheck(result.check.id, result.check);
      } else setCheck(result.check);
    }
    return result;
  } catch (error) {
    if ([E.stale_version, E.already_voided, E.line_voided, E.check_not_open, E.not_found].includes(error.code)) {
      reloadCheck();
    }
    if (inDialog) throw error;
    toast(error.code === E.stale_version ? `${error.message}` : error.message, "error", 5000);
    return null;
  } finally {
    ui.inflight -= 1;
    if (!ui.inflight && state.check && ui.seenVersion > state.check.version) {
      ui.seenVersion = 0;
      reloadCheck({ notice: true });
    }
  }
}

// --- adding items ----------------------------------------------------------------------------

function nextCourse(item) {
  return ui.course ?? item.default_course ?? 1;
}

export async function addItem(item, { fromScan = false } = {}) {
  if (!state.check) return;
  if (!item.available) {
    toast(`${item.name}: ${t("item_86")}`, "error");
    return;
  }
  const groups = item.modifier_groups || [];
  const needsDialog = groups.length && (!fromScan || groups.some((g) => g.min > 0));
  if (needsDialog) {
    await openModifierDialog(item, {
      seat: ui.seat,
      course: nextCourse(item),
      seats: seatCount(),
      submit: (line) => addLine(item, line, true),
    });
    return;
  }
  await addLine(item, {
    quantity: 1,
    seat: ui.seat,
    course: nextCourse(item),
    note: "",
    modifiers: defaultChoices(groups),
  });
}

/** Add a line; resolves the added line, or throws (in the dialog) / toasts (tapped). */
async function addLine(item, line, inDialog = false) {
  const result = await write("POST", "lines", { item: item.id, ...line }, { inDialog });
  if (result && result.line) {
    const el = document.querySelector(`#lines [data-line="${result.line.id}"]`);
    if (el) {
      el.classList.add("flash");
      el.scrollIntoView({ block: "nearest" });
    }
  }
  return result;
}

export function scan(code) {
  if (!state.check || state.screen !== "check") return;
  const item = itemByPlu(code);
  if (!item) {
    toast(t("not_found_plu", { plu: code }), "error");
    return;
  }
  addItem(item, { fromScan: true });
}

async function toggle86(item, ask) {
  if (!can("item.86")) return;
  const available = !item.available;
  if (ask) {
    const yes = await confirmDialog(
      available ? t("confirm_un86", { item: item.name }) : t("confirm_86", { item: item.name }),
      available ? t("do_un86") : t("do_86"),
      { danger: !available },
    );
    if (!yes) return;
  }
  try {
    const body = await post(`items/${item.id}/availability`, { available });
    item.available = body.item.available && body.item.stock_count !== 0;
    item.stock_count = body.item.stock_count;
    renderItems();
    toast(item.available ? t("item_un86_done", { item: item.name }) : t("item_86_done", { item: item.name }), "ok");
  } catch (error) {
    toast(error.message, "error", 5000);
  }
}

// --- rendering -------------------------------------------------------------------------------

export function renderCheck({ changedSince = null, menu = true } = {}) {
  const tab = state.check;
  if (!tab) return;
  $("#tb-title").textContent = `${tab.label} · ${t("check_n", { n: tab.number })}`;
  renderHead();
  if (menu) renderMenu(); // not on a check update: keeps the menu's scroll and a long-press
  renderSelectors();
  renderLines(changedSince);
  renderTotals();
  renderActions();
}

function renderHead() {
  const tab = state.check;
  const meta = [];
  if (tab.guest_count) meta.push(tab.guest_count === 1 ? t("guest_1") : t("guests_n", { n: tab.guest_count }));
  if (tab.server) meta.push(tab.server.name);
  $("#check-head").replaceChildren(
    h("div.ch-title", {}, h("span", {}, tab.label), h("span", {}, t("check_n", { n: tab.number }))),
    h("div.ch-meta", {}, meta.join(" · ")),
  );
}

function allCategories() {
  const result = [];
  for (const menu of state.menus) for (const category of menu.categories || []) result.push({ menu, category });
  return result;
}

function renderMenu() {
  const cats = allCategories();
  if (!cats.some((c) => c.category.id === ui.category)) ui.category = cats.length ? cats[0].category.id : null;
  const nodes = [];
  let lastMenu = null;
  for (const { menu, category } of cats) {
    if (state.menus.length > 1 && menu !== lastMenu) {
      nodes.push(h("span.cat-menu", {}, menu.name));
      lastMenu = menu;
    }
    nodes.push(
      h(
        "button.cat",
        {
          type: "button",
          role: "tab",
          "aria-selected": String(category.id === ui.category && !ui.search),
          dataset: { category: category.id },
          style: category.color ? { "--cat": category.color } : null,
        },
        category.name,
      ),
    );
  }
  $("#categories").replaceChildren(...nodes);
  const mode = $("#btn-86-mode");
  mode.hidden = !can("item.86");
  mode.setAttribute("aria-pressed", String(ui.mode86));
  renderItems();
}

function fold(text) {
  return String(text || "")
    .normalize("NFD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase();
}

function searchItems(query) {
  const q = fold(query.trim());
  if (!q) return [];
  return [...state.items.values()].filter((item) => fold(item.name).includes(q) || fold(item.plu).startsWith(q));
}

function renderItems() {
  const box = $("#items");
  box.classList.toggle("mode-86", ui.mode86);
  let items;
  if (ui.search.trim()) items = searchItems(ui.search);
  else {
    const found = allCategories().find((c) => c.category.id === ui.category);
    items = found ? found.category.items || [] : [];
  }
  $$("#categories .cat").forEach((el) =>
    el.setAttribute("aria-selected", String(Number(el.dataset.category) === ui.category && !ui.search.trim())),
  );
  if (!items.length) {
    box.replaceChildren(h("div.items-empty", {}, t("no_results")));
    return;
  }
  box.replaceChildren(...items.map(itemButton));
}

function itemButton(item) {
  const off = !item.available;
  const color = item.category && item.category.color;
  const stock = item.stock_count;
  return h(
    "button.item",
    {
      type: "button",
      role: "listitem",
      class: `${off ? "is-86" : ""}${(item.modifier_groups || []).length ? " has-mods" : ""}`,
      "aria-disabled": off && !ui.mode86 ? "true" : null,
      dataset: { item: item.id, plu: item.plu },
      style: color ? { "--cat": color } : null,
      title: item.description || item.name,
    },
    h("span.i-name", {}, item.name),
    off ? h("span.i-86", {}, t("item_86")) : (item.modifier_groups || []).length ? h("span.i-mods", { "aria-hidden": "true" }, "⋯") : null,
    h(
      "span.i-foot",
      {},
      h("span.i-price", {}, money(item.price)),
      stock !== null && stock !== undefined ? h("span.i-stock", {}, t("n_left", { n: stock })) : h("span.i-plu", {}, item.plu),
    ),
  );
}

export function seatCount() {
  const tab = state.check;
  const used = Math.max(0, ...(tab ? tab.lines.map((l) => l.seat) : [0]));
  return Math.max(tab ? tab.guest_count : 0, used, 1) + ui.extraSeats;
}

function renderSelectors() {
  const seats = seatCount();
  if (ui.seat > seats) ui.seat = 0;
  const seatButtons = [h("button", { type: "button", "aria-pressed": String(ui.seat === 0), dataset: { seat: 0 } }, t("shared"))];
  for (let s = 1; s <= seats; s += 1) {
    seatButtons.push(
      h("button", { type: "button", "aria-pressed": String(ui.seat === s), dataset: { seat: s }, "aria-label": t("seat_n", { n: s }) }, String(s)),
    );
  }
  seatButtons.push(h("button", { type: "button", dataset: { seat: "+" }, "aria-label": "+" }, "+"));
  $("#seat-select").replaceChildren(...seatButtons);
  const maxCourse = Math.max(3, ...(state.check ? state.check.lines.map((l) => l.course) : [1]));
  const courseButtons = [
    h("button", { type: "button", "aria-pressed": String(ui.course === null), dataset: { course: "auto" } }, t("auto")),
  ];
  for (let c = 1; c <= maxCourse; c += 1) {
    courseButtons.push(
      h("button", { type: "button", "aria-pressed": String(ui.course === c), dataset: { course: c }, "aria-label": t("course_n", { n: c }) }, String(c)),
    );
  }
  $("#course-select").replaceChildren(...courseButtons);
}

/** new, held, sent, fired, ready, served or voided: what the server sees in the kitchen. */
export function lineState(line) {
  if (line.status === "voided") return "voided";
  if (line.status === "new") return "new";
  if (line.served_at) return "served";
  if (line.ready_at) return "ready";
  if (!line.fired_at) return "held";
  if (line.sent_at && Date.parse(line.fired_at) > Date.parse(line.sent_at)) return "fired";
  return "sent";
}

function modifierList(mods) {
  if (!mods || !mods.length) return null;
  return h(
    "ul",
    {},
    mods.map((m) => {
      const price = m.charged; // the server's: price_delta x the units not given free
      return h(
        "li",
        {},
        m.quantity > 1 ? `${m.quantity}× ` : "",
        m.name,
        m.price_delta && m.free_quantity >= m.quantity ? h("span.m-price", {}, ` (${t("free_tag")})`) : null,
        price ? h("span.m-price", {}, ` ${delta(price)}`) : null,
        modifierList(m.modifiers),
      );
    }),
  );
}

function adjustmentText(adj) {
  const what = adj.kind === "comp" ? t("comp") : t("discount");
  const how = adj.percent && adj.kind !== "comp" ? ` ${adj.percent}%` : adj.amount ? ` ${money(adj.amount)}` : "";
  return `${what}${how} — ${adj.reason}`;
}

function lineElement(line, changedSince) {
  const st = lineState(line);
  const flash = changedSince !== null && line.changed_version > changedSince;
  return h(
    "div.line",
    {
      class: `${st === "voided" ? "voided" : ""}${line.id === ui.selected ? " selected" : ""}${flash ? " flash" : ""}`,
      dataset: { line: line.id, state: st },
      role: "button",
      tabindex: "0",
      "aria-pressed": String(line.id === ui.selected),
    },
    h("div.l-name", {}, line.quantity > 1 ? h("span.l-qty", {}, `${line.quantity}× `) : null, line.name),
    h("div.l-price", {}, money(st === "voided" ? line.voided_total : line.total)),
    line.modifiers && line.modifiers.length ? h("div.l-mods", {}, modifierList(line.modifiers)) : null,
    line.note ? h("div.l-note", {}, `“${line.note}”`) : null,
    (line.adjustments || []).map((a) => h("div.l-adj", {}, adjustmentText(a))),
    line.discount && st !== "voided" && (line.adjustments || []).length ? h("div.l-adj", {}, `−${money(line.discount)} → ${money(line.total_after_discounts)}`) : null,
    st === "voided" && line.void_reason ? h("div.l-void-reason", {}, line.void_reason) : null,
    h(
      "div.l-status",
      {},
      h("span.chip", { class: `chip-${st}` }, t(`status_${st}`)),
      line.rush ? h("span.chip.chip-fired", {}, t("rush")) : st === "new" && ui.rush.has(line.id) ? h("span.chip.chip-rush", {}, t("rush")) : null,
    ),
  );
}

function renderLines(changedSince) {
  const tab = state.check;
  const box = $("#lines");
  const scroll = box.scrollTop;
  if (ui.selected && !tab.lines.some((l) => l.id === ui.selected)) ui.selected = null;
  for (const id of ui.rush) if (!tab.lines.some((l) => l.id === id && l.status === "new")) ui.rush.delete(id);
  if (!tab.lines.length) {
    box.replaceChildren(h("p.lines-empty", {}, t("empty_check")));
    return;
  }
  const courses = [...new Set(tab.lines.map((l) => l.course))].sort((a, b) => a - b);
  const nodes = [];
  for (const course of courses) {
    const inCourse = tab.lines.filter((l) => l.course === course);
    const live = inCourse.filter((l) => l.status !== "voided");
    const held = live.some((l) => lineState(l) === "held");
    const fired = !held && course > 1 && (tab.fired_courses || []).includes(course);
    nodes.push(
      h(
        "div.course-head",
        { dataset: { course } },
        h("span", {}, t("course_n", { n: course })),
        held ? h("span.course-state.held", {}, t("held")) : fired ? h("span.course-state.fired", {}, t("fired")) : null,
      ),
    );
    const seats = [...new Set(inCourse.map((l) => l.seat))].sort((a, b) => a - b);
    for (const seat of seats) {
      nodes.push(h("div.seat-head", {}, seat === 0 ? t("shared") : t("seat_n", { n: seat })));
      for (const line of inCourse.filter((l) => l.seat === seat)) nodes.push(lineElement(line, changedSince));
    }
  }
  box.replaceChildren(...nodes);
  box.scrollTop = scroll;
}

function renderTotals() {
  const totals = state.check.totals || {};
  const rows = [];
  if (totals.discount) {
    rows.push(h("div.row", {}, h("span", {}, t("subtotal")), h("span", {}, money(totals.before_discounts))));
    rows.push(h("div.row", {}, h("span", {}, t("discounts")), h("span", {}, `−${money(totals.discount)}`)));
  }
  if (!totals.prices_include_tax) rows.push(h("div.row", {}, h("span", {}, t("subtotal")), h("span", {}, money(totals.subtotal))));
  for (const tax of totals.taxes || []) {
    rows.push(
      h(
        "div.row.vat",
        { dataset: { rate: tax.rate } },
        h("span", {}, totals.prices_include_tax ? t("vat_incl", { rate: tax.rate }) : t("vat_excl", { rate: tax.rate })),
        h("span", {}, money(tax.tax)),
      ),
    );
  }
  rows.push(h("div.row.total", {}, h("span", {}, t("total")), h("span", { id: "check-total" }, money(totals.total))));
  $("#totals").replaceChildren(...rows);
}

/** Courses with lines still waiting to be fired (held in the kitchen, or not sent yet). */
export function fireableCourses() {
  const tab = state.check;
  const courses = new Set();
  for (const line of tab.lines) {
    if (line.status === "voided" || line.fired_at) continue;
    if (line.status === "sent" || line.course > 1) courses.add(line.course);
  }
  return [...courses].sort((a, b) => a - b);
}

function renderActions() {
  const tab = state.check;
  const selected = tab.lines.find((l) => l.id === ui.selected) || null;
  const hasNew = tab.lines.some((l) => l.status === "new");
  $("#fire-buttons").replaceChildren(
    ...fireableCourses().map((course) =>
      h("button.btn.btn-fire", { type: "button", dataset: { action: "fire", course } }, t("fire_course", { n: course })),
    ),
  );
  $$("#check-actions [data-action]").forEach((button) => {
    if (button.hasAttribute("data-needs-line")) button.disabled = !selected || selected.status === "voided";
    if (button.hasAttribute("data-needs-new-line")) button.disabled = !selected || selected.status !== "new";
  });
  const rush = $('#check-actions [data-action="rush"]');
  if (rush) rush.setAttribute("aria-pressed", String(Boolean(selected && selected.status === "new" && ui.rush.has(selected.id))));
  const send = $('#check-actions [data-action="send"]');
  send.classList.toggle("btn-primary", hasNew);
  const payButton = $('#check-actions [data-action="pay"]');
  if (payButton) payButton.hidden = !can("payment.take");
}

function selectedLine() {
  return state.check.lines.find((l) => l.id === ui.selected) || null;
}

async function runAction(action, button) {
  const tab = state.check;
  if (!tab) return;
  switch (action) {
    case "send": {
      const rushIds = tab.lines.filter((l) => l.status === "new" && ui.rush.has(l.id)).map((l) => l.id);
      const result = await write("POST", "send", rushIds.length ? { rush_ids: rushIds } : {});
      if (result) {
        ui.rush.clear();
        if (state.screen === "check") renderCheck({ menu: false });
        const n = (result.sent || []).length;
        const r = rushIds.filter((id) => (result.sent || []).includes(id)).length;
        toast(n ? (r ? t("sent_n_rush", { n, r }) : t("sent_n", { n })) : t("nothing_to_send"), n ? "ok" : "info");
      }
      break;
    }
    case "rush": {
      const line = selectedLine();
      if (!line || line.status !== "new") break;
      if (ui.rush.has(line.id)) ui.rush.delete(line.id);
      else ui.rush.add(line.id);
      renderLines(null);
      renderActions();
      break;
    }
    case "fire": {
      const course = Number(button.dataset.course);
      const result = await write("POST", "fire", { course });
      if (result) toast(t("fired_course", { n: course }), "ok");
      break;
    }
    case "prebill": {
      const result = await write("POST", "prebill", {});
      if (result) toast(t("check_printed_toast"), "ok");
      break;
    }
    case "void": {
      const line = selectedLine();
      if (!line) toast(t("select_line_first"), "info");
      else await actions.voidDialog(line);
      break;
    }
    case "adjust":
      await actions.adjustDialog(selectedLine());
      break;
    case "move-seat": {
      const line = selectedLine();
      if (!line) toast(t("select_line_first"), "info");
      else await actions.moveSeatDialog(line);
      break;
    }
    case "transfer":
      await actions.transferDialog(selectedLine());
      break;
    case "merge":
      await actions.mergeDialog();
      break;
    case "guests":
      await actions.guestsAction();
      break;
    case "pay":
      await nav.openPay(tab.id);
      break;
    default:
      break;
  }
}
