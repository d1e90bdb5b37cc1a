// The PIN screen: a big keypad (and the physical keyboard), errors and the lockout countdown.

import { post } from "./api.js";
import { E } from "../../js/errors.js";
import { $, $$, t } from "./util.js";

const MAX = 6;
let pin = "";
let busy = false;
let lockedUntil = 0;
let countdown = null;
let onSignedIn = () => {};

export function initPin(signedIn) {
  onSignedIn = signedIn;
  $("#pin-keypad").addEventListener("click", (event) => {
    const key = event.target.closest("[data-key]");
    if (key && !key.disabled) press(key.dataset.key);
  });
  render();
}

/** Show the PIN screen's message: an error (red) or information (grey). */
export function pinMessage(text, kind = "error") {
  const el = $("#pin-message");
  el.textContent = text || "";
  el.classList.toggle("info", kind === "info");
}

export function resetPin() {
  pin = "";
  busy = false;
  render();
}

/** Digits, Backspace and Enter from a physical keyboard (or a test's keyboard). */
export function pinKey(event) {
  if (/^[0-9]$/.test(event.key)) press(event.key);
  else if (event.key === "Backspace") press("back");
  else if (event.key === "Enter") press("ok");
  else return false;
  event.preventDefault();
  return true;
}

function press(key) {
  if (busy || Date.now() < lockedUntil) return;
  if (key === "back") pin = pin.slice(0, -1);
  else if (key === "ok") return submit();
  else if (pin.length < MAX) {
    pin += key;
    if ($("#pin-message").textContent && !$("#pin-message").classList.contains("info")) pinMessage("");
  }
  render();
}

function render() {
  $$("#pin-dots span").forEach((dot, i) => {
    dot.classList.toggle("on", i < pin.length);
    dot.classList.toggle("extra", i >= 4);
    dot.classList.toggle("show", i >= 4 && pin.length >= i);
  });
  const locked = Date.now() < lockedUntil;
  $$("#pin-keypad .key").forEach((k) => {
    k.disabled = locked || busy;
  });
}

async function submit() {
  if (pin.length < 4) {
    shake();
    pinMessage(t("pin_hint"), "info");
    return;
  }
  busy = true;
  render();
  try {
    const body = await post("auth/pin", { pin });
    pin = "";
    busy = false;
    pinMessage("");
    render();
    onSignedIn(body.staff);
  } catch (error) {
    pin = "";
    busy = false;
    shake();
    if (error.code === E.locked_out || (error.retryAfter && error.retryAfter > 0)) {
      startLockout(error.retryAfter || 30, error.code === E.wrong_pin ? t("wrong_pin") : "");
    } else if (error.code === E.wrong_pin || error.code === E.invalid_pin) {
      pinMessage(t("wrong_pin"));
    } else {
      pinMessage(error.message);
    }
    render();
  }
}

function startLockout(seconds, prefix) {
  lockedUntil = Date.now() + seconds * 1000;
  clearInterval(countdown);
  const tick = () => {
    const left = Math.ceil((lockedUntil - Date.now()) / 1000);
    if (left <= 0) {
      clearInterval(countdown);
      countdown = null;
      lockedUntil = 0;
      pinMessage("");
      render();
      return;
    }
    const text = t("locked_out", { s: left });
    pinMessage(prefix ? `${prefix}. ${text}` : text);
    $("#pin-message").dataset.lockout = String(left);
  };
  tick();
  countdown = setInterval(tick, 250);
  render();
}

function shake() {
  const dots = $("#pin-dots");
  dots.classList.remove("shake");
  void dots.offsetWidth; // restart the animation
  dots.classList.add("shake");
}
