// Card payments on a Stripe Terminal reader, inside a part's pay dialog (pay.js): choose the
// reader and who picks the tip, start the payment, then follow it (a poll every second, and at
// once when the websocket says the check changed) until the reader approves it, the card is
// declined (try again: the same PaymentIntent on the reader again; or cancel) or it is
// canceled. And the refund of a card payment from the closed checks (history.js), with a
// manager's PIN. Money is whole minor units (cents) throughout; the server computes every
// amount it charges, the tablet only shows them.
//
// The pay dialog hands these functions a context `ctx`: its state `f` and its helpers
// (fill, go, render, part, dueOf, tipText, errorBox, partLabel, billWrite, applyAnswer,
// reloadBill, open, close, version, setPoke).

import { get, post } from "./api.js";
import { E } from "../../js/errors.js";
import { can } from "./state.js";
import { amountPad, frame, h, modal, money, pinPad, reasonPicker, t, toast, uuid } from "./util.js";

const READER_KEY = "brigade.cardReader"; // the reader this tablet used last (localStorage)
const POLL_MS = 1000;
// Failures of the reader or of Stripe, not of the guest's card.
const READER_FAILURES = ["terminal_reader_busy", "terminal_reader_offline", "terminal_reader_timeout", "reader_action_failed", "stripe_unreachable"];
// Errors after which the dialog may be closed with the payment still waiting.
const LOST = [E.network, E.server_error, E.stripe_unreachable];

/** The venue's readers (GET readers), kept for the page's life and refreshed on each use. */
export const readers = { list: null };

function rememberedReader() {
  try {
    return Number(window.localStorage.getItem(READER_KEY)) || null;
  } catch (_e) {
    return null;
  }
}

function rememberReader(id) {
  try {
    window.localStorage.setItem(READER_KEY, String(id));
  } catch (_e) {
    /* private mode: the choice is not remembered */
  }
}

/** The card payment waiting on a reader for this part (from the bill), if any. */
export function pendingCard(part) {
  return ((part && part.payments) || []).find((p) => p.method === "card" && p.status === "pending") || null;
}

function readerLabel(id) {
  const reader = (readers.list || []).find((r) => r.id === id);
  return reader ? reader.label : t("card_reader_one");
}

/** "Visa •••• 4242" (or "" when Stripe did not say). */
export function cardName(payment) {
  const brand = payment.card_brand ? payment.card_brand.charAt(0).toUpperCase() + payment.card_brand.slice(1) : "";
  const last4 = payment.card_last4 ? `•••• ${payment.card_last4}` : "";
  return [brand, last4].filter(Boolean).join(" ");
}

/** "Approved — Visa •••• 4242, tip €3.68". */
function approvedText(payment) {
  const name = cardName(payment) || t("card");
  return payment.tip ? t("card_approved_tip", { card: name, tip: money(payment.tip) }) : t("card_approved", { card: name });
}

// --- choosing the reader and the tip ---------------------------------------------------------

async function refreshReaders(ctx) {
  const { f } = ctx;
  if (f.readersAsked) return;
  f.readersAsked = true;
  try {
    const body = await get("readers");
    readers.list = body.readers || [];
  } catch (e) {
    if (!readers.list) f.error = e.message;
  }
  if (ctx.open() && (f.step === "card" || f.step === "card-wait") && !f.sub) ctx.render();
}

