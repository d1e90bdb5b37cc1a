// The Drawer screen: each cash drawer and its open session. A manager opens a drawer with the
// counted float, pays cash in or out (with the reason) and closes it by counting the notes and
// coins; the variance (counted − expected) is shown with who closed it. Others see the status.
// Amounts are whole minor units: typed on the till keypad, counted as value × how many.

import { get, post } from "./api.js";
import { state } from "./state.js";
import { $, amountPad, clock, frame, h, modal, money, t, toast, uuid } from "./util.js";

export const drawerUi = {
  drawers: [], // GET drawers
  mayManage: false,
  closed: new Map(), // drawer id -> the session this tablet just closed (its count and variance)
};

// Euro notes and coins, in cents, as a drawer holds them.
const NOTES = [10000, 5000, 2000, 1000, 500];
const COINS = [200, 100, 50, 20, 10, 5];
const PAY_REASONS = ["reason_change_run", "reason_supplier", "reason_tips_out"];

export function initDrawer() {
  $("#drawer-list").addEventListener("click", async (event) => {
    const button = event.target.closest("[data-drawer-action]");
    if (!button || button.disabled || button.dataset.busy) return;
    const drawer = drawerUi.drawers.find((d) => d.id === Number(button.dataset.drawerId));
    if (!drawer) return;
    button.dataset.busy = "1";
    try {
      const action = button.dataset.drawerAction;
      if (action === "open") await openDrawerDialog(drawer);
      else if (action === "move") await movementDialog(drawer);
      else if (action === "close") await closeDrawerDialog(drawer);
    } finally {
      delete button.dataset.busy;
    }
  });
  $("#drawer-refresh").addEventListener("click", () => showDrawers());
}

export async function loadDrawers() {
  const body = await get("drawers");
  drawerUi.drawers = body.drawers || [];
  drawerUi.mayManage = Boolean(body.may_manage);
  return body;
}

export async function showDrawers() {
  try {
    await loadDrawers();
  } catch (error) {
    toast(error.message, "error");
  }
  renderDrawers();
}

export function renderDrawers() {
  if (state.screen !== "drawer") return;
  $("#tb-title").textContent = t("drawers");
  $("#drawer-note").hidden = drawerUi.mayManage;
  const box = $("#drawer-list");
  if (!drawerUi.drawers.length) {
    box.replaceChildren(h("p.lines-empty", {}, t("no_drawers")));
    return;
  }
  box.replaceChildren(...drawerUi.drawers.map(drawerCard));
}

function signed(amount) {
  return amount < 0 ? `−${money(-amount)}` : money(amount);
}

function drawerCard(drawer) {
  const session = drawer.session;
  const closed = drawerUi.closed.get(drawer.id);
  const action = (name, label, cls = "") =>
    h("button.btn.btn-xl", { type: "button", class: cls, dataset: { drawerAction: name, drawerId: drawer.id } }, label);
  return h(
    "section.drawer-card",
    { dataset: { drawer: drawer.id, state: session ? "open" : "closed" } },
    h(
      "div.dc-head",
      {},
      h("h2", {}, drawer.name),
      h("span.chip", { class: session ? "chip-open" : "chip-closed" }, session ? t("drawer_is_open") : t("drawer_is_closed")),
    ),
    session
      ? h("p.dc-meta", {}, t("opened_by", { time: clock(session.opened_at), name: session.opened_by ? session.opened_by.name : "?" }))
      : null,
    session && session.report ? report(session) : null,
    session && !session.report ? h("p.dc-meta", {}, t("drawer_managers_only")) : null,
    !session && closed ? closeResult(closed) : null,
    drawerUi.mayManage
      ? h(
          "div.dc-actions",
          {},
          session
            ? [action("move", t("pay_in_out")), action("close", t("close_drawer"), "btn-danger")]
            : action("open", t("open_drawer"), "btn-primary"),
        )
      : null,
  );
}

