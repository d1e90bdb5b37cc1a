// Closed checks: today's closed checks with what they came to and what was paid; one of them
// read-only with its bill (parts, payments, VAT), a receipt reprint, a card payment's refund
// (card.js) and reopening it (with a manager's approval) as a normal open check.

import { get, post } from "./api.js";
import { cardName, refundDialog, refundable } from "./card.js";
import { vatList } from "./pay.js";
import { can, nav, state } from "./state.js";
import { $, clock, delta, frame, h, modal, money, pinPad, reasonPicker, t, toast, uuid } from "./util.js";

export const history = {
  checks: [],
  selected: null, // check id
  bill: null,
  check: null,
};

const REOPEN_REASONS = ["reason_forgot_item", "reason_wrong_payment", "reason_guest_ordered_more"];

export function initHistory() {
  $("#closed-list").addEventListener("click", (event) => {
    const row = event.target.closest("[data-check]");
    if (row) select(Number(row.dataset.check));
  });
  $("#closed-detail").addEventListener("click", async (event) => {
    const button = event.target.closest("[data-closed-action]");
    if (!button || button.disabled || button.dataset.busy) return;
    button.dataset.busy = "1";
    try {
      const action = button.dataset.closedAction;
      if (action === "reprint") await reprint(button.dataset.part ? Number(button.dataset.part) : null);
      else if (action === "reopen") await reopenDialog();
      else if (action === "refund") await refund(Number(button.dataset.payment));
    } finally {
      delete button.dataset.busy;
    }
  });
  $("#closed-refresh").addEventListener("click", () => showClosed());
}

export async function showClosed() {
  try {
    const body = await get(can("check.view_all") ? "checks?status=closed" : "checks?status=closed&mine=1");
    history.checks = body.checks || [];
  } catch (error) {
    toast(error.message, "error");
  }
  if (history.selected && !history.checks.some((c) => c.id === history.selected)) {
    Object.assign(history, { selected: null, bill: null, check: null });
  }
  renderClosed();
}

let refreshTimer = null;
/** A check.changed event: a check closed or reopened changes the list (coalesced). */
export function onClosedCheckChanged(data) {
  if (state.screen !== "closed") return;
  if (data.status === "open" && data.check !== history.selected) return;
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => {
    if (state.screen === "closed") showClosed();
  }, 400);
}

async function select(id) {
  history.selected = id;
  renderList();
  try {
    const [billBody, check] = await Promise.all([get(`checks/${id}/bill`), get(`checks/${id}`)]);
    if (history.selected !== id) return;
    history.bill = billBody.bill;
    history.check = check;
  } catch (error) {
    toast(error.message, "error");
    return;
  }
  renderDetail();
}

function renderClosed() {
  if (state.screen !== "closed") return;
  $("#tb-title").textContent = t("closed_checks");
  renderList();
  renderDetail();
}

function renderList() {
  const box = $("#closed-list");
  if (!history.checks.length) {
    box.replaceChildren(h("p.lines-empty", {}, t("no_closed_checks")));
    return;
  }
  box.replaceChildren(
    h(
      "ul.list.closed-checks",
      {},
      history.checks.map((c) =>
        h(
          "li",
          {},
          h(
            "button",
            { type: "button", dataset: { check: c.id }, "aria-pressed": String(c.id === history.selected) },
            h("span.num", {}, t("check_n", { n: c.number })),
            h("span.what", {}, c.label, h("small", {}, [clock(c.closed_at), c.server ? c.server.name : ""].filter(Boolean).join(" · "))),
            h("span.amt", {}, money(c.total || 0), h("small", {}, `${t("paid")} ${money(c.paid_amount || 0)}`)),
          ),
        ),
      ),
    ),
  );
}