/** The card step: which reader, who picks the tip, what will be charged; "Charge". */
export function renderCardChoice(ctx, p) {
  const { f } = ctx;
  refreshReaders(ctx);
  const list = readers.list || [];
  if (!list.some((r) => r.id === f.reader)) {
    const last = rememberedReader();
    f.reader = list.some((r) => r.id === last) ? last : list.length === 1 ? list[0].id : null;
  }
  const due = ctx.dueOf(p); // the server's quote: amount, tip and `due` (amount + tip)
  if (!due) {
    ctx.fill({ title: t("card_for", { part: ctx.partLabel(p) }), body: h("p.lines-empty", {}, t("loading")), foot: [ctx.errorBox()] });
    return;
  }
  const tip = f.tipOnReader ? 0 : due.tip;
  const charge = f.tipOnReader ? due.amount : due.due;
  const mode = (key, title, detail) =>
    h(
      "button.btn.tip-mode-btn",
      {
        type: "button",
        role: "radio",
        "aria-checked": String(f.tipOnReader === (key === "reader")),
        dataset: { tipMode: key },
        onclick: () => ctx.go({ tipOnReader: key === "reader" }),
      },
      h("span.tm-title", {}, title),
      h("span.tm-detail", {}, detail),
    );
  const presets = (ctx.bill().tip_presets || []).map((n) => `${n}%`).join(" · ");
  const start = h(
    "button.btn.btn-ok.btn-xl",
    { type: "button", id: "card-start", disabled: f.cardBusy || !f.reader, onclick: () => startCard(ctx) },
    f.cardBusy ? t("card_starting") : t("card_charge", { amount: money(charge) }),
  );
  ctx.fill({
    title: t("card_for", { part: ctx.partLabel(p) }),
    sub: due.amount < p.balance ? t("part_of_balance", { amount: money(due.amount), balance: money(p.balance) }) : money(p.balance),
    cls: "card-step",
    body: h(
      "div.card-choice",
      {},
      h(
        "div.cc-readers",
        {},
        h("div.field-label", { id: "card-readers-label" }, t("card_reader_choose")),
        h(
          "div.reader-grid",
          { id: "card-readers", role: "radiogroup", "aria-labelledby": "card-readers-label" },
          readers.list === null
            ? h("p.lines-empty", {}, t("loading"))
            : list.length
              ? list.map((r) =>
                  h(
                    "button.btn.reader-btn",
                    {
                      type: "button",
                      role: "radio",
                      "aria-checked": String(r.id === f.reader),
                      dataset: { reader: r.id },
                      onclick: () => ctx.go({ reader: r.id }),
                    },
                    h("span.rb-icon", { "aria-hidden": "true" }, "▭"),
                    h("span.rb-label", {}, r.label),
                  ),
                )
              : h("p.notice", {}, t("card_no_readers")),
        ),
        h("div.field-label", { id: "card-tip-label" }, t("tip")),
        h(
          "div.tip-mode",
          { role: "radiogroup", "aria-labelledby": "card-tip-label" },
          mode("reader", t("card_tip_on_reader"), presets ? t("card_tip_on_reader_hint", { presets }) : ""),
          mode("tablet", t("card_tip_here"), `${ctx.tipText(p)} · ${money(due.tip)}`),
        ),
        f.tipOnReader
          ? null
          : h("button.btn.card-change-tip", { type: "button", id: "card-change-tip", onclick: () => ctx.go({ step: "tip" }) }, t("change_tip")),
      ),
      h(
        "div.cc-sum",
        {},
        h(
          "div.ts-row",
          {},
          h("span", {}, t("toward_part")),
          h("b", { id: "card-amount" }, money(due.amount)),
          h("button.btn", { type: "button", id: "card-part-of-it", onclick: () => ctx.go({ sub: "part_amount" }) }, t("part_of_it")),
        ),
        h(
          "div.ts-due",
          {},
          h("span", {}, t("card_to_charge")),
          h("strong", { id: "card-charge" }, money(charge)),
          h("small", {}, f.tipOnReader ? t("card_plus_reader_tip") : tip ? t("card_incl_tip", { tip: money(tip) }) : t("no_tip")),
        ),
      ),
    ),
    foot: [
      ctx.errorBox(),
      h("button.btn.btn-xl", { type: "button", onclick: () => ctx.close() }, t("cancel")),
      h("button.btn.btn-xl", { type: "button", id: "card-to-cash", onclick: () => ctx.go({ step: "tender", payBy: "cash" }) }, t("card_cash_instead")),
      start,
    ],
  });
}

