// The floor plan: area tabs, tables drawn to scale with their status, opening checks.

import { get, post } from "./api.js";
import { E } from "../../js/errors.js";
import { nav, setFloor, state } from "./state.js";
import { $, frame, h, initials, modal, money, t, toast } from "./util.js";

const STATUSES = ["free", "seated", "ordered", "food_fired", "food_ready", "check_printed", "paying"];

export function initFloor() {
  $("#area-tabs").addEventListener("click", (event) => {
    const tab = event.target.closest("[data-area]");
    if (!tab) return;
    state.area = Number(tab.dataset.area);
    renderFloor();
  });
  $("#floor-canvas").addEventListener("click", (event) => {
    const el = event.target.closest("[data-table]");
    if (el) openTable(state.tables.get(Number(el.dataset.table)));
  });
  $("#floor-tabs-list").addEventListener("click", (event) => {
    const chip = event.target.closest("[data-check]");
    if (chip) nav.openCheck(Number(chip.dataset.check));
  });
  $("#btn-bar-tab").addEventListener("click", () => openNamedCheck("bar_tab"));
  $("#btn-takeaway").addEventListener("click", () => openNamedCheck("takeaway"));
  $("#btn-my-checks").addEventListener("click", () => checksList(true));
  $("#btn-all-checks").addEventListener("click", () => checksList(false));
  window.addEventListener("resize", () => {
    if (state.screen === "floor") renderFloor();
  });
}

export async function loadFloor() {
  const body = await get("floor");
  setFloor(body);
  return body;
}

let refreshTimer = null;
/** Refetch the floor soon (details an event does not carry: guests, server), coalesced. */
export function refreshFloorSoon(delay = 250) {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(async () => {
    try {
      const body = await get("floor");
      if (body.seq < state.seq) {
        refreshFloorSoon(); // older than events already applied: ask again
        return;
      }
      setFloor(body);
      if (state.screen === "floor") renderFloor();
    } catch (_e) {
      /* the next event or reconnect tries again */
    }
  }, delay);
}

/** Apply a check.changed event to the floor. Returns the table if it just became food ready. */
export function applyCheckChanged(data) {
  if (!data.table) {
    refreshFloorSoon(); // a bar tab or takeaway: the strip under the floor
    return null;
  }
  const table = state.tables.get(data.table);
  if (!table) return null;
  const before = table.status;
  if (table.check && data.version !== undefined && table.check.id === data.check && table.check.version > data.version) {
    return null; // older than what the floor shows
  }
  if (data.status !== "open") {
    if (table.check && table.check.id !== data.check) return null; // another (old) check
    table.status = "free";
    table.check = null;
  } else {
    table.status = data.floor_status || table.status;
    table.check = {
      ...(table.check && table.check.id === data.check ? table.check : {}),
      id: data.check,
      number: data.number,
      version: data.version,
      server: table.check && table.check.server && table.check.server.id === data.server ? table.check.server : { id: data.server },
    };
  }
  if (state.screen === "floor") renderTable(table);
  refreshFloorSoon();
  return table.status === "food_ready" && before !== "food_ready" ? table : null;
}

// --- rendering -------------------------------------------------------------------------------

export function renderFloor() {
  const floor = state.floor;
  if (!floor) return;
  renderTabs();
  const tabs = $("#area-tabs");
  tabs.replaceChildren(
    ...floor.areas.map((area) => {
      const busy = area.tables.filter((tb) => tb.check).length;
      return h(
        "button.area-tab",
        { type: "button", role: "tab", "aria-selected": String(area.id === state.area), dataset: { area: area.id } },
        area.name,
        busy ? h("span.count", {}, String(busy)) : null,
      );
    }),
  );
  const area = floor.areas.find((a) => a.id === state.area);
  const canvas = $("#floor-canvas");
  const wrap = $("#floor-wrap");
  if (!area) {
    canvas.replaceChildren();
    return;
  }
  const cols = Math.max(12, ...area.tables.map((tb) => tb.x + tb.width + 1));
  const rows = Math.max(8, ...area.tables.map((tb) => tb.y + tb.height + 1));
  const cell = Math.max(20, Math.floor(Math.min(wrap.clientWidth / cols, wrap.clientHeight / rows)));
  canvas.style.width = `${cols * cell}px`;
  canvas.style.height = `${rows * cell}px`;
  canvas.style.left = `${Math.max(0, Math.floor((wrap.clientWidth - cols * cell) / 2))}px`;
  canvas.style.top = `${Math.max(0, Math.floor((wrap.clientHeight - rows * cell) / 2))}px`;
  canvas.dataset.cell = String(cell);
  canvas.replaceChildren(...area.tables.map((tb) => tableElement(tb, cell)));
}