function report(session) {
  const r = session.report;
  const row = (key, label, value) => h("div.dr-row", { dataset: { row: key } }, h("dt", {}, label), h("dd", {}, value));
  return h(
    "dl.dc-report",
    {},
    row("float", t("drawer_float"), money(r.float)),
    row("cash_sales", t("drawer_cash_sales"), money(r.cash_sales)),
    row("cash_tips", t("drawer_tips"), money(r.cash_tips)),
    row("rounding", t("rounding"), signed(r.rounding)),
    row("pay_in", t("pay_in"), money(r.pay_in)),
    row("pay_out", t("pay_out"), r.pay_out ? `−${money(r.pay_out)}` : money(0)),
    row("payments", t("cash_payments"), String(r.payments)),
    h("div.dr-row.expected", { dataset: { row: "expected" } }, h("dt", {}, t("expected_now")), h("dd", {}, money(r.expected))),
  );
}

/** Expected, counted, and the variance in words and colour: short (red), over (green). */
function closeResult(session) {
  const variance = session.variance || 0;
  const word =
    variance < 0 ? t("variance_short", { amount: money(-variance) }) : variance > 0 ? t("variance_over", { amount: money(variance) }) : t("variance_exact");
  return h(
    "div.close-result",
    { class: variance < 0 ? "short" : variance > 0 ? "over" : "exact" },
    h("div.dr-row", {}, h("span", {}, t("expected")), h("b", { dataset: { value: "expected" } }, money(session.expected))),
    h("div.dr-row", {}, h("span", {}, t("counted")), h("b", { dataset: { value: "counted" } }, money(session.counted))),
    h("div.variance", { dataset: { variance } }, word),
    h(
      "p.dc-meta",
      {},
      t("closed_by", { time: clock(session.closed_at), name: session.closed_by ? session.closed_by.name : "?" }),
    ),
  );
}

// --- dialogs ---------------------------------------------------------------------------------

/**
 * Open a drawer with the counted float (keypad in the currency: 1 5 0 0 0 -> €150.00). Without
 * a drawer, the closed one (asked when several are). Resolves true when it opened.
 */
export async function openDrawerDialog(drawer = null) {
  if (!drawer) {
    try {
      await loadDrawers();
    } catch (error) {
      toast(error.message, "error");
      return false;
    }
    const closed = drawerUi.drawers.filter((d) => !d.session);
    if (!closed.length) {
      toast(t("all_drawers_open"), "info");
      return true;
    }
    drawer =
      closed.length === 1
        ? closed[0]
        : await modal((close) =>
            frame({
              title: t("open_drawer"),
              body: h(
                "div.choice-row",
                {},
                closed.map((d) => h("button.btn.btn-xl", { type: "button", dataset: { drawer: d.id }, onclick: () => close(d) }, d.name)),
              ),
              foot: [h("button.btn", { type: "button", onclick: () => close(null) }, t("cancel"))],
            }),
          );
    if (!drawer) return false;
  }
  const key = uuid();
  return modal(
    (close) => {
      const error = h("div.modal-error", { role: "alert" });
      const pad = amountPad({ label: t("drawer_float"), id: "float-pad" });
      const submit = h("button.btn.btn-primary.btn-xl", { type: "button", id: "drawer-open-confirm" }, t("open_drawer"));
      submit.addEventListener("click", async () => {
        submit.disabled = true;
        error.textContent = "";
        try {
          await post(`drawers/${drawer.id}/open`, { opening_float: pad.value() }, { key });
          toast(t("drawer_opened", { drawer: drawer.name, amount: money(pad.value()) }), "ok");
          close(true);
        } catch (e) {
          error.textContent = e.message;
          submit.disabled = false;
        }
      });
      return frame({
        title: t("open_drawer_named", { drawer: drawer.name }),
        cls: "drawer-dialog",
        body: [h("p.notice", {}, t("float_hint")), pad.el],
        foot: [error, h("button.btn.btn-xl", { type: "button", onclick: () => close(false) }, t("cancel")), submit],
      });
    },
    { dismissable: false },
  ).then(async (opened) => {
    if (opened) await showDrawers();
    return Boolean(opened);
  });
}

