// Small helpers shared by every screen: translated strings, money, DOM, toasts, dialogs.

export const config = JSON.parse(document.getElementById("pos-config").textContent);
const strings = JSON.parse(document.getElementById("pos-strings").textContent);

/** A translated string (rendered by Django), with %(name)s placeholders filled in. */
export function t(key, params = {}) {
  let text = strings[key];
  if (text === undefined) {
    console.warn("missing string", key);
    text = key;
  }
  return text.replace(/%\((\w+)\)[sd]/g, (_m, name) => (name in params ? String(params[name]) : ""))
    .replace(/%%/g, "%");
}

const lang = document.documentElement.lang || "en";
const moneyFormat = new Intl.NumberFormat(lang, { style: "currency", currency: config.currency || "EUR" });
const fractionDigits = moneyFormat.resolvedOptions().maximumFractionDigits;

/** Minor units (cents) to a display string: 3200 -> "€32.00". */
export function money(minor) {
  return moneyFormat.format((minor || 0) / 10 ** fractionDigits);
}

/** "+€3.50", "−€1.00" or "" for zero. */
export function delta(minor) {
  if (!minor) return "";
  return (minor > 0 ? "+" : "−") + money(Math.abs(minor));
}

/** A decimal string typed by a person ("5", "5.5", "5,50") to minor units, or null. Digits
 * only: never through a float. */
export function parseMoney(text) {
  const clean = String(text || "").trim().replace(",", ".");
  if (!/^\d+(\.\d{0,2})?$/.test(clean)) return null;
  const [whole, frac = ""] = clean.split(".");
  if (frac.length > fractionDigits && /[1-9]/.test(frac.slice(fractionDigits))) return null;
  const minor = (frac + "0".repeat(fractionDigits)).slice(0, fractionDigits);
  return parseInt(whole, 10) * 10 ** fractionDigits + (minor ? parseInt(minor, 10) : 0);
}

// No money is computed here or anywhere in the tablet: tips, cash rounding, change, split
// shares and drawer counts come from the server (tests/payments/test_no_js_money.py).

export function uuid() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  // Fallback for old WebViews on plain http (randomUUID needs a secure context).
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function initials(name) {
  return String(name || "")
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((p) => p[0])
    .join("")
    .toUpperCase();
}

/**
 * Build an element: h("button.btn.btn-primary", {type: "button", onclick}, "Send").
 * Attributes starting with "on" are listeners; `dataset`, `style` objects are merged;
 * `false`/`null` attributes are left out; children may be strings, nodes, arrays or null.
 */
