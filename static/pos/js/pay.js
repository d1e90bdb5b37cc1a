// The Pay screen: the bill of the check on screen (each part to the cent, VAT per rate, what
// is paid and what is left), the ways to split it, and taking a part's payment: tip, then cash
// (tender, change) or a card on a reader (card.js), then the receipt. Every write sends the
// check version the bill was shown at and re-renders from the answer; a stale version
// re-fetches the bill and says so. Money is whole minor units (cents), and every amount shown
// comes from the server: the bill, the cash quote (tip, cash due after rounding, change) and
// the split preview. Nothing here computes, rounds or adds up money.

import { api, get } from "./api.js";
import { E } from "../../js/errors.js";
import { cardApproved, follow, followPending, pendingCard, renderCardChoice, renderCardWait, unfollow } from "./card.js";
import { openDrawerDialog } from "./drawer.js";
import { can, nav, state } from "./state.js";
import {
  $,
  amountPad,
  delta,
  h,
  modal,
  money,
  stepper,
  t,
  toast,
  uuid,
  frame,
} from "./util.js";

/** The Pay screen's state; kept across live re-renders. */
export const pay = {
  checkId: null,
  bill: null, // GET checks/{id}/bill
  inflight: 0, // writes on their way
  seenVersion: 0, // the newest version an event announced while a write was in flight
  flowRender: null, // re-renders the open payment dialog after the bill changed
  leaving: null, // timer: back to the floor after the check closed
  cardPoke: null, // asks at once how the card payment on screen is going
};

// Answers after which the shown bill is out of date.
const RELOAD = [E.stale_version, E.check_not_open, E.part_paid, E.part_locked, E.not_found, E.nothing_due];

export function initPay() {
  $("#pay-split").addEventListener("click", async (event) => {
    const button = event.target.closest("[data-split]");
    if (!button || button.disabled || button.dataset.busy) return;
    button.dataset.busy = "1";
    try {
      await splitChoice(button.dataset.split);
    } finally {
      delete button.dataset.busy;
    }
  });
  $("#pay-parts").addEventListener("click", async (event) => {
    const target = event.target.closest("[data-split-part], [data-action], .part-card[data-part]");
    if (!target || target.disabled || target.dataset.busy || target.classList.contains("is-paid")) return;
    target.dataset.busy = "1";
    try {
      if (target.dataset.splitPart) {
        await billWrite(`bill/parts/${target.dataset.splitPart}/split`, { ways: 2 });
      } else if (target.dataset.action === "split-again") {
        await billWrite("bill/split", { mode: "whole" });
      } else if (target.dataset.action === "pay-whole") {
        await payWhole();
      } else if (target.dataset.action === "close-check") {
        const result = await billWrite("close", {});
        if (result && result.check && result.check.status === "closed") closedAndLeave();
      } else if (target.dataset.part) {
        await payFlow(Number(target.dataset.part));
      }
    } finally {
      delete target.dataset.busy;
    }
  });
  $("#pay-parts").addEventListener("keydown", (event) => {
    // a part card is a button for a keyboard too
    if ((event.key === "Enter" || event.key === " ") && event.target.matches(".part-card[role=button]")) {
      event.preventDefault();
      event.target.click();
    }
  });
  $("#pay-back").addEventListener("click", () => {
    if (pay.checkId) nav.openCheck(pay.checkId, state.check && state.check.id === pay.checkId ? state.check : null);
  });
}

// --- loading and live updates ----------------------------------------------------------------

/** Load the bill (and the check) of check `id` for the Pay screen; false when it cannot be. */
export async function openPay(id) {
  if (pay.checkId !== id) Object.assign(pay, { bill: null, seenVersion: 0 });
  pay.checkId = id;
  clearTimeout(pay.leaving);
  $("#pay-closed").hidden = true;
  try {
    const [billBody, check] = await Promise.all([get(`checks/${id}/bill`), get(`checks/${id}`)]);
    pay.bill = billBody.bill;
    state.check = check;
  } catch (error) {
    toast(error.message, "error");
    return false;
  }
  if (state.check.status !== "open") {
    toast(t("check_closed", { n: state.check.number, label: state.check.label }), "info");
    return false;
  }
  return true;
}

/** Fetch the bill again (another tablet changed the check, or a write was refused). */
export async function reloadBill({ notice = false } = {}) {
  const id = pay.checkId;
  if (!id) return;
  const before = pay.bill ? pay.bill.version : 0;
  try {
    const [billBody, check] = await Promise.all([get(`checks/${id}/bill`), get(`checks/${id}`)]);
    if (pay.checkId !== id) return;
    if (pay.bill && billBody.bill.version < pay.bill.version) return; // older than shown
    pay.bill = billBody.bill;
    state.check = check;
    if (pay.flowRender) pay.flowRender();
    if (state.screen !== "pay") return;
    if (check.status !== "open") {
      if (!pay.flowRender) checkGone(check);
      return;
    }
    renderPay();
    if (notice && billBody.bill.version > before) toast(t("updated_elsewhere"), "info", 2500);
  } catch (error) {
    if (error.status === 404 && state.screen === "pay") nav.showFloor();
  }
}

/** A check.changed event: fetch the bill when it is about this check and newer. */
export function onPayCheckChanged(data) {
  if (state.screen !== "pay" || !pay.bill || data.check !== pay.checkId) return;
  if (pay.cardPoke) pay.cardPoke(); // a reader's answer (by webhook) changes the check
  if (data.version !== undefined && data.version <= pay.bill.version) return; // ours, shown
  if (pay.inflight) {
    pay.seenVersion = Math.max(pay.seenVersion, data.version || 0);
    return;
  }
  reloadBill({ notice: true });
}

function checkGone(check) {
  if (check.status === "closed") closedAndLeave();
  else {
    toast(t("check_closed", { n: check.number, label: check.label }), "info");
    nav.showFloor();
  }
}

