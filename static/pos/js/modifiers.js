// The modifier dialog: each group with its rule, big toggles (steppers where one modifier may
// be taken more than once), nested groups opening under the chosen modifier, the running
// price, and Add enabled only when every rule holds. The price (free units included) is the
// server's: POST items/{id}/quote prices the choices as adding the line will, and the dialog
// does no money arithmetic. The server validates again when the line is added.

import { post } from "./api.js";
import { delta, frame, h, modal, money, t } from "./util.js";

// A group's selection: Map(modifier id -> {qty, nested: selection of the modifier's group})

function chosenCount(sel) {
  let n = 0;
  for (const s of sel.values()) n += s.qty;
  return n;
}

function groupValid(group, sel) {
  const n = chosenCount(sel);
  if (n < group.min || n > group.max) return false;
  for (const [id, s] of sel) {
    const mod = group.modifiers.find((m) => m.id === id);
    if (mod && mod.group && !groupValid(mod.group, s.nested)) return false;
  }
  return true;
}

function toChoices(group, sel) {
  const result = [];
  for (const mod of group.modifiers) {
    const s = sel.get(mod.id);
    if (!s) continue;
    result.push({ modifier: mod.id, quantity: s.qty, choices: mod.group ? toChoices(mod.group, s.nested) : [] });
  }
  return result;
}

function defaultSelection(group) {
  const sel = new Map();
  for (const mod of group.modifiers) {
    if (mod.default && mod.available !== false && chosenCount(sel) < group.max) {
      sel.set(mod.id, { qty: 1, nested: mod.group ? defaultSelection(mod.group) : new Map() });
    }
  }
  return sel;
}

/** The pre-selected choices of an item's groups, as the API takes them (for scans). */
export function defaultChoices(groups) {
  return groups.flatMap((group) => toChoices(group, defaultSelection(group)));
}

/**
 * Open the dialog for `item`. `submit(line)` adds the line ({quantity, seat, course, note,
 * modifiers}) and throws an ApiError when the server refuses; its message is shown here.
 */