export function h(tag, attrs = {}, ...children) {
  const [name, ...classes] = tag.split(".");
  const el = document.createElement(name || "div");
  if (classes.length) el.className = classes.join(" ");
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (key === "dataset") {
      Object.assign(el.dataset, value);
    } else if (key === "style" && typeof value === "object") {
      for (const [prop, v] of Object.entries(value)) el.style.setProperty(prop, v);
    } else if (key === "class") {
      el.className += (el.className ? " " : "") + value;
    } else if (value === true) {
      el.setAttribute(key, "");
    } else {
      el.setAttribute(key, value);
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

// --- toasts ---------------------------------------------------------------------------------

export function toast(message, kind = "info", ms = 3500) {
  const el = h("div.toast", { class: kind, role: kind === "error" ? "alert" : "status" }, message);
  const box = $("#toasts");
  box.append(el);
  while (box.children.length > 3) box.firstElementChild.remove();
  setTimeout(() => el.remove(), ms);
  return el;
}

// --- dialogs --------------------------------------------------------------------------------

const openModals = [];

/**
 * Open a dialog. `build(close)` returns the dialog's element (a `.modal`); `close(value)`
 * removes it and resolves the promise that `modal()` returns.
 */
export function modal(build, { dismissable = true } = {}) {
  return new Promise((resolve) => {
    let done = false;
    const backdrop = h("div.modal-backdrop");
    const close = (value) => {
      if (done) return;
      done = true;
      backdrop.remove();
      openModals.splice(openModals.indexOf(entry), 1);
      resolve(value);
    };
    const entry = { close, backdrop };
    const dialog = build(close);
    dialog.setAttribute("role", "dialog");
    dialog.setAttribute("aria-modal", "true");
    backdrop.append(dialog);
    if (dismissable) {
      backdrop.addEventListener("pointerdown", (e) => {
        if (e.target === backdrop) close(null);
      });
    }
    openModals.push(entry);
    $("#modal-root").append(backdrop);
    const focus = dialog.querySelector("[data-autofocus]");
    if (focus) setTimeout(() => focus.focus(), 30);
  });
}

export function closeAllModals() {
  for (const entry of [...openModals].reverse()) entry.close(null);
}

/** Escape on a keyboard: close the top dialog (as its Cancel would). */
export function closeTopModal() {
  const top = openModals[openModals.length - 1];
  if (top) top.close(null);
}

export function hasOpenModal() {
  return openModals.length > 0;
}

/** A standard dialog frame: title, optional subtitle, body nodes, footer nodes. */
export function frame({ title, sub = null, body = [], foot = [], wide = false, cls = "" }) {
  return h(
    "div.modal",
    { class: (wide ? "wide " : "") + cls },
    h("div.modal-head", {}, h("h2", {}, title), sub ? h("span.sub", {}, sub) : null),
    h("div.modal-body", {}, body),
    foot.length ? h("div.modal-foot", {}, foot) : null,
  );
}

/** Ask a yes/no question; resolves true or false. */
export function confirmDialog(question, yesLabel, { danger = false } = {}) {
  return modal((close) =>
    frame({
      title: question,
      foot: [
        h("button.btn", { type: "button", onclick: () => close(false) }, t("cancel")),
        h(
          "button.btn",
          { type: "button", class: danger ? "btn-danger" : "btn-primary", onclick: () => close(true), "data-autofocus": true },
          yesLabel,
        ),
      ],
    }),
  ).then(Boolean);
}

/** A numeric keypad for a PIN, used inline in approval dialogs. Returns {el, value(), clear()}. */
export function pinPad({ onEnter = null, label = "" } = {}) {
  let pin = "";
  const dots = h("div.pin-dots", {}, [...Array(6)].map((_v, i) => h("span", { class: i >= 4 ? "extra" : "" })));
  const render = () => {
    $$("span", dots).forEach((dot, i) => {
      dot.classList.toggle("on", i < pin.length);
      if (i >= 4) dot.classList.toggle("show", pin.length >= i);
    });
  };
  const press = (key) => {
    if (key === "back") pin = pin.slice(0, -1);
    else if (key === "ok") {
      if (onEnter) onEnter(pin);
      return;
    } else if (pin.length < 6) pin += key;
    render();
  };
  const keys = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "back", "0", "ok"].map((k) =>
    h(
      "button.key",
      {
        type: "button",
        class: k === "back" ? "key-fn" : k === "ok" ? "key-ok" : "",
        dataset: { key: k },
        "aria-label": k === "back" ? "⌫" : null,
        onclick: () => press(k),
      },
      k === "back" ? "⌫" : k === "ok" ? t("ok") : k,
    ),
  );
  const el = h(
    "div.pin-inline",
    {},
    label ? h("div.field-label", {}, label) : null,
    dots,
    h("div.keypad.small", { role: "group" }, keys),
  );
  render();
  return {
    el,
    value: () => pin,
    clear: () => {
      pin = "";
      render();
    },
    press,
  };
}

/**
 * A keypad for an amount, typed like a till: digits come in from the right as minor units
 * (2, 3, 4, 5 -> €23.45), "00" adds two zeros, ⌫ takes the last digit off. Whole minor units
 * only, never a float. The first key replaces a preset value. `quick` adds buttons that set
 * an amount ([{label, value}]). Returns {el, value(), set(v)}.
 */
export function amountPad({ value = 0, label = "", onChange = null, max = 10_000_000, quick = [], id = null } = {}) {
  // The digits typed, as text: a key appends to them and ⌫ takes the last one off.
  let digits = String(value);
  let amount = value;
  let fresh = true;
  const display = h("output.amount-display", { "aria-live": "polite", id: id ? `${id}-value` : null });
  const render = (initial = false) => {
    display.textContent = money(amount);
    display.classList.toggle("fresh", fresh && amount > 0);
    if (onChange && !initial) onChange(amount);
  };
  const press = (key) => {
    const typed = key === "back" ? (fresh ? "" : digits.slice(0, -1)) : (fresh ? "" : digits) + key;
    const next = Number(typed.replace(/^0+/, "") || "0");
    if (next > max) return;
    digits = String(next);
    amount = next;
    fresh = false;
    render();
  };
  const keys = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "00", "0", "back"].map((k) =>
    h(
      "button.key",
      {
        type: "button",
        class: k === "back" ? "key-fn" : "",
        dataset: { key: k },
        "aria-label": k === "back" ? t("delete") : null,
        onclick: () => press(k),
      },
      k === "back" ? "⌫" : k,
    ),
  );
  const el = h(
    "div.amount-pad",
    { id },
    label ? h("div.field-label", {}, label) : null,
    display,
    quick.length
      ? h(
          "div.choice-row.amount-quick",
          {},
          quick.map((q) =>
            h(
              "button.btn",
              {
                type: "button",
                dataset: { quick: q.key || "" },
                onclick: () => {
                  amount = q.value > max ? max : q.value;
                  digits = String(amount);
                  fresh = true;
                  render();
                },
              },
              q.label,
            ),
          ),
        )
      : null,
    h("div.keypad.small", { role: "group" }, keys),
  );
  render(true);
  return {
    el,
    value: () => amount,
    set: (v) => {
      amount = v;
      digits = String(v);
      fresh = true;
      render();
    },
  };
}