/** "Check closed — table free", then back to the floor after a moment. */
function closedAndLeave() {
  const box = $("#pay-closed");
  box.replaceChildren(
    h(
      "div.pay-closed-card",
      {},
      h("div.big-tick", { "aria-hidden": "true" }, "✓"),
      h("h2", {}, t("check_closed_free")),
      h("p", {}, t("back_to_floor_soon")),
      h("button.btn.btn-primary.btn-xl", { type: "button", onclick: () => leave() }, t("floor")),
    ),
  );
  box.hidden = false;
  const leave = () => {
    clearTimeout(pay.leaving);
    box.hidden = true;
    if (state.screen === "pay") nav.showFloor();
  };
  clearTimeout(pay.leaving);
  pay.leaving = setTimeout(leave, 2500);
}

/**
 * A write to the check's bill: sends the version the bill was shown at, re-renders from the
 * answer. With {inDialog: true} errors are thrown to the dialog; otherwise they are toasts.
 */
async function billWrite(path, body = {}, { inDialog = false, key = null } = {}) {
  const bill = pay.bill;
  pay.inflight += 1;
  try {
    const result = await api("POST", `checks/${pay.checkId}/${path}`, { ...body, version: bill.version }, { key: key || uuid() });
    applyAnswer(result);
    return result;
  } catch (error) {
    if (RELOAD.includes(error.code)) reloadBill();
    if (inDialog) throw error;
    toast(error.message, "error", 5000);
    return null;
  } finally {
    pay.inflight -= 1;
    if (!pay.inflight && pay.bill && pay.seenVersion > pay.bill.version) {
      pay.seenVersion = 0;
      reloadBill({ notice: true });
    }
  }
}

function applyAnswer(result) {
  if (!result) return;
  if (result.check && result.check.id === pay.checkId) state.check = result.check;
  if (result.bill && result.bill.check === pay.checkId && (!pay.bill || result.bill.version >= pay.bill.version)) {
    pay.bill = result.bill;
  }
  if (state.screen === "pay") renderPay();
}

// --- reading the bill ------------------------------------------------------------------------

function pricesIncludeTax() {
  const totals = state.check && state.check.totals;
  return !totals || totals.prices_include_tax !== false;
}

function vatLabel(rate) {
  return pricesIncludeTax() ? t("vat_incl", { rate }) : t("vat_excl", { rate });
}

export function vatList(taxes) {
  return (taxes || []).map((tax) => h("span.vat", { dataset: { rate: tax.rate } }, `${vatLabel(tax.rate)} ${money(tax.tax)}`));
}

function isLocked(part) {
  return part.status === "paid" || part.paid > 0 || Boolean(pendingCard(part));
}

function liveLines() {
  return ((state.check && state.check.lines) || []).filter((l) => l.status !== "voided");
}

/** What a new split shares out: the check's total less the parts that keep (the server's). */
function leftToSplit() {
  return pay.bill.left_to_split;
}

/** What a split would make (POST bill/split-preview, nothing stored): each new part's total,
 * or `{error}`. Only the newest of overlapping asks is shown (`seq`). */
async function splitPreview(body) {
  try {
    return await api("POST", `checks/${pay.checkId}/bill/split-preview`, body);
  } catch (e) {
    return { error: e.message, code: e.code };
  }
}

/** Calls `show` with the answer of the newest preview only. */
function previewer(show) {
  let asked = 0;
  return async (body) => {
    asked += 1;
    const mine = asked;
    const result = await splitPreview(body);
    if (mine === asked) show(result);
  };
}

function partLabel(part) {
  return part.label || t("part_n", { n: part.position });
}

// --- rendering -------------------------------------------------------------------------------

export function renderPay() {
  const bill = pay.bill;
  const tab = state.check;
  if (!bill || !tab) return;
  $("#tb-title").textContent = `${tab.label} · ${t("check_n", { n: tab.number })} · ${t("pay")}`;
  const rows = [
    h("div.ps-row", {}, h("span", {}, t("total")), h("span", { id: "pay-total" }, money(bill.total))),
    h("div.ps-row", {}, h("span", {}, t("paid")), h("span", { id: "pay-paid" }, money(bill.paid))),
  ];
  if (bill.tips) rows.push(h("div.ps-row.soft", {}, h("span", {}, t("tips")), h("span", {}, money(bill.tips))));
  rows.push(h("div.ps-row.balance", {}, h("span", {}, t("balance")), h("span", { id: "pay-balance" }, money(bill.balance))));
  for (const tax of bill.taxes || []) {
    rows.push(h("div.ps-row.vat", { dataset: { rate: tax.rate } }, h("span", {}, vatLabel(tax.rate)), h("span", {}, money(tax.tax))));
  }
  $("#pay-summary").replaceChildren(
    h("div.ps-title", {}, h("span", {}, tab.label), h("span", {}, t("check_n", { n: tab.number }))),
    ...rows,
  );
  const seats = new Set(liveLines().filter((l) => l.seat > 0).map((l) => l.seat));
  const nothingLeft = leftToSplit() <= 0;
  for (const button of document.querySelectorAll("#pay-split [data-split]")) {
    button.disabled = nothingLeft || (button.dataset.split === "seat" && !seats.size) || (button.dataset.split === "items" && !liveLines().length);
  }
  $("#pay-parts").replaceChildren(...partNodes());
}

function partNodes() {
  const bill = pay.bill;
  const nodes = [];
  if (!bill.parts.length) {
    if (bill.unassigned.total > 0) {
      nodes.push(
        h(
          "div.part-card.whole",
          { dataset: { action: "pay-whole" }, role: "button", tabindex: "0" },
          h("div.pc-head", {}, h("span.pc-label", {}, t("whole_check")), h("span.pc-total", {}, money(bill.unassigned.total))),
          h("div.pc-vat", {}, vatList(bill.unassigned.taxes)),
          h("div.pc-hint", {}, t("not_split_hint")),
          h(
            "div.pc-foot",
            {},
            h("button.btn.btn-ok.pc-pay", { type: "button", tabindex: "-1" }, t("pay_amount", { amount: money(bill.unassigned.total) })),
          ),
        ),
      );
    }
  }
  for (const part of bill.parts) nodes.push(partCard(part));
  if (bill.parts.length && bill.unassigned.total > 0) {
    nodes.push(
      h(
        "div.unassigned",
        { id: "pay-unassigned" },
        h("div", {}, h("strong", {}, t("not_on_a_part", { amount: money(bill.unassigned.total) })), h("p", {}, t("split_again_hint"))),
        h("button.btn.btn-primary", { type: "button", dataset: { action: "split-again" } }, t("split_again")),
      ),
    );
  }
  if (bill.balance <= 0 && bill.unassigned.total <= 0 && state.check.status === "open") {
    nodes.push(
      h(
        "div.unassigned",
        {},
        h("strong", {}, t("nothing_to_pay")),
        h("button.btn.btn-primary", { type: "button", dataset: { action: "close-check" } }, t("close_check")),
      ),
    );
  }
  if (!nodes.length) nodes.push(h("p.lines-empty", {}, t("nothing_to_pay")));
  return nodes;
}