function movementDialog(drawer) {
  const session = drawer.session;
  const key = uuid();
  return modal(
    (close) => {
      let kind = "pay_in";
      let reasonKey = "";
      const error = h("div.modal-error", { role: "alert" });
      const submit = h("button.btn.btn-primary.btn-xl", { type: "button", id: "movement-confirm" }, t("pay_in"));
      const pad = amountPad({ label: t("amount"), id: "movement-pad", onChange: () => update() });
      const reason = h("input.text-input", { type: "text", maxlength: "200", id: "movement-reason", placeholder: t("reason_other"), "aria-label": t("reason") });
      const kinds = h(
        "div.choice-row",
        {},
        ["pay_in", "pay_out"].map((k) =>
          h(
            "button.btn.btn-xl",
            {
              type: "button",
              "aria-pressed": String(k === kind),
              dataset: { kind: k },
              onclick: (event) => {
                kind = k;
                for (const b of kinds.children) b.setAttribute("aria-pressed", String(b === event.currentTarget));
                update();
              },
            },
            t(k),
          ),
        ),
      );
      const reasons = h(
        "div.choice-row",
        {},
        PAY_REASONS.map((k) =>
          h(
            "button.btn",
            {
              type: "button",
              "aria-pressed": "false",
              dataset: { reason: k },
              onclick: (event) => {
                reasonKey = k;
                reason.value = "";
                for (const b of reasons.children) b.setAttribute("aria-pressed", String(b === event.currentTarget));
                update();
              },
            },
            t(k),
          ),
        ),
      );
      reason.addEventListener("input", () => {
        if (reason.value.trim()) {
          reasonKey = "";
          for (const b of reasons.children) b.setAttribute("aria-pressed", "false");
        }
        update();
      });
      const reasonText = () => reason.value.trim() || (reasonKey ? t(reasonKey) : "");
      function update() {
        submit.textContent = kind === "pay_in" ? t("pay_in") : t("pay_out");
        submit.disabled = !(pad.value() > 0) || !reasonText();
      }
      submit.addEventListener("click", async () => {
        if (submit.disabled) return;
        submit.disabled = true;
        error.textContent = "";
        try {
          await post(`drawer-sessions/${session.id}/movements`, { kind, amount: pad.value(), reason: reasonText() }, { key });
          toast(t(kind === "pay_in" ? "paid_in_toast" : "paid_out_toast", { amount: money(pad.value()) }), "ok");
          close(true);
        } catch (e) {
          error.textContent = e.message;
          update();
        }
      });
      update();
      return frame({
        title: t("pay_in_out"),
        sub: drawer.name,
        wide: true,
        cls: "drawer-dialog movement-dialog",
        body: h(
          "div.two-col",
          {},
          h("div", {}, h("div.field", {}, kinds), h("div.field", {}, h("span.field-label", {}, t("reason")), reasons, reason)),
          pad.el,
        ),
        foot: [error, h("button.btn.btn-xl", { type: "button", onclick: () => close(false) }, t("cancel")), submit],
      });
    },
    { dismissable: false },
  ).then(async (done) => {
    if (done) await showDrawers();
  });
}

