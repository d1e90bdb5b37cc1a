// Dialogs for what happens to a check after ordering: void, comp/discount, move to a seat,
// transfer, merge, guests. Each write goes through check.write (version, live re-render).

import { get } from "./api.js";
import { E } from "../../js/errors.js";
import { renderCheck, seatCount, ui, write } from "./check.js";
import { guestsDialog } from "./floor.js";
import { can, state } from "./state.js";
import { config, frame, h, modal, money, parseMoney, pinPad, reasonPicker, t, toast, uuid } from "./util.js";

const VOID_REASONS = ["reason_changed_mind", "reason_wrong_entry", "reason_sent_back", "reason_too_long", "reason_dropped", "reason_86"];
// Answers after which the dialog's action cannot succeed by retrying.
const FINAL = [E.already_voided, E.line_voided, E.check_not_open, E.not_found];
const ADJUST_REASONS = ["reason_complaint", "reason_regular", "reason_birthday", "reason_staff", "reason_promo"];

// --- void ------------------------------------------------------------------------------------

export function voidDialog(line) {
  const key = uuid(); // one user action: a retry of the same tap reuses it
  const needsApproval = line.status === "sent";
  return modal((close) => {
    const error = h("div.modal-error", { role: "alert" });
    const submit = h("button.btn.btn-danger.btn-xl", { type: "button", id: "void-confirm", disabled: true }, t("void"));
    const reason = reasonPicker(VOID_REASONS, () => {
      submit.disabled = !reason.value();
    });
    const pad = needsApproval ? pinPad({ label: t("manager_approval"), onEnter: () => submit.click() }) : null;
    submit.addEventListener("click", async () => {
      if (!reason.value()) return;
      submit.disabled = true;
      error.textContent = "";
      const body = { reason: reason.value() };
      if (pad) body.approver_pin = pad.value();
      try {
        await write("POST", `lines/${line.id}/void`, body, { inDialog: true, key });
        if (ui.selected === line.id) ui.selected = null;
        renderCheck();
        toast(t("voided_toast", { item: line.name }), "ok");
        close(true);
      } catch (e) {
        error.textContent = e.message;
        if (pad) pad.clear();
        if (FINAL.includes(e.code)) {
          // Someone else got there first: nothing to retry here; the check has reloaded.
          submit.hidden = true;
          cancel.textContent = t("close");
        } else submit.disabled = !reason.value();
      }
    });
    const cancel = h("button.btn.btn-xl", { type: "button", onclick: () => close(null) }, t("cancel"));
    return frame({
      title: t("void_line", { item: line.name }),
      sub: money(line.total),
      cls: "void-dialog",
      wide: needsApproval,
      body: [
        needsApproval ? h("p.notice", {}, t("approval_needed_sent")) : null,
        h("div.two-col", { class: pad ? "" : "single" }, reason.el, pad ? pad.el : null),
      ],
      foot: [error, cancel, submit],
    });
  }, { dismissable: false });
}

// --- comp / discount -------------------------------------------------------------------------