function partCard(part) {
  const paid = part.status === "paid";
  const partly = !paid && part.paid > 0;
  const onCard = !paid && pendingCard(part);
  return h(
    "div.part-card",
    {
      class: paid ? "is-paid" : partly ? "is-partly" : "",
      dataset: { part: part.id, status: part.status },
      role: paid ? null : "button",
      tabindex: paid ? null : "0",
      "aria-label": `${partLabel(part)}: ${money(part.balance)}`,
    },
    h(
      "div.pc-head",
      {},
      h("span.pc-label", {}, paid ? h("span.pc-tick", { "aria-hidden": "true" }, "✓ ") : null, partLabel(part)),
      h("span.pc-total", {}, money(part.total)),
    ),
    h("div.pc-vat", {}, vatList(part.taxes)),
    h(
      "div.pc-money",
      {},
      paid
        ? h("span.chip.chip-paid", {}, t("part_paid"))
        : onCard
          ? h("span.chip.chip-card", {}, onCard.failure_message ? t("part_card_failed") : t("part_on_card"))
          : partly
            ? h("span.chip.chip-partly", {}, t("part_partly"))
            : h("span.chip.chip-open", {}, t("part_open")),
      h("span", {}, `${t("paid")} `, h("b.pc-paid", {}, money(part.paid))),
      part.tips ? h("span", {}, `${t("tip")} `, h("b", {}, money(part.tips))) : null,
      h("span", {}, `${t("balance")} `, h("b.pc-balance", {}, money(part.balance))),
    ),
    paid
      ? null
      : h(
          "div.pc-foot",
          {},
          !part.paid && !onCard && part.total >= 2
            ? h("button.btn.pc-split", { type: "button", dataset: { splitPart: part.id } }, t("split_in_2"))
            : null,
          part.balance > 0
            ? h("button.btn.btn-ok.pc-pay", { type: "button", tabindex: "-1" }, t("pay_amount", { amount: money(part.balance) }))
            : null,
        ),
  );
}

// --- splitting -------------------------------------------------------------------------------

async function splitChoice(mode) {
  if (!pay.bill) return;
  // No toast after a split: the new parts on screen say it (and a toast would cover buttons).
  if (mode === "whole") await billWrite("bill/split", { mode: "whole" });
  else if (mode === "even") await evenDialog();
  else if (mode === "seat") await seatDialog();
  else if (mode === "items") await itemDialog();
  else if (mode === "amounts") await amountDialog();
}

/** A split dialog's frame: Cancel, and Apply that sends `body()` (null: nothing to send). */
function splitDialog({ title, sub = null, cls, body, wide = false, build }) {
  const key = uuid();
  return modal(
    (close) => {
      const error = h("div.modal-error", { role: "alert" });
      const submit = h("button.btn.btn-primary.btn-xl", { type: "button", id: "split-apply" }, t("split_apply"));
      const content = build({ submit, error });
      submit.addEventListener("click", async () => {
        const request = content.request();
        if (!request || submit.disabled) return;
        submit.disabled = true;
        error.textContent = "";
        try {
          await billWrite("bill/split", request, { inDialog: true, key });
          close(true);
        } catch (e) {
          error.textContent = e.message;
          submit.disabled = false;
        }
      });
      return frame({
        title,
        sub,
        wide,
        cls: `split-dialog ${cls}`,
        body: content.el,
        foot: [error, h("button.btn.btn-xl", { type: "button", onclick: () => close(null) }, t("cancel")), submit],
      });
    },
    { dismissable: false },
  );
}

function evenDialog() {
  const left = leftToSplit();
  return splitDialog({
    title: t("split_evenly"),
    sub: money(left),
    cls: "even-dialog",
    build: () => {
      const preview = h("div.split-preview", { id: "even-preview" });
      const ways = stepper({
        value: Math.min(8, Math.max(2, (state.check && state.check.guest_count) || 2)),
        min: 2,
        max: 8,
        label: t("ways"),
        id: "even-ways",
        onChange: () => update(),
      });
      const ask = previewer((result) =>
        preview.replaceChildren(
          ...(result.error
            ? [h("span.split-note.warn", {}, result.error)]
            : result.parts.map((p) => h("span.preview-chip", {}, p.label, h("b", {}, money(p.total))))),
        ),
      );
      function update() {
        ask({ mode: "even", ways: ways.value() });
      }
      update();
      return {
        el: [h("div.even-row", {}, h("span.field-label", {}, t("ways")), ways.el), preview],
        request: () => ({ mode: "even", ways: ways.value() }),
      };
    },
  });
}

function seatLabel(group) {
  return group.length === 1 ? t("seat_n", { n: group[0] }) : t("seats_joined", { seats: group.join(" + ") });
}