/** Open checks without a table (bar tabs, takeaway) as buttons under the floor plan. */
function renderTabs() {
  const tabs = (state.floor && state.floor.tabs) || [];
  $("#floor-tabs").hidden = !tabs.length;
  $("#floor-tabs-list").replaceChildren(
    ...tabs.map((c) =>
      h(
        "button.btn.tab-chip",
        { type: "button", class: `st-${c.floor_status || "seated"}`, dataset: { check: c.id } },
        h("span.num", {}, t("check_n", { n: c.number })),
        c.label,
        c.server ? h("span.t-server", {}, initials(c.server.name)) : null,
      ),
    ),
  );
}

function renderTable(table) {
  const old = document.querySelector(`#floor-canvas [data-table="${table.id}"]`);
  if (!old) return;
  old.replaceWith(tableElement(table, Number($("#floor-canvas").dataset.cell)));
  // the area tab's count of occupied tables
  const area = state.floor.areas.find((a) => a.id === table.area);
  const tab = document.querySelector(`#area-tabs [data-area="${table.area}"]`);
  if (area && tab) {
    const busy = area.tables.filter((tb) => tb.check).length;
    tab.replaceChildren(area.name, busy ? h("span.count", {}, String(busy)) : "");
  }
}

function tableElement(table, cell) {
  const gap = Math.max(4, Math.round(cell * 0.12));
  const width = table.width * cell - gap;
  const height = table.height * cell - gap;
  const status = STATUSES.includes(table.status) ? table.status : "free";
  const tab = table.check;
  const server = tab && tab.server ? tab.server.name || (state.me && tab.server.id === state.me.id ? state.me.name : "") : "";
  const small = Math.min(width, height) < 80;
  const meta = [];
  if (tab) {
    meta.push(t("check_n", { n: tab.number }));
    if (tab.guest_count) meta.push(t("guests_short", { n: tab.guest_count }));
  } else if (!small) {
    meta.push(t("seats_n", { n: table.seats }));
  }
  return h(
    "button.table",
    {
      type: "button",
      class: `shape-${table.shape} st-${status}${small ? " small" : ""}${tab && state.me && tab.server && tab.server.id === state.me.id ? " mine" : ""}`,
      dataset: { table: table.id, status },
      style: {
        left: `${table.x * cell + gap / 2}px`,
        top: `${table.y * cell + gap / 2}px`,
        width: `${width}px`,
        height: `${height}px`,
      },
      "aria-label": `${t("table_n", { name: table.name })}: ${t(status)}`,
    },
    server ? h("span.t-server", { title: server }, initials(server)) : null,
    h("span.t-name", {}, table.name),
    h("span.t-status", {}, t(status)),
    meta.length ? h("span.t-meta", {}, meta.join(" · ")) : null,
  );
}

// --- opening checks --------------------------------------------------------------------------

async function openTable(table) {
  if (!table) return;
  if (table.check) {
    nav.openCheck(table.check.id);
    return;
  }
  const guests = await guestsDialog(t("how_many_guests", { table: table.name }));
  if (!guests) return;
  try {
    const body = await post("checks", { kind: "table", table: table.id, guest_count: guests });
    nav.openCheck(body.check.id, body.check);
  } catch (error) {
    if (error.code === E.table_occupied) {
      // Another tablet opened it a moment ago: open that check instead.
      await loadFloor();
      const fresh = state.tables.get(table.id);
      if (fresh && fresh.check) {
        toast(error.message, "info");
        nav.openCheck(fresh.check.id);
        return;
      }
    }
    toast(error.message, "error");
  }
}