export function adjustDialog(line) {
  const key = uuid();
  const selfApproves = can("discount.approve");
  return modal((close) => {
    const error = h("div.modal-error", { role: "alert" });
    const submit = h("button.btn.btn-primary.btn-xl", { type: "button", id: "adjust-confirm" }, t("apply"));
    let target = line && line.status !== "voided" ? line.id : null;
    let kind = "comp";
    let mode = "percent";
    const seg = (values, current, set) =>
      h(
        "div.choice-row",
        {},
        values.map(([value, label]) =>
          h(
            "button.btn",
            {
              type: "button",
              "aria-pressed": String(value === current()),
              dataset: { value },
              onclick: (event) => {
                set(value);
                for (const b of event.currentTarget.parentElement.children) b.setAttribute("aria-pressed", String(b === event.currentTarget));
                update();
              },
            },
            label,
          ),
        ),
      );
    const targets = [[null, t("whole_check")]];
    if (line && line.status !== "voided") targets.unshift([line.id, `${t("line_label")}: ${line.name}`]);
    const targetSeg = seg(targets, () => target, (v) => {
      target = v;
    });
    const kindSeg = seg(
      [
        ["comp", t("comp")],
        ["discount", t("discount")],
      ],
      () => kind,
      (v) => {
        kind = v;
      },
    );
    const modeSeg = seg(
      [
        ["percent", t("percent")],
        ["amount", t("amount")],
      ],
      () => mode,
      (v) => {
        mode = v;
      },
    );
    const value = h("input.text-input", { type: "text", inputmode: "decimal", placeholder: "10", "aria-label": t("discount") });
    const presets = h(
      "div.choice-row",
      {},
      [10, 15, 20, 25, 50].map((p) =>
        h(
          "button.btn",
          {
            type: "button",
            onclick: () => {
              mode = "percent";
              value.value = String(p);
              for (const b of modeSeg.children) b.setAttribute("aria-pressed", String(b.dataset.value === "percent"));
              update();
            },
          },
          `${p}%`,
        ),
      ),
    );
    const discountBox = h("div.field", {}, h("span.field-label", {}, t("discount")), modeSeg, presets, value);
    const reason = reasonPicker(ADJUST_REASONS, () => update());
    const pad = selfApproves ? null : pinPad({ label: t("manager_approval"), onEnter: () => submit.click() });
    value.addEventListener("input", () => update());
    function update() {
      discountBox.hidden = kind !== "discount";
      value.placeholder = mode === "percent" ? "10" : t("amount_placeholder");
      const okValue = kind === "comp" || (mode === "percent" ? Number(value.value.replace(",", ".")) > 0 : parseMoney(value.value) > 0);
      submit.disabled = !reason.value() || !okValue;
    }
    submit.addEventListener("click", async () => {
      if (submit.disabled) return;
      submit.disabled = true;
      error.textContent = "";
      const body = { kind, reason: reason.value() };
      if (target) body.line = target;
      if (kind === "discount") {
        if (mode === "percent") body.percent = value.value.trim().replace(",", ".");
        else body.amount = parseMoney(value.value);
      }
      if (pad) body.approver_pin = pad.value();
      try {
        await write("POST", "adjustments", body, { inDialog: true, key });
        toast(t("adjusted_toast"), "ok");
        close(true);
      } catch (e) {
        error.textContent = e.message;
        if (pad) pad.clear();
        update();
      }
    });
    update();
    return frame({
      title: t("comp_discount"),
      wide: true,
      cls: "adjust-dialog",
      body: h(
        "div.two-col",
        { class: pad ? "" : "single" },
        h(
          "div",
          {},
          h("div.field", {}, h("span.field-label", {}, t("apply_to")), targetSeg),
          h("div.field", {}, h("span.field-label", {}, t("what")), kindSeg),
          discountBox,
          reason.el,
        ),
        pad ? pad.el : null,
      ),
      foot: [error, h("button.btn.btn-xl", { type: "button", onclick: () => close(null) }, t("cancel")), submit],
    });
  }, { dismissable: false });
}

// --- seats, transfer, merge, guests ----------------------------------------------------------

export async function moveSeatDialog(line) {
  const seats = seatCount();
  const seat = await modal((close) =>
    frame({
      title: t("move_to_seat"),
      sub: line.name,
      body: h(
        "div.grid-buttons",
        {},
        [0, ...Array.from({ length: seats + 1 }, (_v, i) => i + 1)].map((s) =>
          h(
            "button.btn",
            { type: "button", class: s === line.seat ? "is-active" : "", dataset: { seat: s }, onclick: () => close({ s }) },
            s === 0 ? t("shared") : String(s),
          ),
        ),
      ),
      foot: [h("button.btn", { type: "button", onclick: () => close(null) }, t("cancel"))],
    }),
  );
  if (!seat || seat.s === line.seat) return;
  const result = await write("POST", "move-seat", { line_ids: [line.id], seat: seat.s });
  if (result) toast(t("moved_toast"), "ok");
}