/** A − n + stepper; returns {el, value(), set(v)}. */
export function stepper({ value = 0, min = 0, max = 999, label = "", onChange = null, id = null } = {}) {
  let n = value;
  const out = h("output", { "aria-live": "polite" });
  const minus = h("button", { type: "button", "aria-label": `${label} −`, dataset: { step: "-1" } }, "−");
  const plus = h("button", { type: "button", "aria-label": `${label} +`, dataset: { step: "1" } }, "+");
  const render = () => {
    out.textContent = String(n);
    minus.disabled = n <= min;
    plus.disabled = n >= max;
  };
  const set = (v) => {
    n = Math.max(min, Math.min(max, v));
    render();
    if (onChange) onChange(n);
  };
  minus.addEventListener("click", () => set(n - 1));
  plus.addEventListener("click", () => set(n + 1));
  render();
  return { el: h("div.stepper", { id, role: "group", "aria-label": label }, minus, out, plus), value: () => n, set };
}

const clockFormat = new Intl.DateTimeFormat(lang, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
/** An ISO time as the venue's tablets show it: "20:15". */
export function clock(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? "" : clockFormat.format(date);
}

/** Reason buttons plus a free-text field (its id: `inputId`); returns {el, value()}. */
export function reasonPicker(keys, onChange, inputId = undefined) {
  let chosen = "";
  const input = h("input.text-input", { type: "text", maxlength: "200", id: inputId, placeholder: t("reason_other"), "aria-label": t("reason_other") });
  const buttons = keys.map((key) =>
    h(
      "button.btn",
      {
        type: "button",
        "aria-pressed": "false",
        dataset: { reason: key },
        onclick: (event) => {
          chosen = t(key);
          input.value = "";
          for (const b of buttons) b.setAttribute("aria-pressed", String(b === event.currentTarget));
          onChange();
        },
      },
      t(key),
    ),
  );
  input.addEventListener("input", () => {
    if (input.value.trim()) {
      chosen = "";
      for (const b of buttons) b.setAttribute("aria-pressed", "false");
    }
    onChange();
  });
  return {
    el: h("div.field", {}, h("span.field-label", {}, t("reason")), h("div.choice-row", {}, buttons), input),
    value: () => input.value.trim() || chosen,
  };
}