async function startCard(ctx) {
  const { f } = ctx;
  const p = ctx.part();
  if (!p || f.cardBusy || !f.reader) return;
  const due = ctx.dueOf(p);
  if (!due) return;
  const body = { part: p.id, channel: "reader", reader: f.reader };
  if (due.amount < p.balance) body.amount = due.amount;
  if (f.tipOnReader) body.tip_on_reader = true;
  else if (f.tip && f.tip.percent !== undefined) body.tip_percent = f.tip.percent;
  else if (f.tip && f.tip.amount !== undefined) body.tip = f.tip.amount;
  // The same tap again (a lost answer) is the same request: the same Idempotency-Key.
  const sig = JSON.stringify({ ...body, version: ctx.version() });
  if (sig !== f.cardSig) Object.assign(f, { cardSig: sig, cardKey: uuid() });
  Object.assign(f, { cardBusy: true, error: "", errorCode: null });
  ctx.render();
  try {
    const result = await ctx.billWrite("card-payments", body, { inDialog: true, key: f.cardKey });
    rememberReader(f.reader);
    follow(ctx, result.payment);
  } catch (e) {
    Object.assign(f, { error: e.message, errorCode: e.code });
    if (e.code !== E.stale_version && ctx.open()) await followPending(ctx);
  } finally {
    f.cardBusy = false;
    if (ctx.open()) ctx.render();
  }
}

/**
 * After a refused start (or cash refused with part_in_progress): a card payment may be waiting
 * on this part all the same (a reader that refused it, another tablet paying it by card):
 * show that one, with its Try again and Cancel. True when there is one.
 */
export async function followPending(ctx) {
  await ctx.reloadBill();
  const pending = pendingCard(ctx.part());
  if (!pending || !ctx.open()) return false;
  follow(ctx, pending);
  return true;
}

// --- following a card payment ------------------------------------------------------------------

/** Show `payment` (pending) and follow it until it is approved or canceled. */
export function follow(ctx, payment) {
  const { f } = ctx;
  Object.assign(f, { card: payment, step: "card-wait", sub: null, payBy: "card" });
  f.cardSeq = (f.cardSeq || 0) + 1;
  clearInterval(f.cardTimer);
  f.cardTimer = setInterval(() => poll(ctx), POLL_MS);
  ctx.setPoke(() => poll(ctx));
  setTimeout(() => poll(ctx), 0);
  refreshReaders(ctx); // the reader's name, when the dialog opened on a payment under way
}

/** Stop following (the dialog closed, or the payment is over). */
export function unfollow(ctx) {
  clearInterval(ctx.f.cardTimer);
  ctx.f.cardTimer = null;
  ctx.setPoke(null);
}

async function poll(ctx) {
  const { f } = ctx;
  if (!f.card || f.step !== "card-wait" || f.polling || f.cardBusy || !ctx.open()) return;
  f.polling = true;
  const seq = f.cardSeq;
  try {
    const result = await get(`card-payments/${f.card.id}`);
    if (seq !== f.cardSeq || f.cardBusy) return; // an action answered meanwhile: it is newer
    if (f.errorCode === E.poll) Object.assign(f, { error: "", errorCode: null, shown: null });
    answer(ctx, result);
  } catch (e) {
    if (e.status === 404) {
      unfollow(ctx);
      Object.assign(f, { card: null, step: "tender", error: e.message, errorCode: e.code });
      ctx.render();
    } else if (!f.error || f.errorCode === E.poll) {
      // Keep asking: the wifi may come back. Say so, and let the dialog be closed.
      Object.assign(f, { error: e.message, errorCode: E.poll });
      ctx.render();
    }
  } finally {
    f.polling = false;
  }
}