function seatDialog() {
  const seats = [...new Set(liveLines().filter((l) => l.seat > 0).map((l) => l.seat))].sort((a, b) => a - b);
  const shared = liveLines().some((l) => l.seat === 0);
  return splitDialog({
    title: t("split_by_seat"),
    cls: "seat-dialog",
    build: () => {
      let groups = seats.map((s) => [s]);
      const selected = new Set();
      const box = h("div.seat-groups", { id: "seat-groups" });
      const together = h("button.btn", { type: "button", id: "seat-together" }, t("pay_together"));
      const apart = h("button.btn", { type: "button", id: "seat-apart" }, t("each_seat_alone"));
      function render() {
        box.replaceChildren(
          ...groups.map((group, gi) =>
            h(
              "div.seat-group",
              { class: group.length > 1 ? "joined" : "", dataset: { group: group.join("+") } },
              h("span.sg-label", {}, seatLabel(group)),
              h(
                "div.sg-chips",
                {},
                group.map((s) =>
                  h(
                    "button.seat-chip",
                    {
                      type: "button",
                      "aria-pressed": String(selected.has(s)),
                      dataset: { seat: s },
                      "aria-label": t("seat_n", { n: s }),
                      onclick: () => {
                        if (selected.has(s)) selected.delete(s);
                        else selected.add(s);
                        render();
                      },
                    },
                    String(s),
                  ),
                ),
              ),
              group.length > 1
                ? h(
                    "button.btn.sg-apart",
                    {
                      type: "button",
                      "aria-label": t("each_seat_alone"),
                      onclick: () => {
                        groups.splice(gi, 1, ...group.map((s) => [s]));
                        groups.sort((a, b) => a[0] - b[0]);
                        render();
                      },
                    },
                    "×",
                  )
                : null,
            ),
          ),
        );
        together.disabled = selected.size < 2;
        apart.disabled = groups.every((g) => g.length === 1);
      }
      together.addEventListener("click", () => {
        const joined = groups.filter((g) => g.some((s) => selected.has(s)));
        const merged = joined.flat().sort((a, b) => a - b);
        groups = [...groups.filter((g) => !joined.includes(g)), merged].sort((a, b) => a[0] - b[0]);
        selected.clear();
        render();
      });
      apart.addEventListener("click", () => {
        groups = seats.map((s) => [s]);
        selected.clear();
        render();
      });
      render();
      return {
        el: [
          h("p.notice", {}, t("seat_hint")),
          box,
          h("div.choice-row", {}, together, apart),
          shared ? h("p.split-note", {}, t("shared_note")) : null,
        ],
        request: () => (groups.every((g) => g.length === 1) ? { mode: "seat" } : { mode: "seat", groups }),
      };
    },
  });
}

// fractions as [numerator, denominator] of whole numbers
const gcd = (a, b) => (b ? gcd(b, a % b) : Math.abs(a));
function frac(n, d) {
  const g = gcd(n, d) || 1;
  return [n / g, d / g];
}
const fracAdd = (a, b) => frac(a[0] * b[1] + b[0] * a[1], a[1] * b[1]);
const fracSub = (a, b) => frac(a[0] * b[1] - b[0] * a[1], a[1] * b[1]);

/** How much of each line the parts that keep (paid or partly paid) cover already. */
function coveredLines() {
  const covered = new Map();
  for (const part of pay.bill.parts) {
    if (!isLocked(part) || part.kind !== "lines") continue;
    for (const share of part.shares || []) {
      covered.set(share.line, fracAdd(covered.get(share.line) || [0, 1], [share.numerator, share.denominator]));
    }
  }
  return covered;
}

function itemDialog() {
  const covered = coveredLines();
  const rows = liveLines()
    .map((line) => ({ line, left: fracSub([1, 1], covered.get(line.id) || [0, 1]) }))
    .filter((row) => row.left[0] > 0);
  return splitDialog({
    title: t("split_by_item"),
    cls: "item-dialog",
    wide: true,
    build: ({ submit }) => {
      let guests = Math.min(8, Math.max(2, (state.check && state.check.guest_count) || 2));
      const assigned = new Map(rows.map((row) => [row.line.id, new Set()]));
      for (const row of rows) if (row.line.seat >= 1 && row.line.seat <= guests) assigned.get(row.line.id).add(row.line.seat);
      const grid = h("div.item-grid", { id: "item-grid", role: "grid" });
      const status = h("div.split-note", { id: "item-status" });
      const count = stepper({
        value: guests,
        min: 2,
        max: 8,
        label: t("guests"),
        id: "item-guests",
        onChange: (n) => {
          guests = n;
          for (const set of assigned.values()) for (const g of [...set]) if (g > guests) set.delete(g);
          render();
        },
      });
      const share = (row, k) => frac(row.left[0], row.left[1] * k);
      // What each guest pays, from the server's split of the parts below (nothing stored).
      const guestParts = () => {
        const parts = [];
        for (let g = 1; g <= guests; g += 1) {
          const lines = {};
          for (const row of rows) {
            const set = assigned.get(row.line.id);
            if (set.has(g)) lines[row.line.id] = share(row, set.size);
          }
          if (Object.keys(lines).length) parts.push({ guest: g, part: { label: t("guest_n", { n: g }), lines } });
        }
        return parts;
      };
      let askedGuests = [];
      const ask = previewer((result) => {
        const totals = new Map();
        if (!result.error) askedGuests.forEach((g, i) => totals.set(g, result.parts[i].total));
        for (const cell of grid.querySelectorAll("[data-guest-total]")) {
          const g = Number(cell.dataset.guestTotal);
          cell.textContent = result.error ? "…" : money(totals.get(g) || 0);
        }
      });
      function render() {
        grid.style.setProperty("--guests", String(guests));
        const cells = [h("div.ig-head.ig-name", {}, t("item")), ...Array.from({ length: guests }, (_v, i) => h("div.ig-head", {}, t("guest_n", { n: i + 1 }))), h("div.ig-head", {}, "")];
        for (const row of rows) {
          const set = assigned.get(row.line.id);
          const k = set.size;
          const amount = row.line.total_after_discounts ?? row.line.total;
          cells.push(
            h(
              "div.ig-name",
              { class: k ? "" : "unassigned" },
              h("span", {}, row.line.quantity > 1 ? `${row.line.quantity}× ` : "", row.line.name),
              h("small", {}, money(amount), row.left[0] !== row.left[1] ? ` · ${t("share_left", { share: `${row.left[0]}/${row.left[1]}` })}` : "", k > 1 ? ` · ÷${k}` : ""),
            ),
          );
          for (let g = 1; g <= guests; g += 1) {
            cells.push(
              h(
                "button.ig-cell",
                {
                  type: "button",
                  "aria-pressed": String(set.has(g)),
                  dataset: { line: row.line.id, guest: g },
                  "aria-label": `${row.line.name}: ${t("guest_n", { n: g })}`,
                  onclick: () => {
                    if (set.has(g)) set.delete(g);
                    else set.add(g);
                    render();
                  },
                },
                set.has(g) ? (k > 1 ? `1/${k}` : "✓") : "",
              ),
            );
          }
          cells.push(
            h(
              "button.btn.ig-all",
              {
                type: "button",
                dataset: { allLine: row.line.id },
                onclick: () => {
                  if (set.size === guests) set.clear();
                  else for (let g = 1; g <= guests; g += 1) set.add(g);
                  render();
                },
              },
              t("everyone"),
            ),
          );
        }
        cells.push(h("div.ig-foot.ig-name", {}, t("each_pays")));
        for (let g = 1; g <= guests; g += 1) cells.push(h("div.ig-foot", { dataset: { guestTotal: g } }, "…"));
        cells.push(h("div.ig-foot", {}, ""));
        grid.replaceChildren(...cells);
        const open = rows.filter((row) => !assigned.get(row.line.id).size).length;
        status.textContent = open ? t("lines_unassigned", { n: open }) : t("amounts_preview");
        status.classList.toggle("warn", open > 0);
        submit.disabled = open > 0 || !rows.length;
        const parts = guestParts();
        askedGuests = parts.map((p) => p.guest);
        if (parts.length) ask({ mode: "items", parts: parts.map((p) => p.part) });
        else for (const cell of grid.querySelectorAll("[data-guest-total]")) cell.textContent = money(0);
      }
      render();
      return {
        el: [h("div.even-row", {}, h("span.field-label", {}, t("guests")), count.el, h("span.split-note", {}, t("item_hint"))), grid, status],
        request: () => {
          const parts = guestParts().map((p) => p.part);
          return parts.length ? { mode: "items", parts } : null;
        },
      };
    },
  });
}