/** Count the drawer by denomination (+/− or typed), then close it and show the variance. */
function closeDrawerDialog(drawer) {
  const session = drawer.session;
  const key = uuid();
  return modal(
    (close) => {
      const counts = new Map([...NOTES, ...COINS].map((v) => [v, 0]));
      const error = h("div.modal-error", { role: "alert" });
      const total = h("strong", { id: "count-total" });
      const submit = h("button.btn.btn-danger.btn-xl", { type: "button", id: "drawer-close-confirm" }, t("close_drawer"));
      const note = h("input.text-input", { type: "text", maxlength: "200", id: "count-note", placeholder: t("note_optional"), "aria-label": t("note") });
      const subs = new Map(); // value -> its amount's cell
      // The total and each value's amount as the server adds them up (POST .../count, nothing
      // stored): what closing with this count records. Only the newest answer is shown.
      let asked = 0;
      const update = async () => {
        const denominations = {};
        for (const [value, n] of counts) if (n) denominations[String(value)] = n;
        asked += 1;
        const mine = asked;
        let result;
        try {
          result = await post(`drawer-sessions/${session.id}/count`, { denominations });
        } catch (e) {
          if (mine === asked) error.textContent = e.message;
          return;
        }
        if (mine !== asked) return;
        error.textContent = "";
        total.textContent = money(result.counted);
        const amounts = new Map(result.lines.map((line) => [line.value, line.amount]));
        for (const [value, sub] of subs) sub.textContent = money(amounts.get(value) || 0);
      };
      const row = (value) => {
        const input = h("input.count-input", {
          type: "text",
          inputmode: "numeric",
          pattern: "[0-9]*",
          value: "0",
          "aria-label": money(value),
          dataset: { count: value },
        });
        const sub = h("span.den-sub", {}, money(0));
        subs.set(value, sub);
        const set = (n) => {
          const clean = Number.isInteger(n) ? Math.max(0, Math.min(9999, n)) : 0; // how many
          counts.set(value, clean);
          input.value = String(clean);
          update();
        };
        input.addEventListener("input", () => {
          const digits = input.value.replace(/\D/g, "");
          set(digits ? parseInt(digits, 10) : 0);
        });
        input.addEventListener("focus", () => input.select());
        return h(
          "div.den-row",
          { dataset: { den: value } },
          h("span.den-label", {}, money(value)),
          h(
            "div.den-stepper",
            {},
            h("button", { type: "button", "aria-label": `${money(value)} −`, dataset: { step: "-1" }, onclick: () => set(counts.get(value) - 1) }, "−"),
            input,
            h("button", { type: "button", "aria-label": `${money(value)} +`, dataset: { step: "1" }, onclick: () => set(counts.get(value) + 1) }, "+"),
          ),
          sub,
        );
      };
      submit.addEventListener("click", async () => {
        submit.disabled = true;
        error.textContent = "";
        const denominations = {};
        for (const [value, n] of counts) if (n) denominations[String(value)] = n;
        const body = Object.keys(denominations).length ? { denominations } : { counted: 0 };
        if (note.value.trim()) body.note = note.value.trim();
        try {
          const result = await post(`drawer-sessions/${session.id}/close`, body, { key });
          drawerUi.closed.set(drawer.id, result.session);
          close(result.session);
        } catch (e) {
          error.textContent = e.message;
          submit.disabled = false;
        }
      });
      update();
      return frame({
        title: t("close_drawer_named", { drawer: drawer.name }),
        sub: t("count_hint"),
        wide: true,
        cls: "drawer-dialog count-dialog",
        body: [
          h(
            "div.count-cols",
            {},
            h("div.count-col", {}, h("div.field-label", {}, t("notes")), NOTES.map(row)),
            h("div.count-col", {}, h("div.field-label", {}, t("coins")), COINS.map(row)),
          ),
          note,
        ],
        foot: [
          h("div.count-total", {}, h("span", {}, t("counted")), total),
          error,
          h("button.btn.btn-xl", { type: "button", onclick: () => close(null) }, t("cancel")),
          submit,
        ],
      });
    },
    { dismissable: false },
  ).then(async (closedSession) => {
    if (!closedSession) return;
    await showDrawers();
    await modal((close) =>
      frame({
        title: t("drawer_closed_title", { drawer: drawer.name }),
        cls: "drawer-dialog close-result-dialog",
        body: closeResult(closedSession),
        foot: [h("button.btn.btn-primary.btn-xl", { type: "button", "data-autofocus": true, onclick: () => close(true) }, t("ok"))],
      }),
    );
  });
}
