// The tablet app: screens (PIN, floor, check), the signed-in staff member, idle lock,
// the live connection and the barcode scanner.

import { get, post, setUnauthenticatedHandler } from "./api.js";
import { E } from "../../js/errors.js";
import { initCheck, onCheckChanged, onItemAvailability, onModifierAvailability, openCheck, reloadCheck, renderCheck, scan, ui } from "./check.js";
import { initDrawer, showDrawers } from "./drawer.js";
import { applyCheckChanged, initFloor, loadFloor, renderFloor } from "./floor.js";
import { initHistory, onClosedCheckChanged, showClosed } from "./history.js";
import { Live } from "./live.js";
import { initPay, onPayCheckChanged, openPay, pay, reloadBill, renderPay } from "./pay.js";
import { initPin, pinKey, pinMessage, resetPin } from "./pin.js";
import { nav, setMenus, state } from "./state.js";
import { $, closeAllModals, closeTopModal, config, h, hasOpenModal, initials, t, toast } from "./util.js";

const app = $("#app");
const IDLE_MS = Number(app.dataset.idleSeconds || config.idleSeconds || 120) * 1000;
const KEEPALIVE_MS = 30000;

// --- screens ---------------------------------------------------------------------------------

function show(screen) {
  state.screen = screen;
  app.dataset.screen = screen;
  for (const el of document.querySelectorAll(".screen")) el.hidden = el.id !== `screen-${screen}`;
  $("#back-to-floor").hidden = !["check", "pay", "closed", "drawer"].includes(screen);
  $("#switch-user").hidden = !state.me;
  // Closed checks and the drawer are a tap away from the floor (not in the middle of an order).
  $("#tb-nav").hidden = !state.me || !["floor", "closed", "drawer"].includes(screen);
  for (const button of document.querySelectorAll("#tb-nav [data-nav]")) {
    if (button.dataset.nav === screen) button.setAttribute("aria-current", "page");
    else button.removeAttribute("aria-current");
  }
  if (screen !== "check" && screen !== "pay") $("#tb-title").textContent = config.venue;
}

function renderUser() {
  const me = state.me;
  $("#tb-user").replaceChildren(...(me ? [h("span.initials", {}, initials(me.name)), me.name] : []));
  $("#switch-user").hidden = !me;
  $("#conn").hidden = !me;
}

nav.showFloor = () => {
  state.check = null;
  ui.checkId = null;
  pay.checkId = null;
  if (location.hash) history.replaceState(null, "", location.pathname);
  show("floor");
  renderFloor();
  refreshMenus().catch(() => {});
};

nav.openCheck = async (id, body = null) => {
  const ok = await openCheck(id, body);
  if (!ok) return;
  if (location.hash !== `#check-${id}`) history.replaceState(null, "", `#check-${id}`);
  show("check");
  renderCheck();
};

nav.openPay = async (id) => {
  const ok = await openPay(id);
  if (!ok) {
    if (state.check && state.check.status !== "open") nav.showFloor();
    return;
  }
  if (location.hash !== `#check-${id}`) history.replaceState(null, "", `#check-${id}`);
  show("pay");
  renderPay();
};

nav.showClosed = async () => {
  leaveCheck();
  show("closed");
  await showClosed();
};

nav.showDrawer = async () => {
  leaveCheck();
  show("drawer");
  await showDrawers();
};

/** Off the check screens: nothing on screen is a check any more. */
function leaveCheck() {
  state.check = null;
  ui.checkId = null;
  pay.checkId = null;
  if (location.hash) history.replaceState(null, "", location.pathname);
}

nav.lock = (message = "") => lock(message);

$("#back-to-floor").addEventListener("click", () => nav.showFloor());
$("#nav-closed").addEventListener("click", () => nav.showClosed());
$("#nav-drawer").addEventListener("click", () => nav.showDrawer());
$("#switch-user").addEventListener("click", () => lock("", { signOut: true }));

// --- signing in and out ----------------------------------------------------------------------

async function signedIn(staff, permissions = null) {
  state.me = staff;
  if (!permissions) {
    try {
      const me = await get("me");
      permissions = me.permissions || [];
    } catch (_e) {
      permissions = [];
    }
  }
  state.permissions = new Set(permissions);
  state.lastActivity = Date.now();
  renderUser();
  try {
    await Promise.all([refreshMenus(), loadFloor()]);
  } catch (error) {
    toast(error.message, "error");
  }
  live.setSeq(state.floor ? state.floor.seq : 0);
  state.seq = live.lastSeq || 0;
  live.start();
  const wanted = /^#check-(\d+)$/.exec(location.hash);
  if (wanted) await nav.openCheck(Number(wanted[1]));
  else nav.showFloor();
}

function lock(message = "", { signOut = false } = {}) {
  if (signOut || state.me) post("auth/logout", {}).catch(() => {});
  state.me = null;
  state.permissions = new Set();
  state.check = null;
  ui.checkId = null;
  pay.checkId = null;
  ui.mode86 = false;
  if (location.hash) history.replaceState(null, "", location.pathname); // the next person starts on the floor
  closeAllModals();
  live.stop();
  renderUser();
  resetPin();
  pinMessage(message, "info");
  show("pin");
}