/** An answer about the followed payment: the bill and check, then what the payment says. */
function answer(ctx, result) {
  const { f } = ctx;
  ctx.applyAnswer(result);
  const payment = result && result.payment;
  if (!payment || !f.card || payment.id !== f.card.id) return;
  if (payment.status === "succeeded") {
    unfollow(ctx);
    Object.assign(f, {
      card: null,
      payment,
      closed: Boolean(result.check && result.check.status === "closed"),
      step: "done",
      sub: null,
      error: "",
      errorCode: null,
    });
    ctx.render();
    return;
  }
  if (payment.status !== "pending") {
    // Canceled (here, on another tablet, or on the reader): back to the part.
    unfollow(ctx);
    Object.assign(f, { card: null, step: "tender", payBy: "cash", cardSig: "" });
    toast(t("card_canceled"), "info");
    ctx.render();
    return;
  }
  const before = f.card;
  if (payment.attempts < before.attempts) return; // older than what is shown
  f.card = payment;
  const changed = ["failure_message", "attempts", "tip", "amount", "reader"].some((k) => before[k] !== payment[k]);
  if (changed) ctx.render();
}

/** Try again / Cancel: one at a time; an answer replaces whatever a poll had on its way. */
async function act(ctx, what) {
  const { f } = ctx;
  if (!f.card || f.cardBusy) return;
  f.cardSeq += 1;
  Object.assign(f, { cardBusy: what, error: "", errorCode: null });
  ctx.render();
  try {
    const result = await post(`card-payments/${f.card.id}/${what}`, {});
    f.cardBusy = false;
    answer(ctx, result);
  } catch (e) {
    Object.assign(f, { error: e.message, errorCode: e.code });
  } finally {
    f.cardBusy = false;
    if (ctx.open()) ctx.render();
    if (f.card) setTimeout(() => poll(ctx), 0); // ask how it is now (e.g. paid meanwhile)
  }
}

/** The payment on its way: waiting for the card, or declined with Try again and Cancel. */
export function renderCardWait(ctx) {
  const { f } = ctx;
  const payment = f.card;
  const p = ctx.part();
  const reader = readerLabel(payment.reader);
  const failed = Boolean(payment.failure_message);
  const readerFailed = failed && READER_FAILURES.includes(payment.failure_code);
  if (f.error && f.error === payment.failure_message) f.error = ""; // said once is enough
  const total = payment.collected; // amount + tip (a card has no rounding), from the server
  const status = failed
    ? readerFailed
      ? t("card_not_taken", { message: payment.failure_message })
      : t("card_declined", { message: payment.failure_message })
    : t("card_waiting", { reader, amount: money(total) });
  const lines = [
    `${t("toward_part")} ${money(payment.amount)}`,
    payment.tip_on_reader ? t("card_plus_reader_tip") : payment.tip ? `${t("tip")} ${money(payment.tip)}` : t("no_tip"),
    payment.attempts > 1 ? t("card_attempt", { n: payment.attempts }) : null,
  ].filter(Boolean);
  const cancel = (cls) =>
    h(
      `button.btn.btn-xl${cls}`,
      { type: "button", id: "card-cancel", disabled: Boolean(f.cardBusy), onclick: () => act(ctx, "cancel") },
      f.cardBusy === "cancel" ? t("card_canceling") : t("card_cancel"),
    );
  const foot = f.error ? [ctx.errorBox()] : [];
  if (LOST.includes(f.errorCode) || f.errorCode === E.poll) {
    foot.push(h("button.btn.btn-xl", { type: "button", id: "card-leave", onclick: () => ctx.close() }, t("card_leave")));
  }
  if (!failed) foot.push(cancel(".btn-danger"));
  const root = ctx.fill({
    title: t("card_for", { part: p ? ctx.partLabel(p) : "" }),
    sub: reader,
    cls: `card-wait-step ${failed ? "is-declined" : "is-waiting"}`,
    body: [
      h(
        "div.card-state",
        { id: "card-state", class: failed ? "declined" : "waiting", role: "status" },
        failed ? h("div.cs-icon", { "aria-hidden": "true" }, "✕") : h("div.spinner.cs-spinner", { "aria-hidden": "true" }),
        h("h3", { id: "card-status" }, status),
        h("p.cs-hint", {}, failed ? (readerFailed ? t("card_not_taken_hint") : t("card_declined_hint")) : payment.tip_on_reader ? t("card_waiting_tip_hint") : t("card_waiting_hint")),
        h("p.cs-lines", { id: "card-lines" }, lines.join(" · ")),
      ),
      failed
        ? h(
            "div.card-actions",
            {},
            h(
              "button.btn.btn-primary.btn-xl",
              { type: "button", id: "card-retry", disabled: Boolean(f.cardBusy), onclick: () => act(ctx, "retry") },
              f.cardBusy === "retry" ? t("card_starting") : t("card_try_again"),
            ),
            cancel(""),
          )
        : null,
    ],
    foot,
  });
  root.dataset.card = failed ? "declined" : "waiting";
}