export function openModifierDialog(item, { seat, course, seats, submit }) {
  const groups = item.modifier_groups || [];
  const selection = new Map(groups.map((g) => [g.id, defaultSelection(g)]));
  const line = { quantity: 1, seat, course, note: "" };

  return modal((close) => {
    const groupsBox = h("div.mod-groups");
    const price = h("div.mod-price", { id: "mod-price", "aria-live": "polite" });
    const error = h("div.modal-error", { role: "alert" });
    const add = h("button.btn.btn-primary.btn-xl", { type: "button", id: "mod-add" }, t("add"));
    const qty = h("output", { id: "mod-qty" }, "1");
    const note = h("input.text-input", {
      type: "text",
      maxlength: "200",
      id: "mod-note",
      placeholder: t("note_placeholder"),
      "aria-label": t("note"),
    });
    note.addEventListener("input", () => {
      line.note = note.value;
    });
    const seatSeg = h("div.seg", { role: "group", "aria-label": t("seat") });
    const courseSeg = h("div.seg", { role: "group", "aria-label": t("course") });

    const renderSeg = () => {
      const seatButtons = [h("button", { type: "button", "aria-pressed": String(line.seat === 0), dataset: { seat: 0 } }, t("shared"))];
      for (let s = 1; s <= Math.max(seats, line.seat); s += 1) {
        seatButtons.push(h("button", { type: "button", "aria-pressed": String(line.seat === s), dataset: { seat: s } }, String(s)));
      }
      seatSeg.replaceChildren(...seatButtons);
      const courseButtons = [];
      for (let c = 1; c <= Math.max(3, line.course); c += 1) {
        courseButtons.push(h("button", { type: "button", "aria-pressed": String(line.course === c), dataset: { course: c } }, String(c)));
      }
      courseSeg.replaceChildren(...courseButtons);
    };
    seatSeg.addEventListener("click", (e) => {
      const b = e.target.closest("[data-seat]");
      if (b) {
        line.seat = Number(b.dataset.seat);
        renderSeg();
      }
    });
    courseSeg.addEventListener("click", (e) => {
      const b = e.target.closest("[data-course]");
      if (b) {
        line.course = Number(b.dataset.course);
        renderSeg();
      }
    });

    // The server's price for the current choices; a newer request supersedes an older one.
    let quoted = null;
    let asked = 0;
    const freeOf = (mods, result = new Map()) => {
      for (const m of mods) {
        result.set(m.modifier, m.free_quantity);
        freeOf(m.choices, result);
      }
      return result;
    };
    const showPrice = () => {
      price.classList.toggle("pending", !quoted || quoted.seq !== asked);
      if (!quoted) return;
      price.replaceChildren(money(quoted.total));
      if (quoted.quantity > 1) price.append(h("small", {}, `${quoted.quantity} × ${money(quoted.unit_total)}`));
      price.dataset.amount = String(quoted.total);
    };
    const requestQuote = async () => {
      const seq = ++asked;
      const modifiers = groups.flatMap((g) => toChoices(g, selection.get(g.id)));
      try {
        const answer = await post(`items/${item.id}/quote`, { quantity: line.quantity, modifiers }, { retries: 1 });
        if (seq !== asked) return;
        quoted = { ...answer, seq };
        draw();
      } catch (err) {
        if (seq !== asked) return;
        error.textContent = err.message;
        showPrice();
      }
    };
    const draw = () => {
      const scroll = groupsBox.parentElement ? groupsBox.parentElement.scrollTop : 0;
      groupsBox.replaceChildren(...groups.map((g) => groupElement(g, selection.get(g.id), 0)));
      if (groupsBox.parentElement) groupsBox.parentElement.scrollTop = scroll;
      showPrice();
      qty.textContent = String(line.quantity);
      add.disabled = !groups.every((g) => groupValid(g, selection.get(g.id)));
    };
    const refresh = () => {
      draw();
      requestQuote();
    };

    /** One group: its head (name, rule, state), its options, nested groups under a choice. */
    const groupElement = (group, sel, depth) => {
      const valid = groupValid(group, sel);
      const count = chosenCount(sel);
      const free = quoted && quoted.seq === asked ? freeOf(quoted.modifiers) : new Map();
      const options = [];
      for (const mod of group.modifiers) {
        const chosen = sel.get(mod.id);
        const unavailable = mod.available === false;
        const label = [
          h("span", {}, mod.name),
          h(
            "span.m-delta",
            {},
            chosen && free.get(mod.id) && free.get(mod.id) >= chosen.qty && mod.price_delta > 0
              ? `${delta(mod.price_delta)} · ${t("free_tag")}`
              : delta(mod.price_delta),
          ),
        ];
        const toggle = () => {
          if (sel.get(mod.id)) {
            if (group.max === 1 && group.min === 1) return; // a required single choice stays chosen
            sel.delete(mod.id);
          } else if (group.max === 1) {
            sel.clear();
            sel.set(mod.id, { qty: 1, nested: mod.group ? defaultSelection(mod.group) : new Map() });
          } else if (count < group.max) {
            sel.set(mod.id, { qty: 1, nested: mod.group ? defaultSelection(mod.group) : new Map() });
          } else {
            error.textContent = t("max_reached", { group: group.name, rule: group.rule });
            return;
          }
          error.textContent = "";
          refresh();
        };
        if (group.max_per_modifier > 1) {
          const n = chosen ? chosen.qty : 0;
          options.push(
            h(
              "div.mod-stepper",
              { class: n ? "on" : "", dataset: { modifier: mod.id } },
              h(
                "button.mod",
                { type: "button", "aria-pressed": String(Boolean(n)), disabled: unavailable, dataset: { name: mod.name }, onclick: toggle },
                label,
              ),
              h(
                "button.step",
                {
                  type: "button",
                  "aria-label": `− ${mod.name}`,
                  disabled: !n,
                  onclick: () => {
                    if (chosen.qty > 1) chosen.qty -= 1;
                    else sel.delete(mod.id);
                    refresh();
                  },
                },
                "−",
              ),
              h("span.qty", {}, String(n)),
              h(
                "button.step",
                {
                  type: "button",
                  "aria-label": `+ ${mod.name}`,
                  disabled: unavailable || n >= group.max_per_modifier || (count >= group.max && group.max !== 1),
                  onclick: () => {
                    if (!chosen) toggle();
                    else {
                      chosen.qty += 1;
                      refresh();
                    }
                  },
                },
                "+",
              ),
            ),
          );
        } else {
          options.push(
            h(
              "button.mod",
              {
                type: "button",
                "aria-pressed": String(Boolean(chosen)),
                disabled: unavailable && !chosen,
                dataset: { modifier: mod.id, name: mod.name },
                onclick: toggle,
              },
              label,
            ),
          );
        }
        if (chosen && mod.group) {
          options.push(h("div.nested", { dataset: { parent: mod.id } }, groupElement(mod.group, chosen.nested, depth + 1)));
        }
      }
      return h(
        "section.mod-group",
        { class: valid ? "valid" : "invalid", dataset: { group: group.code, depth } },
        h(
          "div.mod-group-head",
          {},
          h("h3", {}, group.name),
          h("span.rule", {}, group.rule),
          h("span.state", {}, valid ? (count ? `✓ ${t("done")}` : "✓") : group.min > 0 ? t("required") : group.rule),
        ),
        h("div.mod-options", {}, options),
      );
    };

    const stepper = h(
      "div.stepper",
      { role: "group", "aria-label": t("quantity") },
      h(
        "button",
        {
          type: "button",
          "aria-label": "−",
          onclick: () => {
            if (line.quantity > 1) line.quantity -= 1;
            refresh();
          },
        },
        "−",
      ),
      qty,
      h(
        "button",
        {
          type: "button",
          "aria-label": "+",
          onclick: () => {
            if (line.quantity < 99) line.quantity += 1;
            refresh();
          },
        },
        "+",
      ),
    );

    add.addEventListener("click", async () => {
      if (add.disabled) return;
      add.disabled = true;
      error.textContent = "";
      try {
        const modifiers = groups.flatMap((g) => toChoices(g, selection.get(g.id)));
        await submit({ ...line, note: line.note.trim(), modifiers });
        close(true);
      } catch (e) {
        error.textContent = e.message;
        refresh();
      }
    });

    renderSeg();
    refresh();
    return frame({
      title: item.name,
      sub: money(item.price),
      wide: true,
      cls: "modifier-dialog",
      body: [
        groupsBox,
        h("div.field", {}, h("label", { for: "mod-note" }, t("note")), note),
      ],
      foot: [
        h(
          "div.mod-extra",
          {},
          h("div.field", {}, h("span.field-label", {}, t("quantity")), stepper),
          h("div.field", {}, h("span.field-label", {}, t("seat")), seatSeg),
          h("div.field", {}, h("span.field-label", {}, t("course")), courseSeg),
        ),
        h("div.mod-foot-row", {}, price, error, h("button.btn.btn-xl", { type: "button", onclick: () => close(null) }, t("cancel")), add),
      ],
    });
  }, { dismissable: false });
}