export async function transferDialog(line) {
  const tab = state.check;
  const movable = line && line.status !== "voided" ? line : null;
  const choice = await modal((close) => {
    let scope = movable ? "line" : "check";
    const scopeRow = h(
      "div.choice-row",
      {},
      movable
        ? h("button.btn", { type: "button", "aria-pressed": "true", dataset: { scope: "line" } }, `${t("transfer_what_lines")}: ${movable.name}`)
        : null,
      h("button.btn", { type: "button", "aria-pressed": String(!movable), dataset: { scope: "check" } }, t("transfer_what_check")),
    );
    const servers = h(
      "div.field",
      {},
      h("span.field-label", {}, t("transfer_to_server")),
      h(
        "div.choice-row",
        {},
        (config.staff || [])
          .filter((s) => ["server", "bartender", "manager", "owner", "host"].includes(s.role))
          .map((s) =>
            h(
              "button.btn",
              { type: "button", disabled: tab.server && s.id === tab.server.id, dataset: { server: s.id }, onclick: () => close({ scope, to_server: s.id }) },
              s.name,
            ),
          ),
      ),
    );
    scopeRow.addEventListener("click", (event) => {
      const b = event.target.closest("[data-scope]");
      if (!b) return;
      scope = b.dataset.scope;
      for (const x of scopeRow.children) x.setAttribute("aria-pressed", String(x === b));
      servers.hidden = scope !== "check";
    });
    servers.hidden = scope !== "check";
    const tables = [];
    for (const area of (state.floor && state.floor.areas) || []) {
      const buttons = [...area.tables]
        .filter((table) => !(tab.table && table.id === tab.table.id))
        .sort((x, y) => x.name.localeCompare(y.name, undefined, { numeric: true }))
        .map((table) =>
          h(
            "button.btn",
            {
              type: "button",
              class: `st-${table.status}`,
              dataset: { table: table.id },
              title: t(table.status),
              onclick: () => close({ scope, to_table: table.id }),
            },
            table.name,
          ),
        );
      if (buttons.length) tables.push(h("div.area-row", {}, h("span.area-name", {}, area.name), h("div.choice-row", {}, buttons)));
    }
    return frame({
      title: t("transfer"),
      sub: `${tab.label} · ${t("check_n", { n: tab.number })}`,
      wide: true,
      cls: "transfer-dialog",
      body: [
        scopeRow,
        h("div.field", { style: { "margin-top": "12px" } }, h("span.field-label", {}, t("transfer_to_table")), tables),
        servers,
      ],
      foot: [h("button.btn.btn-xl", { type: "button", onclick: () => close(null) }, t("cancel"))],
    });
  });
  if (!choice) return;
  const body = {};
  if (choice.scope === "line") body.line_ids = [movable.id];
  if (choice.to_table) body.to_table = choice.to_table;
  if (choice.to_server) body.to_server = choice.to_server;
  const result = await write("POST", "transfer", body);
  if (result) {
    toast(t("transferred_toast"), "ok");
    ui.selected = null;
  }
}

export async function mergeDialog() {
  const tab = state.check;
  let body;
  try {
    body = await get("checks");
  } catch (error) {
    toast(error.message, "error");
    return;
  }
  const others = (body.checks || []).filter((c) => c.id !== tab.id);
  const other = await modal((close) =>
    frame({
      title: t("merge_into"),
      sub: `${tab.label} · ${t("check_n", { n: tab.number })}`,
      body: others.length
        ? h(
            "ul.list",
            {},
            others.map((c) =>
              h(
                "li",
                {},
                h(
                  "button",
                  { type: "button", dataset: { check: c.id }, onclick: () => close(c.id) },
                  h("span.num", {}, t("check_n", { n: c.number })),
                  h("span.what", {}, c.label, h("small", {}, c.server ? c.server.name : "")),
                  h("span.amt", {}, money(c.total || 0)),
                ),
              ),
            ),
          )
        : h("p.lines-empty", {}, t("no_other_checks")),
      foot: [h("button.btn", { type: "button", onclick: () => close(null) }, t("cancel"))],
    }),
  );
  if (!other) return;
  const result = await write("POST", "merge", { other });
  if (result) toast(t("merged_toast"), "ok");
}

export async function guestsAction() {
  const tab = state.check;
  const n = await guestsDialog(t("set_guests"), tab.guest_count);
  if (!n || n === tab.guest_count) return;
  const result = await write("POST", "guests", { guest_count: n });
  if (result) toast(t("guests_toast"), "ok");
}