/** The top of the done step for a card payment: approved, what was charged, the card. */
export function cardApproved(payment) {
  return [
    h(
      "div.change-due.card-ok",
      {},
      h("span", {}, t("card_charged")),
      h("strong", { id: "card-charged" }, money(payment.collected)),
    ),
    h("p.card-approved", { id: "card-approved" }, approvedText(payment)),
    h(
      "p.pay-details",
      { id: "pay-details" },
      [`${t("paid")} ${money(payment.amount)}`, payment.tip ? `${t("tip")} ${money(payment.tip)}` : t("no_tip")].join(" · "),
    ),
  ];
}

// --- refunds (closed checks) -------------------------------------------------------------------

const REFUND_REASONS = ["reason_refund_complaint", "reason_refund_wrong_amount", "reason_refund_double"];

/** What of a card payment can still go back, as the server says (amount + tip − refunded). */
export function refundable(payment) {
  return payment.refundable || 0;
}

/**
 * Refund (part of) a card payment: the amount (all of it unless changed), the reason, and a
 * manager's PIN unless a manager is signed in. Resolves to the answer, or null.
 */
export function refundDialog(payment, { title }) {
  const left = refundable(payment);
  const key = uuid();
  const needsApproval = !can("discount.approve");
  return modal(
    (close) => {
      const error = h("div.modal-error", { role: "alert", id: "refund-error" });
      const submit = h("button.btn.btn-danger.btn-xl", { type: "button", id: "refund-confirm", disabled: true }, t("refund"));
      const pad = amountPad({
        value: left,
        label: t("refund_amount"),
        id: "refund-pad",
        quick: [{ label: t("refund_all", { amount: money(left) }), value: left, key: "all" }],
        onChange: () => update(),
      });
      const picker = reasonPicker(REFUND_REASONS, () => update(), "refund-reason");
      const reason = picker.value;
      function update() {
        const amount = pad.value();
        submit.disabled = !reason() || amount <= 0 || amount > left;
        submit.textContent = amount > 0 ? t("refund_amount_button", { amount: money(amount) }) : t("refund");
      }
      const pin = needsApproval ? pinPad({ label: t("manager_approval"), onEnter: () => submit.click() }) : null;
      submit.addEventListener("click", async () => {
        const amount = pad.value();
        if (submit.dataset.busy || !reason() || amount <= 0 || amount > left) return;
        submit.dataset.busy = "1";
        submit.disabled = true;
        error.textContent = "";
        const body = { amount, reason: reason() };
        if (pin) body.approver_pin = pin.value();
        try {
          close(await post(`payments/${payment.id}/refunds`, body, { key }));
        } catch (e) {
          error.textContent = e.message;
          if (pin) pin.clear();
          update();
        } finally {
          delete submit.dataset.busy;
        }
      });
      update();
      return frame({
        title,
        sub: `${cardName(payment) || t("card")} · ${money(payment.collected)}`,
        wide: true,
        cls: "refund-dialog",
        body: [
          payment.refunded ? h("p.notice", {}, t("refunded_already", { amount: money(payment.refunded), left: money(left) })) : null,
          h(
            "div.refund-cols",
            {},
            h("div.refund-amount", {}, pad.el),
            h(
              "div.refund-why",
              {},
              picker.el,
              pin ? h("p.notice", {}, t("refund_approval")) : null,
              pin ? pin.el : null,
            ),
          ),
        ],
        foot: [error, h("button.btn.btn-xl", { type: "button", onclick: () => close(null) }, t("cancel")), submit],
      });
    },
    { dismissable: false },
  );
}