function amountDialog() {
  const left = leftToSplit();
  return splitDialog({
    title: t("split_by_amount"),
    sub: money(left),
    cls: "amount-dialog",
    wide: true,
    build: ({ submit, error }) => {
      const amounts = [];
      let rest = 0; // the rest part the server's preview answered (0: none)
      const list = h("div.amount-list", { id: "amount-list" });
      const pad = amountPad({ label: t("amount_of_part"), id: "split-amount" });
      const add = h("button.btn.btn-primary.btn-xl", { type: "button", id: "amount-add" }, t("add_part"));
      function render() {
        list.replaceChildren(
          ...amounts.map((a, i) =>
            h(
              "div.amount-item",
              {},
              h("span", {}, t("part_n", { n: i + 1 })),
              h("b", {}, money(a)),
              h(
                "button.btn.btn-ghost",
                {
                  type: "button",
                  "aria-label": t("remove"),
                  onclick: () => {
                    amounts.splice(i, 1);
                    ask();
                  },
                },
                "×",
              ),
            ),
          ),
          ...[
            rest > 0 ? h("div.amount-item.rest", {}, h("span", {}, t("rest_part")), h("b", {}, money(rest)), h("span")) : null,
            amounts.length ? null : h("p.split-note", {}, t("amount_hint")),
          ].filter(Boolean),
        );
        submit.disabled = !amounts.length;
      }
      // The parts as the server would split them: a rest part when the amounts leave some.
      const show = previewer((result) => {
        if (result.error) {
          error.textContent = result.error;
          if (result.code === E.amounts_exceed_total) amounts.pop();
          return ask();
        }
        rest = result.parts.length > amounts.length ? result.parts.at(-1).total : 0;
        render();
      });
      function ask() {
        if (!amounts.length) {
          rest = 0;
          return render();
        }
        show({ mode: "amounts", amounts: [...amounts] });
      }
      add.addEventListener("click", () => {
        const value = pad.value();
        error.textContent = "";
        if (value <= 0) return;
        amounts.push(value);
        pad.set(0);
        ask();
      });
      render();
      return {
        el: h("div.two-col.amount-cols", {}, h("div", {}, pad.el, add), h("div", {}, h("div.field-label", {}, t("parts")), list)),
        request: () => (amounts.length ? { mode: "amounts", amounts: [...amounts] } : null),
      };
    },
  });
}

// --- paying a part ---------------------------------------------------------------------------

/** Not split yet: the whole check becomes one part, then pay it. */
async function payWhole() {
  const result = await billWrite("bill/split", { mode: "whole" });
  if (!result) return;
  const open = result.bill.parts.filter((p) => p.status === "open" && p.balance > 0);
  if (open.length) await payFlow(open[open.length - 1].id);
}

/**
 * Pay a part: tip step (or the guest chooses, full-screen), then in cash the tender step (amount
 * toward the part, cash due after rounding, what was handed over, change), or by card the card
 * step (reader, who tips) and the reader's progress (card.js); then change/approval and receipt.
 * A part with a card payment waiting on a reader opens on that payment.
 */