function renderDetail() {
  const box = $("#closed-detail");
  const bill = history.bill;
  const tab = history.check;
  if (!bill || !tab || tab.id !== history.selected) {
    box.replaceChildren(h("p.lines-empty", {}, t("closed_pick")));
    return;
  }
  const mayPay = can("payment.take");
  const lines = tab.lines.filter((l) => l.status !== "voided");
  box.replaceChildren(
    h(
      "div.cd-head",
      {},
      h("h2", {}, `${tab.label} · ${t("check_n", { n: tab.number })}`),
      h(
        "span.chip",
        { class: tab.status === "closed" ? "chip-closed" : "chip-open" },
        tab.status === "closed" ? t("closed_at", { time: clock(tab.closed_at) }) : t(`status_check_${tab.status}`),
      ),
    ),
    h("p.dc-meta", {}, [tab.server ? tab.server.name : "", tab.guest_count ? t("guests_n", { n: tab.guest_count }) : ""].filter(Boolean).join(" · ")),
    h(
      "div.cd-body",
      {},
      h(
        "div.cd-lines",
        {},
        h("div.field-label", {}, t("items")),
        lines.map((l) =>
          h("div.cd-line", {}, h("span", {}, l.quantity > 1 ? `${l.quantity}× ` : "", l.name), h("span", {}, money(l.total_after_discounts ?? l.total))),
        ),
        h("div.cd-line.total", {}, h("span", {}, t("total")), h("span", { id: "closed-total" }, money(bill.total))),
        h("div.cd-vat", {}, vatList(bill.taxes)),
        h("div.cd-line", {}, h("span", {}, t("paid")), h("span", {}, money(bill.paid))),
        bill.tips ? h("div.cd-line", {}, h("span", {}, t("tips")), h("span", {}, money(bill.tips))) : null,
      ),
      h(
        "div.cd-parts",
        {},
        h("div.field-label", {}, t("parts")),
        bill.parts.map((part) =>
          h(
            "div.cd-part",
            { dataset: { part: part.id } },
            h(
              "div.cd-part-head",
              {},
              h("b", {}, part.status === "paid" ? "✓ " : "", part.label || t("part_n", { n: part.position })),
              h("b", {}, money(part.total)),
            ),
            h("div.pc-vat", {}, vatList(part.taxes)),
            (part.payments || [])
              .filter((p) => p.status === "succeeded")
              .map((p) =>
                h(
                  "div.cd-payment",
                  { dataset: { payment: p.id, method: p.method } },
                  h(
                    "span",
                    {},
                    [
                      `${p.method === "cash" ? t("cash") : cardName(p) || t("card")} ${money(p.amount)}`,
                      p.tip ? `${t("tip")} ${money(p.tip)}` : null,
                      p.rounding ? `${t("rounding")} ${delta(p.rounding)}` : null,
                      p.tendered !== null && p.tendered !== undefined ? `${t("tendered")} ${money(p.tendered)}` : null,
                      p.change ? `${t("change_due")} ${money(p.change)}` : null,
                      clock(p.created_at),
                    ]
                      .filter(Boolean)
                      .join(" · "),
                    p.refunded ? h("b.cd-refunded", {}, ` · ${t("refunded_n", { amount: money(p.refunded) })}`) : null,
                  ),
                  mayPay && refundable(p) > 0
                    ? h("button.btn.cd-refund", { type: "button", dataset: { closedAction: "refund", payment: p.id } }, t("refund"))
                    : null,
                ),
              ),
            mayPay
              ? h(
                  "button.btn.cd-reprint",
                  { type: "button", dataset: { closedAction: "reprint", part: part.id } },
                  t("reprint_part"),
                )
              : null,
          ),
        ),
      ),
    ),
    h(
      "div.cd-actions",
      {},
      mayPay ? h("button.btn.btn-xl", { type: "button", id: "closed-reprint", dataset: { closedAction: "reprint" } }, t("reprint_receipt")) : null,
      tab.status === "closed" && can("check.order")
        ? h("button.btn.btn-xl.btn-primary", { type: "button", id: "closed-reopen", dataset: { closedAction: "reopen" } }, t("reopen"))
        : null,
    ),
  );
}

async function reprint(partId) {
  const body = { kind: "print", reprint: true };
  if (partId) body.part = partId;
  try {
    await post(`checks/${history.selected}/receipts`, body);
    toast(t("receipt_printed"), "ok");
  } catch (error) {
    toast(error.message, "error", 5000);
  }
}

/** Refund (part of) a card payment of the check on screen, then show the bill again. */
async function refund(paymentId) {
  const id = history.selected;
  const payment = ((history.bill && history.bill.parts) || []).flatMap((p) => p.payments || []).find((p) => p.id === paymentId);
  if (!payment) return;
  const tab = history.check;
  const result = await refundDialog(payment, { title: t("refund_title", { n: tab.number, label: tab.label }) });
  if (!result || !result.refund) return;
  toast(t("refunded_toast", { amount: money(result.refund.amount) }), "ok");
  if (history.selected === id) await select(id);
}

/** Reopen the check: the reason, and a manager's PIN unless a manager is signed in. */
function reopenDialog() {
  const tab = history.check;
  const key = uuid();
  const needsApproval = !can("check.reopen");
  return modal(
    (close) => {
      const error = h("div.modal-error", { role: "alert" });
      const submit = h("button.btn.btn-primary.btn-xl", { type: "button", id: "reopen-confirm", disabled: true }, t("reopen"));
      const picker = reasonPicker(REOPEN_REASONS, () => update());
      const reason = picker.value;
      const update = () => {
        submit.disabled = !reason();
      };
      const pad = needsApproval ? pinPad({ label: t("manager_approval"), onEnter: () => submit.click() }) : null;
      submit.addEventListener("click", async () => {
        if (!reason() || submit.dataset.busy) return;
        submit.dataset.busy = "1";
        submit.disabled = true;
        error.textContent = "";
        const body = { reason: reason() };
        if (pad) body.approver_pin = pad.value();
        try {
          const result = await post(`checks/${tab.id}/reopen`, body, { key });
          close(result);
        } catch (e) {
          error.textContent = e.message;
          if (pad) pad.clear();
          update();
        } finally {
          delete submit.dataset.busy;
        }
      });
      return frame({
        title: t("reopen_check", { n: tab.number, label: tab.label }),
        sub: money(history.bill ? history.bill.total : 0),
        wide: Boolean(pad),
        cls: "reopen-dialog",
        body: [
          needsApproval ? h("p.notice", {}, t("reopen_approval")) : null,
          h(
            "div.two-col",
            { class: pad ? "" : "single" },
            picker.el,
            pad ? pad.el : null,
          ),
        ],
        foot: [error, h("button.btn.btn-xl", { type: "button", onclick: () => close(null) }, t("cancel")), submit],
      });
    },
    { dismissable: false },
  ).then((result) => {
    if (!result || !result.check) return;
    toast(t("reopened_toast", { n: result.check.number }), "ok");
    Object.assign(history, { selected: null, bill: null, check: null });
    nav.openCheck(result.check.id, result.check);
  });
}