setUnauthenticatedHandler((error) => {
  if (error.code === E.device_not_paired) {
    location.reload(); // revoked in the back office: the page asks to pair again
    return;
  }
  if (!state.me) return;
  lock(error.code === E.locked ? t("locked") : error.message);
});

// --- idle lock and keep-alive ----------------------------------------------------------------

let lastKeepAlive = Date.now();
const activity = () => {
  state.lastActivity = Date.now();
};
for (const type of ["pointerdown", "keydown", "touchstart"]) document.addEventListener(type, activity, { capture: true, passive: true });

setInterval(() => {
  if (!state.me) return;
  const idle = Date.now() - state.lastActivity;
  if (idle >= IDLE_MS) {
    lock(t("locked"));
    return;
  }
  // The server locks a session it has not heard from (POS_IDLE_LOCK_SECONDS): someone who is
  // busy on the tablet without writing anything keeps it awake.
  if (state.lastActivity > lastKeepAlive && Date.now() - lastKeepAlive > KEEPALIVE_MS) {
    lastKeepAlive = Date.now();
    get("me").catch(() => {});
  }
}, 1000);

// --- menus -----------------------------------------------------------------------------------

let menusFetchedAt = 0;
async function refreshMenus() {
  if (!state.me) return;
  menusFetchedAt = Date.now();
  const body = await get("menus", { etag: state.menusEtag });
  if (body && !body.notModified) {
    setMenus(body, body.__etag);
    if (state.screen === "check") renderCheck();
  }
}
// Menus come and go with their windows (lunch until 16:00): look again now and then.
setInterval(() => {
  if (state.me && Date.now() - menusFetchedAt > 5 * 60000) refreshMenus().catch(() => {});
}, 60000);

// --- live ------------------------------------------------------------------------------------

const banner = $("#banner");
const live = new Live({
  onEvent(event) {
    state.seq = event.seq;
    const data = event.data || {};
    switch (event.type) {
      case "check.changed": {
        const ready = applyCheckChanged(data);
        if (ready) toast(t("food_ready_toast", { table: ready.name }), "ready", 8000);
        onCheckChanged(data);
        onPayCheckChanged(data);
        onClosedCheckChanged(data);
        break;
      }
      case "item.availability":
        onItemAvailability(data);
        break;
      case "modifier.availability":
        onModifierAvailability(data);
        break;
      default:
        break;
    }
  },
  async onResync() {
    const [floor] = await Promise.all([loadFloor(), refreshMenus()]);
    if (state.screen === "floor") renderFloor();
    if (state.screen === "check") await reloadCheck();
    if (state.screen === "pay") await reloadBill();
    if (state.screen === "closed") await showClosed();
    return floor.seq;
  },
  onState(connection) {
    $("#conn").dataset.state = connection;
    $("#conn").title = connection === "live" ? t("connected") : connection === "reconnecting" ? t("reconnecting") : t("offline");
    banner.hidden = connection !== "reconnecting" || !state.me;
  },
  onUnauthorized() {
    if (state.me) lock(t("locked"));
  },
  onRetrying() {
    if (state.me) get("me").catch(() => {}); // a 401 locks the tablet (see above)
  },
});

document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") live.nudge();
});
window.addEventListener("online", () => live.nudge());

// --- keyboard: PIN digits, and the barcode scanner -------------------------------------------

let scanned = "";
let scanTimer = null;
document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.key === "Escape" && hasOpenModal()) {
    closeTopModal();
    return;
  }
  if (state.screen === "pin") {
    pinKey(event);
    return;
  }
  const target = event.target;
  const typing = target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.isContentEditable);
  if (typing || hasOpenModal() || state.screen !== "check") return;
  // A scanner types the code and Enter, quickly, wherever the focus is.
  if (event.key === "Enter") {
    if (scanned) {
      event.preventDefault();
      scan(scanned);
    }
    scanned = "";
    return;
  }
  if (event.key.length === 1) {
    scanned += event.key;
    clearTimeout(scanTimer);
    scanTimer = setTimeout(() => {
      scanned = "";
    }, 1000);
  }
});

// Back button of the browser (or a swipe) from a check goes to the floor.
window.addEventListener("hashchange", () => {
  if (!state.me) return;
  const wanted = /^#check-(\d+)$/.exec(location.hash);
  if (wanted && Number(wanted[1]) !== ui.checkId) nav.openCheck(Number(wanted[1]));
  else if (!wanted && (state.screen === "check" || state.screen === "pay")) nav.showFloor();
});

// --- start -----------------------------------------------------------------------------------

initPin((staff) => signedIn(staff));
initFloor();
initCheck();
initPay();
initHistory();
initDrawer();

(async function boot() {
  try {
    const me = await get("me");
    await signedIn(me.staff, me.permissions);
  } catch (error) {
    show("pin");
    if (error.code === E.locked) pinMessage(t("locked"), "info");
    else if (error.status !== 401 && error.status !== 403) pinMessage(error.message);
  }
})();