function payFlow(partId) {
  const f = {
    step: "tip", // tip | tender | card | card-wait | done
    payBy: "cash", // where the tip step leads: cash (tender) | card
    sub: null, // a keypad over the step: custom_tip | part_amount | tendered | email
    guest: false,
    tip: null, // {percent} | {amount} | {none: true}
    amount: null, // toward the part; null: its balance
    tendered: null, // null: exactly the cash due
    payment: null,
    closed: false,
    error: "",
    errorCode: null,
    busy: false,
    sig: "",
    key: null,
    receiptKey: uuid(),
    // by card
    reader: null, // the reader chosen
    tipOnReader: false, // the guest chooses the tip on the reader
    card: null, // the card payment followed (pending)
    cardBusy: false, // false | true (starting) | "retry" | "cancel"
    cardSig: "",
    cardKey: null,
  };
  let root = null;
  let closeDialog;
  const part = () => pay.bill && pay.bill.parts.find((p) => p.id === partId);
  const amountOf = (p) => f.amount ?? p.balance;

  // What this payment comes to, as the server computes it (POST .../cash-quote): the amount
  // toward the part, the tip, `due` (amount + tip, what a card is charged), the cash due after
  // the venue's rounding, the change (or what is short) for what was handed over, the preset
  // tips for this amount and the likely notes. Asked again whenever one of them changes;
  // until the answer is here the step shows that it is loading.
  const quotes = new Map(); // signature -> answer, or {error, code}
  const asking = new Set();
  const quoteBody = (p) => {
    const body = {};
    if (f.amount !== null && f.amount < p.balance) body.amount = f.amount;
    if (f.tip && f.tip.percent !== undefined) body.tip_percent = f.tip.percent;
    else if (f.tip && f.tip.amount !== undefined) body.tip = f.tip.amount;
    if (f.tendered !== null) body.tendered = f.tendered;
    return body;
  };
  const quoteOf = (p) => {
    const body = quoteBody(p);
    const sig = JSON.stringify({ part: p.id, version: pay.bill.version, ...body });
    const known = quotes.get(sig);
    if (known) return known.error ? null : known;
    if (!asking.has(sig)) {
      asking.add(sig);
      api("POST", `checks/${pay.checkId}/bill/parts/${p.id}/cash-quote`, body)
        .then((answer) => quotes.set(sig, answer))
        .catch((e) => {
          quotes.set(sig, { error: e.message, code: e.code });
          Object.assign(f, { error: e.message, errorCode: e.code });
        })
        .finally(() => {
          asking.delete(sig);
          render();
        });
    }
    return null;
  };
  const dueOf = quoteOf;
  const loading = (title) =>
    fill({ title, body: h("p.lines-empty", { id: "pay-quote-loading" }, t("loading")), foot: [errorBox(), cancel()] });

  function fill({ title, sub = null, body, foot = [], cls = "" }) {
    root.className = `modal wide pay-flow ${cls}`;
    root.dataset.step = f.sub || f.step;
    delete root.dataset.card;
    root.replaceChildren(
      ...[
        h("div.modal-head", {}, h("h2", {}, title), sub ? h("span.sub", {}, sub) : null),
        h("div.modal-body", {}, body),
        foot.length ? h("div.modal-foot", {}, foot) : null,
      ].filter(Boolean),
    );
    return root;
  }
  const errorBox = () => {
    const box = h("div.modal-error", { role: "alert", id: "pay-error" }, f.error || null);
    if (f.errorCode === E.no_open_drawer && can("drawer.manage")) {
      box.append(
        " ",
        h(
          "button.btn.btn-primary",
          {
            type: "button",
            id: "pay-open-drawer",
            onclick: async () => {
              if (await openDrawerDialog()) {
                f.error = "";
                f.errorCode = null;
                render();
              }
            },
          },
          t("open_drawer"),
        ),
      );
    }
    return box;
  };
  const cancel = () => h("button.btn.btn-xl", { type: "button", id: "pay-cancel", onclick: () => closeDialog(null) }, t("cancel"));
  const go = (changes) => {
    // A new tip or amount changes what is due: the cash handed over is asked again.
    if ("tip" in changes || "amount" in changes) changes.tendered = null;
    Object.assign(f, { error: "", errorCode: null }, changes);
    render();
  };

  // What card.js needs of this dialog.
  const ctx = {
    f,
    fill,
    go,
    render: () => render(),
    part,
    dueOf,
    tipText: (p) => tipText(p),
    errorBox,
    partLabel,
    billWrite,
    applyAnswer,
    reloadBill,
    bill: () => pay.bill,
    version: () => pay.bill.version,
    open: () => root !== null,
    close: () => closeDialog(null),
    setPoke: (fn) => {
      pay.cardPoke = fn;
    },
  };
  const afterTip = () => (f.payBy === "card" ? "card" : "tender");

  function render() {
    if (!root) return;
    if (f.step === "done") return renderDone();
    if (f.step === "card-wait" && f.card) return renderCardWait(ctx); // even if the part shows paid
    const p = part();
    if (!p || p.status === "paid" || p.balance <= 0) {
      fill({
        title: t("pay"),
        body: h("p.notice", {}, p ? t("part_paid_already", { part: partLabel(p) }) : t("part_gone")),
        foot: [h("button.btn.btn-xl", { type: "button", onclick: () => closeDialog(null) }, t("close"))],
      });
      return;
    }
    if (f.sub) return renderSub(p);
    if (f.step === "tip") return f.guest ? renderGuest(p) : renderTip(p);
    if (f.step === "card") return renderCardChoice(ctx, p);
    return renderTender(p);
  }

  /** The preset tips with their amounts: the bill's for the balance, the quote's for less. */
  function tipOptions(p) {
    if (f.amount === null || f.amount >= p.balance) return p.tip_options || [];
    const quote = quoteOf(p);
    return quote ? quote.tip_options : null;
  }

  function renderTip(p) {
    const amount = amountOf(p);
    const options = tipOptions(p);
    if (options === null) return loading(t("tip_for", { part: partLabel(p) }));
    fill({
      title: t("tip_for", { part: partLabel(p) }),
      sub: t("to_pay", { amount: money(amount) }),
      cls: "tip-step",
      body: [
        h(
          "div.tip-grid",
          {},
          options.map((o) =>
            h(
              "button.btn.tip-btn",
              { type: "button", dataset: { tip: o.percent }, onclick: () => go({ tip: { percent: o.percent }, step: afterTip(), tipOnReader: false }) },
              h("span.tip-pct", {}, `${o.percent}%`),
              h("span.tip-amt", {}, `+${money(o.amount)}`),
            ),
          ),
          h("button.btn.tip-btn", { type: "button", dataset: { tip: "custom" }, onclick: () => go({ sub: "custom_tip" }) }, h("span.tip-pct", {}, t("tip_custom"))),
          h("button.btn.tip-btn.no-tip", { type: "button", dataset: { tip: "none" }, onclick: () => go({ tip: { none: true }, step: afterTip(), tipOnReader: false }) }, h("span.tip-pct", {}, t("no_tip"))),
        ),
        h(
          "div.tip-more",
          {},
          h(
            "button.btn.btn-xl.turn-guest",
            { type: "button", id: "turn-to-guest", "aria-pressed": "false", onclick: () => go({ guest: true }) },
            h("span", { "aria-hidden": "true" }, "↻ "),
            t("turn_to_guest"),
          ),
          h(
            "button.btn.btn-xl.tip-on-reader",
            { type: "button", id: "tip-on-reader", onclick: () => go({ tip: null, tipOnReader: true, payBy: "card", step: "card" }) },
            h("span", { "aria-hidden": "true" }, "▭ "),
            t("card_tip_on_reader_go"),
          ),
        ),
      ],
      foot: [errorBox(), cancel()],
    });
  }

  function renderGuest(p) {
    const amount = amountOf(p);
    const options = tipOptions(p);
    if (options === null) return loading(partLabel(p));
    fill({
      title: partLabel(p),
      cls: "guest-facing",
      body: [
        h("div.gf-due", {}, h("span", {}, t("amount_due")), h("strong", { id: "guest-due" }, money(amount))),
        h("div.gf-question", {}, t("add_a_tip")),
        h(
          "div.gf-tips",
          {},
          options.map((o) =>
            h(
              "button.gf-tip",
              { type: "button", dataset: { tip: o.percent }, onclick: () => go({ tip: { percent: o.percent }, step: afterTip(), tipOnReader: false, guest: false }) },
              h("span.tip-pct", {}, `${o.percent}%`),
              h("span.tip-amt", {}, `+${money(o.amount)}`),
            ),
          ),
          h(
            "button.gf-tip.no-tip",
            { type: "button", dataset: { tip: "none" }, onclick: () => go({ tip: { none: true }, step: afterTip(), tipOnReader: false, guest: false }) },
            h("span.tip-pct", {}, t("no_tip")),
          ),
        ),
        h("button.btn.gf-back", { type: "button", id: "guest-back", onclick: () => go({ guest: false }) }, t("back_to_staff")),
      ],
    });
  }

  function tipText(p, amount) {
    if (!f.tip || f.tip.none) return t("no_tip");
    if (f.tip.percent !== undefined) return t("tip_pct", { percent: f.tip.percent });
    return t("tip");
  }

  function renderTender(p) {
    const due = dueOf(p);
    if (!due) return loading(t("cash_for", { part: partLabel(p) }));
    const tendered = due.tendered;
    const short = due.short > 0;
    const quick = due.tender_options.filter((value) => value !== due.cash_due);
    const takeCash = h(
      "button.btn.btn-ok.btn-xl",
      { type: "button", id: "take-cash", disabled: f.busy || short, onclick: () => takeCashNow() },
      t("take_cash", { amount: money(due.cash_due) }),
    );
    fill({
      title: t("cash_for", { part: partLabel(p) }),
      sub: due.amount < p.balance ? t("part_of_balance", { amount: money(due.amount), balance: money(p.balance) }) : money(p.balance),
      cls: "tender-step",
      body: h(
        "div.tender",
        {},
        h(
          "div.tender-sum",
          {},
          h(
            "div.ts-row",
            {},
            h("span", {}, t("toward_part")),
            h("b", { id: "pay-amount" }, money(due.amount)),
            h("button.btn", { type: "button", id: "part-of-it", onclick: () => go({ sub: "part_amount" }) }, t("part_of_it")),
          ),
          h(
            "div.ts-row",
            {},
            h("span", {}, tipText(p, due.amount)),
            h("b", { id: "pay-tip" }, money(due.tip)),
            h("button.btn", { type: "button", id: "change-tip", onclick: () => go({ step: "tip" }) }, t("change_tip")),
          ),
          h(
            "div.ts-due",
            {},
            h("span", {}, t("cash_due")),
            h("strong", { id: "cash-due" }, money(due.cash_due)),
            due.rounding
              ? h("small", { id: "cash-rounded" }, t("rounded_from", { amount: money(due.due), delta: delta(due.rounding) }))
              : null,
          ),
          h(
            "div.card-reader",
            {},
            h(
              "button.btn.btn-primary.btn-xl",
              { type: "button", id: "pay-card", disabled: f.busy, onclick: () => go({ step: "card", payBy: "card", tipOnReader: false }) },
              h("span", { "aria-hidden": "true" }, "▭ "),
              t("card_pay", { amount: money(due.due) }),
            ),
            h("small", {}, t("card_on_reader_hint")),
          ),
        ),
        h(
          "div.tender-cash",
          {},
          h("div.field-label", {}, t("tendered")),
          h(
            "div.tender-grid",
            {},
            h(
              "button.btn.tender-btn",
              { type: "button", dataset: { tender: "exact" }, "aria-pressed": String(tendered === due.cash_due), onclick: () => go({ tendered: null }) },
              h("small", {}, t("exact")),
              money(due.cash_due),
            ),
            quick.map((value) =>
              h(
                "button.btn.tender-btn",
                { type: "button", dataset: { tender: value }, "aria-pressed": String(f.tendered === value), onclick: () => go({ tendered: value }) },
                money(value),
              ),
            ),
          ),
          h("button.btn.btn-xl.tender-other", { type: "button", id: "tender-other", onclick: () => go({ sub: "tendered" }) }, t("other_amount")),
          h(
            "div.tender-result",
            {},
            h("div.tr-row", {}, h("span", {}, t("tendered")), h("b", { id: "tendered" }, money(tendered))),
            h(
              "div.tr-change",
              { class: short ? "short" : "" },
              h("span", {}, short ? t("too_little") : t("change_due")),
              h("strong", { id: "change-preview" }, money(short ? due.short : due.change)),
            ),
          ),
        ),
      ),
      foot: [errorBox(), cancel(), takeCash],
    });
  }

  function renderSub(p) {
    const back = h("button.btn.btn-xl", { type: "button", onclick: () => go({ sub: null }) }, t("back"));
    const ok = h("button.btn.btn-primary.btn-xl", { type: "button", id: "pad-ok" }, t("ok"));
    let pad;
    let title;
    let note = null;
    if (f.sub === "custom_tip") {
      title = t("tip_custom");
      pad = amountPad({ value: 0, label: t("tip"), id: "tip-pad" });
      ok.addEventListener("click", () => go({ tip: { amount: pad.value() }, sub: null, step: afterTip(), tipOnReader: false }));
    } else if (f.sub === "part_amount") {
      title = t("part_of_it");
      note = t("part_of_it_hint", { balance: money(p.balance) });
      pad = amountPad({
        value: amountOf(p),
        label: t("toward_part"),
        id: "part-pad",
        quick: [
          { label: t("half"), value: p.half, key: "half" },
          { label: t("all_of_it"), value: p.balance, key: "all" },
        ],
      });
      ok.addEventListener("click", () => {
        const value = pad.value();
        if (value <= 0 || value > p.balance) {
          f.error = t("amount_at_most", { balance: money(p.balance) });
          render();
          return;
        }
        go({ amount: value === p.balance ? null : value, sub: null });
      });
    } else if (f.sub === "tendered") {
      const due = dueOf(p);
      if (!due) return loading(t("tendered"));
      title = t("tendered");
      note = t("cash_due_is", { amount: money(due.cash_due) });
      pad = amountPad({ value: due.tendered, label: t("tendered"), id: "tender-pad" });
      ok.addEventListener("click", () => {
        const value = pad.value();
        if (value < due.cash_due) {
          f.error = t("tendered_short", { amount: money(due.cash_due) });
          render();
          return;
        }
        go({ tendered: value, sub: null });
      });
    } else if (f.sub === "email") {
      return renderEmail();
    }
    fill({
      title,
      sub: partLabel(p),
      cls: "pad-step",
      body: h("div.pad-wrap", {}, note ? h("p.notice", {}, note) : null, pad.el),
      foot: [errorBox(), back, ok],
    });
  }

  async function takeCashNow() {
    const p = part();
    if (!p || f.busy) return;
    const due = dueOf(p);
    if (!due) return;
    const body = { part: p.id, method: "cash" };
    if (due.amount < p.balance) body.amount = due.amount;
    if (f.tip && f.tip.percent !== undefined) body.tip_percent = f.tip.percent;
    else if (f.tip && f.tip.amount !== undefined) body.tip = f.tip.amount;
    body.tendered = due.tendered;
    // The same tap again (a lost answer) is the same payment: the same Idempotency-Key.
    const sig = JSON.stringify({ ...body, version: pay.bill.version });
    if (sig !== f.sig) Object.assign(f, { sig, key: uuid() });
    f.busy = true;
    f.error = "";
    f.errorCode = null;
    render();
    try {
      const result = await billWrite("payments", body, { inDialog: true, key: f.key });
      f.payment = result.payment;
      f.closed = result.check && result.check.status === "closed";
      f.step = "done";
      f.sub = null;
    } catch (e) {
      f.error = e.message;
      f.errorCode = e.code;
      if (e.code === E.part_in_progress) await followPending(ctx); // a card is on a reader
    } finally {
      f.busy = false;
      render();
    }
  }

  function renderDone() {
    const payment = f.payment;
    if (f.sub === "email") return renderEmail();
    const byCard = payment.method === "card";
    const details = [
      `${t("cash")} ${money(payment.tendered ?? payment.collected)}`,
      `${t("paid")} ${money(payment.amount)}`,
      payment.tip ? `${t("tip")} ${money(payment.tip)}` : null,
      payment.rounding ? `${t("rounding")} ${delta(payment.rounding)}` : null,
    ].filter(Boolean);
    const receipt = (kind) =>
      h(
        "button.btn.btn-xl.receipt-btn",
        { type: "button", dataset: { receipt: kind }, disabled: f.busy, onclick: () => (kind === "email" ? go({ sub: "email" }) : giveReceipt(kind)) },
        t(`receipt_${kind}`),
      );
    fill({
      title: byCard ? t("card_paid_title") : t("paid_title"),
      cls: "done-step",
      body: [
        byCard
          ? cardApproved(payment)
          : [
              h(
                "div.change-due",
                { class: payment.change ? "" : "none" },
                h("span", {}, payment.change ? t("change_due") : t("no_change")),
                h("strong", { id: "change-due" }, money(payment.change)),
              ),
              h("p.pay-details", { id: "pay-details" }, details.join(" · ")),
            ],
        f.closed ? h("div.notice.ok", { id: "pay-closed-notice" }, t("check_closed_free")) : null,
        h("div.field-label", {}, t("receipt")),
        h("div.receipt-row", {}, receipt("print"), receipt("email"), receipt("none")),
      ],
      foot: f.error ? [errorBox()] : [],
    });
  }

  function renderEmail() {
    const input = h("input.text-input.email-input", {
      type: "email",
      inputmode: "email",
      autocomplete: "email",
      id: "receipt-email",
      placeholder: "name@example.com",
      "aria-label": t("email_address"),
      "data-autofocus": true,
    });
    const send = h("button.btn.btn-primary.btn-xl", { type: "button", id: "receipt-send", disabled: f.busy, onclick: () => giveReceipt("email", input.value.trim()) }, t("send_receipt"));
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter") send.click();
    });
    fill({
      title: t("receipt_email"),
      cls: "email-step",
      body: h("div.field", {}, h("label", { for: "receipt-email" }, t("email_address")), input),
      foot: [errorBox(), h("button.btn.btn-xl", { type: "button", onclick: () => go({ sub: null }) }, t("back")), send],
    });
    setTimeout(() => input.focus(), 30);
  }

  async function giveReceipt(kind, email = "") {
    if (f.busy) return;
    if (kind === "email" && !email) {
      f.error = t("email_needed");
      render();
      return;
    }
    f.busy = true;
    f.error = "";
    render();
    const body = { part: partId, kind };
    if (email) body.email = email;
    try {
      await api("POST", `checks/${pay.checkId}/receipts`, body, { key: f.receiptKey });
      if (kind !== "none") toast(kind === "print" ? t("receipt_printed") : t("receipt_emailed", { email }), "ok");
      closeDialog(true);
    } catch (e) {
      f.error = e.message;
      f.receiptKey = uuid(); // a refused receipt (no printer, bad address) may be given another way
    } finally {
      f.busy = false;
      render();
    }
  }

  return modal(
    (close) => {
      closeDialog = close;
      root = h("div.modal.wide.pay-flow");
      // The bill changed (another tablet): show the step again with fresh amounts; not under a
      // keypad or the email field, which would lose what is being typed.
      pay.flowRender = () => {
        if (!f.sub && f.step !== "done") render();
      };
      const pending = pendingCard(part());
      if (pending) follow(ctx, pending); // being paid by card already: follow that payment
      render();
      return root;
    },
    { dismissable: false },
  ).then((value) => {
    unfollow(ctx);
    pay.flowRender = null;
    root = null;
    if (f.closed) closedAndLeave();
    else if (state.screen === "pay" && state.check && state.check.status !== "open") checkGone(state.check);
    else if (state.screen === "pay") renderPay();
    return value;
  });
}