/** Ask how many guests: big 1-12 buttons (and more). Resolves the number or null. */
export function guestsDialog(title, current = null) {
  return modal((close) => {
    let custom = null;
    const buttons = [...Array(12)].map((_v, i) =>
      h(
        "button.btn",
        {
          type: "button",
          class: current === i + 1 ? "is-active" : "",
          dataset: { guests: i + 1 },
          onclick: () => close(i + 1),
        },
        String(i + 1),
      ),
    );
    const input = h("input.text-input", {
      type: "number",
      min: "1",
      max: "500",
      inputmode: "numeric",
      "aria-label": t("guests"),
      placeholder: "13+",
    });
    const more = h(
      "div.choice-row",
      { style: { "margin-top": "12px" } },
      input,
      h(
        "button.btn.btn-primary",
        {
          type: "button",
          onclick: () => {
            custom = parseInt(input.value, 10);
            if (custom >= 1) close(custom);
          },
        },
        t("ok"),
      ),
    );
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter") {
        custom = parseInt(input.value, 10);
        if (custom >= 1) close(custom);
      }
    });
    return frame({
      title,
      cls: "guests-dialog",
      body: [h("div.grid-buttons", {}, buttons), more],
      foot: [h("button.btn", { type: "button", onclick: () => close(null) }, t("cancel"))],
    });
  });
}

async function openNamedCheck(kind) {
  const name = await modal((close) => {
    const input = h("input.text-input", {
      type: "text",
      maxlength: "80",
      "data-autofocus": true,
      autocomplete: "off",
      "aria-label": kind === "bar_tab" ? t("name_on_tab") : t("name_optional"),
      placeholder: kind === "bar_tab" ? t("name_on_tab") : t("name_optional"),
    });
    const error = h("div.modal-error", { role: "alert" });
    const submit = () => {
      const value = input.value.trim();
      if (kind === "bar_tab" && !value) {
        error.textContent = t("name_on_tab");
        input.focus();
        return;
      }
      close({ value });
    };
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter") submit();
    });
    return frame({
      title: kind === "bar_tab" ? t("bar_tab") : t("takeaway"),
      body: [h("div.field", {}, h("label", {}, kind === "bar_tab" ? t("name_on_tab") : t("name_optional")), input)],
      foot: [
        error,
        h("button.btn", { type: "button", onclick: () => close(null) }, t("cancel")),
        h("button.btn.btn-primary", { type: "button", onclick: submit }, kind === "bar_tab" ? t("open_tab") : t("open_check")),
      ],
    });
  });
  if (!name) return;
  try {
    const body = await post("checks", { kind, tab_name: name.value });
    nav.openCheck(body.check.id, body.check);
  } catch (error) {
    toast(error.message, "error");
  }
}

/** "My checks" / "All open checks": a list to open any of them. */
export async function checksList(mine) {
  let body;
  try {
    body = await get(mine ? "checks?mine=1" : "checks");
  } catch (error) {
    toast(error.message, "error");
    return;
  }
  const checks = body.checks || [];
  const picked = await modal((close) =>
    frame({
      title: mine ? t("my_checks") : t("all_checks"),
      body: checks.length
        ? h(
            "ul.list.checks-list",
            {},
            checks.map((c) =>
              h(
                "li",
                {},
                h(
                  "button",
                  { type: "button", dataset: { check: c.id }, onclick: () => close(c.id) },
                  h("span.num", {}, t("check_n", { n: c.number })),
                  h(
                    "span.what",
                    {},
                    c.label,
                    h(
                      "small",
                      {},
                      [c.server ? c.server.name : "", c.guest_count ? t("guests_n", { n: c.guest_count }) : "", t(c.floor_status || "seated")]
                        .filter(Boolean)
                        .join(" · "),
                    ),
                  ),
                  h("span.amt", {}, money(c.total || 0)),
                ),
              ),
            ),
          )
        : h("p.lines-empty", {}, t("no_checks")),
      foot: [h("button.btn", { type: "button", onclick: () => close(null) }, t("close"))],
    }),
  );
  if (picked) nav.openCheck(picked);
}

