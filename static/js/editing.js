// Correcting the draft together (protocol.md, `edit`, `insert`, `delete`, `presence`): inline
// editors on the blocks, the conflict panel when someone else changed a block first, inserting
// and deleting blocks, who is connected and who is editing what (a soft lock: a warning, never a
// refusal), and the keyboard for stenographers (j/k, Enter, Ctrl+Enter, Esc, ?).
//
// The draft view re-renders a block's <li> on every new version; everything open on a block
// (editor, conflict panel, insert form, delete confirmation) lives here, keyed by block id, and
// `decorate` puts it back into the new <li>. Nothing is ever merged silently: a change made on
// an old version comes back as STALE_VERSION and the user chooses between both versions.
// Server data reaches the page only through textContent and attributes.

import { ROLE_NAMES } from "./auth.js";
import { ZONES } from "./draft.js";
import { TEMPLATE_NAMES } from "./messages.js";

const START = "__start"; // key of the insert form at the top of the draft
const RELEASE_DELAY = 250; // ms: focus moving inside an editor (or a re-render) is not a blur
const BLOCK_SELECTOR = "li.block[data-block-id]";
const HEARD_SELECTOR = "li.block--discarded[data-utterance-id]"; // audio heard with no words
// What j/k stop on: every row a reviewer must reach, blocks and audio heard with no words.
const ROW_SELECTOR = `${BLOCK_SELECTOR}, ${HEARD_SELECTOR}`;
const heardKey = (utteranceId) => `heard:${utteranceId}`; // its insert form, its keyboard position
/** The keyboard position of a row: its block id, or heardKey of its utterance. */
const rowKey = (item) => item.dataset.blockId || heardKey(item.dataset.utteranceId);

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function button(text, className, label) {
  const b = el("button", className, text);
  b.type = "button";
  if (label) b.setAttribute("aria-label", label);
  return b;
}

function excerpt(text, length = 40) {
  const t = typeof text === "string" ? text.trim().replace(/\s+/g, " ") : "";
  return t.length > length ? `${t.slice(0, length)}…` : t;
}

function zoneName(zone) {
  const known = ZONES.find(([z]) => z === zone);
  return known ? known[1] : zone || "—";
}

/** A template as the menu names it: what it is ("Apertura de la sesión"), else its section's
 * heading; the internal id only when neither is known. */
function templateName(tpl, zone) {
  if (Object.hasOwn(TEMPLATE_NAMES, tpl)) return TEMPLATE_NAMES[tpl];
  return zone ? zoneName(zone) : tpl;
}

function isTyping(target) {
  if (!target || !(target instanceof Element)) return false;
  if (target.isContentEditable) return true;
  const tag = target.tagName;
  if (tag === "TEXTAREA" || tag === "SELECT") return true;
  if (tag !== "INPUT") return false;
  return !["button", "checkbox", "radio", "submit", "reset", "file", "range", "color"].includes(target.type);
}

/** What a text over the server's limit (max_text_chars, in code points) is told. */
function tooLong(length, max) {
  return `El texto tiene ${length} caracteres; el máximo es ${max}. Acórtelo o divídalo en varios bloques.`;
}

function textOf(block) {
  return block && typeof block.text === "string" ? block.text : "";
}

/** Who made a block's current version, for people. */
function authorOf(block, fallback) {
  if (block && typeof block.edited_by === "string" && block.edited_by) return block.edited_by;
  if (fallback) return fallback;
  return "otra persona";
}

export class Editing {
  /**
   * root: the draft element (#draft). ui: {startSlot, startButton, help, helpButton,
   * presenceBox, presenceList} elements of the page. host: what the console provides —
   * {canEdit(): bool, send(kind, fields): frame, sendPresence(blockId), online(): bool,
   *  block(blockId): Block|null, limits(): object|null, announce(text),
   *  describe(code, message): string, rejected(text, code)}.
   */
  constructor(root, ui, host) {
    this.root = root;
    this.ui = ui;
    this.host = host;
    this.uid = 0;
    this.allowed = false;
    this.placeholderMap = {};
    this.editors = new Map(); // blockId -> editor state
    this.inserts = new Map(); // blockId | START -> insert form state
    this.confirms = new Map(); // blockId -> delete confirmation state
    this.pending = new Map(); // frame ref -> {kind, key}
    this.ghosts = new Map(); // frame ref -> ghost state (text of a block deleted meanwhile)
    this.ghosted = new Set(); // refs of edits whose block was deleted (their text is in a ghost)
    this.clients = []; // the last presence snapshot
    this.others = new Map(); // blockId -> subs of the other connections editing it
    this.selfId = null;
    this.selfSub = null;
    this.active = null; // the block id this page announced as being edited
    this.releaseTimer = null;
    this.currentId = null; // rowKey of the row with the roving tabindex (keyboard position)
    this.focusWhenShown = null; // a block just inserted here: focus it when it arrives
    this.rovingQueued = false;

    document.addEventListener("keydown", (event) => this.onKey(event));
    root.addEventListener("focusin", (event) => {
      const item = event.target instanceof Element ? event.target.closest(ROW_SELECTOR) : null;
      if (item && this.root.contains(item)) this.setCurrent(item);
    });
    ui.helpButton.addEventListener("click", () => this.toggleHelp());
    ui.startButton.addEventListener("click", () => this.openInsert(START));
  }

  // -- session lifecycle -----------------------------------------------------------------------

  /** A new session: forget everything open on the previous one. */
  reset() {
    for (const ed of this.editors.values()) ed.node.remove();
    for (const ins of this.inserts.values()) ins.node.remove();
    for (const c of this.confirms.values()) c.node.remove();
    for (const g of this.ghosts.values()) g.node.remove();
    this.editors.clear();
    this.inserts.clear();
    this.confirms.clear();
    this.pending.clear();
    this.ghosts.clear();
    this.ghosted.clear();
    this.clients = [];
    this.others.clear();
    this.active = null;
    this.currentId = null;
    if (this.releaseTimer !== null) clearTimeout(this.releaseTimer);
    this.releaseTimer = null;
    this.renderPresenceList();
  }

  /** The pinned template → zone map of the session (GET session, `pinned.placeholder_map`). */
  setPlaceholderMap(map) {
    this.placeholderMap = map && typeof map === "object" ? { ...map } : {};
  }

  /** Zones a block may be put in: the pinned map's, in the acta's order. */
  zones() {
    const used = new Set(Object.values(this.placeholderMap));
    if (!used.size) return ZONES.map(([z]) => z);
    const ordered = ZONES.map(([z]) => z).filter((z) => used.has(z));
    for (const z of used) if (!ordered.includes(z)) ordered.push(z);
    return ordered;
  }

  templates() {
    const order = this.zones();
    return Object.keys(this.placeholderMap).sort(
      (a, b) => order.indexOf(this.placeholderMap[a]) - order.indexOf(this.placeholderMap[b]) || a.localeCompare(b),
    );
  }

  /** Permissions changed (role, session status): show or hide every editing control. */
  setAllowed(allowed) {
    this.allowed = Boolean(allowed);
    for (const tools of this.root.querySelectorAll(".block__tools")) tools.hidden = !this.allowed;
    this.ui.startButton.hidden = !this.allowed;
    // Editors open when the session closed (someone finalized): their text stays to be copied,
    // but saving could only fail.
    for (const ed of this.editors.values()) {
      if (ed.saveButton) ed.saveButton.disabled = !this.allowed;
      if (!this.allowed && ed.mode === "editing") {
        this.say(ed.status, "La sesión se cerró y ya no admite cambios: copie su texto si lo necesita.", "error");
      }
    }
  }

  // -- the draft view's hook -------------------------------------------------------------------

  /** Called by DraftView on every block it renders (a new block or a new version). */
  decorate(item, block) {
    const id = block.block_id;
    if (typeof id !== "string") return;
    item.tabIndex = id === this.currentId ? 0 : -1;
    if (id === this.currentId) item.classList.add("block--current");
    item.setAttribute("aria-keyshortcuts", "Enter");
    item.append(this.tools(item, block));
    this.paintPresence(item);
    const ed = this.editors.get(id);
    if (ed) {
      ed.item = item;
      item.classList.add("block--editing");
      item.append(ed.node);
    }
    const confirm = this.confirms.get(id);
    if (confirm) {
      confirm.block = block;
      item.append(confirm.node);
    }
    const ins = this.inserts.get(id);
    if (ins) item.append(ins.node);
    if (this.focusWhenShown === id) {
      this.focusWhenShown = null;
      queueMicrotask(() => {
        if (item.isConnected) this.focusBlock(item);
      });
    }
    this.queueRoving();
  }

  tools(item, block) {
    const what = excerpt(block.text);
    const bar = el("div", "block__tools");
    bar.setAttribute("role", "group");
    bar.setAttribute("aria-label", `Corregir el bloque${what ? `: ${what}` : ""}`);
    bar.hidden = !this.allowed;
    const edit = button("Editar", "small block__edit", `Editar el bloque${what ? `: ${what}` : ""}`);
    edit.setAttribute("aria-keyshortcuts", "Enter");
    edit.dataset.label = edit.getAttribute("aria-label");
    edit.addEventListener("click", () => this.openEditor(block.block_id));
    const insert = button(
      "Insertar después",
      "small block__insert",
      `Insertar después del bloque${what ? `: ${what}` : ""}`,
    );
    insert.addEventListener("click", () => this.openInsert(block.block_id));
    const remove = button("Eliminar", "small block__delete", `Eliminar el bloque${what ? `: ${what}` : ""}`);
    remove.addEventListener("click", () => this.openDelete(block.block_id));
    bar.append(edit, insert, remove);
    return bar;
  }

  itemOf(blockId) {
    return this.root.querySelector(`${BLOCK_SELECTOR}[data-block-id="${CSS.escape(blockId)}"]`);
  }

  heardItem(utteranceId) {
    return this.root.querySelector(`${HEARD_SELECTOR}[data-utterance-id="${CSS.escape(utteranceId)}"]`);
  }

  /** The row at a keyboard position (rowKey), if shown. */
  rowOf(key) {
    return key.startsWith("heard:") ? this.heardItem(key.slice("heard:".length)) : this.itemOf(key);
  }

  /**
   * Called by DraftView before it takes away the row of audio heard with no words (a block now
   * stands for it: someone else wrote it). A form still being written in it is not lost: its
   * text stays as a notice in the row's place, to copy or insert as a block of its own. Focus in
   * the row (its form, its buttons) goes to that notice, or else to the block written for it.
   */
  heardGone(item, utteranceId) {
    this.queueRoving(); // the row may have been the keyboard position
    const hadFocus = item.contains(document.activeElement);
    const ins = this.inserts.get(heardKey(utteranceId));
    if (ins && ins.mode !== "editing") return; // one being saved closes on its answer
    let area = null;
    const written = this.root.querySelector(`${BLOCK_SELECTOR}[data-utterance-id="${CSS.escape(utteranceId)}"]`);
    if (ins) {
      this.inserts.delete(ins.key);
      ins.node.remove();
      const text = ins.area.value;
      if (text.trim()) {
        this.ghost(item, {
          message:
            "Otra persona escribió lo dicho en este audio mientras usted escribía. Su texto no se perdió; abra el bloque de su colega y agregue allí lo que falte:",
          text,
          afterId: ins.afterId,
          zone: ins.zone.value || null,
          holder: written ? written.dataset.blockId : null,
        });
        area = item.previousElementSibling && item.previousElementSibling.querySelector("textarea");
      } else {
        this.host.announce("Otra persona escribió lo dicho en este audio.");
      }
    }
    if (!hadFocus) return;
    const before = ins && ins.afterId ? this.itemOf(ins.afterId) : null;
    if (area) area.focus();
    else if (written) this.focusBlock(written);
    else if (before) this.focusBlock(before);
  }

  /**
   * Called by DraftView on every row of audio heard with no words: j/k stop on it (Enter writes
   * what was said), and an open form stays in it.
   */
  decorateHeard(item, utterance) {
    const key = heardKey(utterance.utterance_id);
    item.tabIndex = key === this.currentId ? 0 : -1;
    if (key === this.currentId) item.classList.add("block--current");
    item.setAttribute("aria-keyshortcuts", "Enter");
    const ins = this.inserts.get(key);
    if (ins) item.append(ins.node);
    this.queueRoving();
  }

  // -- editing a block -------------------------------------------------------------------------

  openEditor(blockId) {
    if (!this.allowed) return;
    const existing = this.editors.get(blockId);
    if (existing) {
      existing.focusFirst();
      return;
    }
    const block = this.host.block(blockId);
    const item = this.itemOf(blockId);
    if (!block || !item) return;
    this.closeDelete(blockId);
    const ed = {
      blockId,
      base: block, // the version being edited
      item,
      node: el("div", "block__panel editor"),
      mode: "editing",
      ref: null,
      yours: null, // the changes sent
      yoursBase: null, // the version they were made on
      current: null, // in conflict: the block as it is now
      changedBy: null, // someone saved a new version while this editor was open
      focusFirst: () => {},
    };
    ed.node.setAttribute("aria-live", "off");
    ed.node.addEventListener("focusin", () => {
      if (ed.mode !== "saving") this.claim(blockId);
    });
    ed.node.addEventListener("focusout", (event) => {
      if (!ed.node.contains(event.relatedTarget)) this.release(RELEASE_DELAY);
    });
    ed.node.addEventListener("keydown", (event) => this.onPanelKey(event, ed));
    this.editors.set(blockId, ed);
    this.renderEditor(ed);
    item.classList.add("block--editing");
    item.append(ed.node);
    this.claim(blockId);
    ed.focusFirst();
  }

  /** The editing form: text, zone, template; Guardar / Cancelar. */
  renderEditor(ed, { text = null, zone = null, template = null } = {}) {
    const n = ++this.uid;
    const block = ed.base;
    const what = excerpt(block.text);
    ed.node.replaceChildren();
    ed.node.dataset.mode = "editing";
    ed.node.removeAttribute("aria-labelledby");
    ed.node.setAttribute("role", "group");
    ed.node.setAttribute("aria-label", `Editor del bloque${what ? `: ${what}` : ""}`);

    const notice = el("p", "editor__notice");
    notice.setAttribute("role", "alert");
    ed.notice = notice;

    const textId = `edit-${n}-text`;
    const textLabel = el("label", null, "Texto del bloque");
    textLabel.htmlFor = textId;
    const area = el("textarea", "editor__text");
    area.id = textId;
    area.rows = Math.min(12, Math.max(3, Math.ceil(textOf(block).length / 70) + 1));
    area.value = text !== null ? text : textOf(block);
    area.setAttribute("aria-keyshortcuts", "Control+Enter Escape");

    const row = el("div", "editor__row");
    const zoneId = `edit-${n}-zone`;
    const zoneLabel = el("label", null, "Sección del acta");
    zoneLabel.htmlFor = zoneId;
    const zoneSelect = this.zoneSelect(zoneId, block.target_placeholder);
    if (zone !== null) zoneSelect.value = zone;
    const tplId = `edit-${n}-template`;
    const tplLabel = el("label", null, "Plantilla");
    tplLabel.htmlFor = tplId;
    const tplSelect = this.templateSelect(tplId, block.template_id);
    if (template !== null) tplSelect.value = template;
    tplSelect.addEventListener("change", () => {
      const target = this.placeholderMap[tplSelect.value];
      if (target && [...zoneSelect.options].some((o) => o.value === target)) zoneSelect.value = target;
    });
    const zoneBox = el("div", "editor__field");
    zoneBox.append(zoneLabel, zoneSelect);
    const tplBox = el("div", "editor__field");
    tplBox.append(tplLabel, tplSelect);
    row.append(zoneBox, tplBox);

    const buttons = el("div", "editor__buttons");
    const save = button("Guardar", "primary", "Guardar los cambios del bloque (Ctrl+Enter)");
    save.setAttribute("aria-keyshortcuts", "Control+Enter");
    const cancel = button("Cancelar", null, "Cancelar la edición del bloque (Esc)");
    cancel.setAttribute("aria-keyshortcuts", "Escape");
    const hint = el("span", "editor__hint", "Ctrl+Enter guarda · Esc cancela");
    hint.setAttribute("aria-hidden", "true");
    buttons.append(save, cancel, hint);
    const status = el("p", "editor__status");
    status.setAttribute("role", "status");

    ed.node.append(notice, textLabel, area, row, buttons, status);
    this.watchLength(area, status);
    ed.area = area;
    ed.zoneSelect = zoneSelect;
    ed.tplSelect = tplSelect;
    ed.status = status;
    ed.saveButton = save;
    ed.primary = () => this.saveEditor(ed);
    ed.escape = () => this.escapeEditor(ed);
    ed.focusFirst = () => area.focus();
    for (const control of [area, zoneSelect, tplSelect]) {
      control.addEventListener(control === area ? "input" : "change", () => {
        ed.discardArmed = false;
      });
    }
    save.addEventListener("click", () => this.saveEditor(ed));
    cancel.addEventListener("click", () => this.cancelEditor(ed));
    this.refreshNotice(ed);
  }

  zoneSelect(id, current) {
    const select = el("select", "editor__zone");
    select.id = id;
    const zones = this.zones();
    if (typeof current === "string" && current && !zones.includes(current)) zones.push(current);
    for (const zone of zones) {
      const option = el("option", null, zoneName(zone));
      option.value = zone;
      select.append(option);
    }
    if (typeof current === "string" && current) select.value = current;
    return select;
  }

  templateSelect(id, current) {
    const select = el("select", "editor__template");
    select.id = id;
    const ids = this.templates();
    if (typeof current !== "string" || !current) {
      const none = el("option", null, "Sin plantilla");
      none.value = "";
      select.append(none);
    } else if (!ids.includes(current)) {
      ids.unshift(current);
    }
    for (const tpl of ids) {
      const zone = this.placeholderMap[tpl];
      const option = el("option", null, templateName(tpl, zone));
      option.value = tpl;
      select.append(option);
    }
    select.value = typeof current === "string" ? current : "";
    return select;
  }

  maxChars() {
    const limits = this.host.limits();
    const max = limits && Number(limits.max_text_chars);
    return Number.isSafeInteger(max) && max > 0 ? max : 0;
  }

  /** Whether `text` is longer than the server takes; if so, says so in `status` and puts the
   * focus back in `area` (a save is refused before it is sent). */
  refuseTooLong(text, status, area) {
    const max = this.maxChars();
    const length = [...text].length;
    if (!max || length <= max) return false;
    this.say(status, tooLong(length, max), "error");
    area.focus();
    return true;
  }

  /**
   * Say as soon as a text area holds more than the server takes, and stop once it fits again.
   * Not the area's `maxLength`: that cut a pasted text short without a word, and what was saved
   * had lost its end.
   */
  watchLength(area, status) {
    const max = this.maxChars();
    if (!max) return;
    let over = false;
    area.addEventListener("input", () => {
      const length = [...area.value.trim()].length;
      if (length > max) {
        over = true;
        this.say(status, tooLong(length, max), "error");
      } else if (over) {
        over = false;
        this.say(status, "");
      }
    });
  }

  /** The warnings above the editor: someone else is editing, someone saved meanwhile. */
  refreshNotice(ed) {
    if (!ed.notice || ed.mode !== "editing") return;
    const lines = [];
    if (ed.changedBy) {
      lines.push(
        `Cambiado por ${ed.changedBy.who} mientras editaba (ahora es la versión ${ed.changedBy.version}). ` +
          "Si guarda, verá las dos versiones para decidir; nada se combina solo.",
      );
    }
    const subs = this.others.get(ed.blockId);
    if (subs && subs.length) {
      lines.push(`${subs.join(", ")} también está editando este bloque.`);
    }
    ed.notice.textContent = lines.join(" ");
    ed.notice.hidden = !lines.length;
    ed.notice.dataset.kind = ed.changedBy ? "changed" : "lock";
  }

  /**
   * How many open forms hold a person's words that were not sent: an editor with changes or in
   * conflict, an insert with text, a notice keeping the words of an edit whose block was
   * deleted. Leaving the session or closing the page throws them away: the console asks first.
   */
  unsavedWork() {
    let count = this.ghosts.size;
    for (const ed of this.editors.values()) {
      const changed = ed.mode === "editing" && Object.keys(this.changesOf(ed)).length > 0;
      if (changed || ed.mode === "conflict") count += 1;
    }
    for (const ins of this.inserts.values()) {
      if (ins.mode === "editing" && ins.area.value.trim()) count += 1;
    }
    return count;
  }

  /** The changes the form makes to the version it was opened on ({} when none). */
  changesOf(ed) {
    const base = ed.base;
    const changes = {};
    const text = ed.area.value.trim();
    if (text !== textOf(base).trim()) changes.text = text;
    const zone = ed.zoneSelect.value;
    if (zone && zone !== (base.target_placeholder || "")) changes.target_placeholder = zone;
    const tpl = ed.tplSelect.value;
    if (tpl && tpl !== (base.template_id || "")) changes.template_id = tpl;
    return changes;
  }

  saveEditor(ed) {
    if (ed.mode !== "editing" || !this.allowed) return;
    const changes = this.changesOf(ed);
    if ("text" in changes && !changes.text) {
      this.say(ed.status, "El texto no puede quedar vacío. Para quitar el bloque use «Eliminar».", "error");
      ed.area.focus();
      return;
    }
    if ("text" in changes && this.refuseTooLong(changes.text, ed.status, ed.area)) return;
    if (!Object.keys(changes).length) {
      this.closeEditor(ed, "Sin cambios: el bloque quedó igual.");
      return;
    }
    this.submitEdit(ed, ed.base.version, changes);
  }

  /** Send an edit for the editor's block and wait for its ack (or STALE_VERSION). */
  submitEdit(ed, baseVersion, changes) {
    ed.yours = changes;
    ed.yoursBase = baseVersion;
    ed.mode = "saving";
    ed.node.dataset.mode = "saving";
    this.release(0);
    if (ed.item && ed.node.contains(document.activeElement)) ed.item.focus({ preventScroll: true });
    for (const control of ed.node.querySelectorAll("textarea, select, button")) {
      if (control.tagName === "TEXTAREA") control.readOnly = true;
      else control.disabled = true;
    }
    const status = ed.node.querySelector("[role=status]");
    if (status) {
      this.say(status, this.host.online() ? "Guardando…" : "Sin conexión: se guardará al reconectar.");
    }
    const frame = this.host.send("edit", { block_id: ed.blockId, base_version: baseVersion, changes });
    ed.ref = frame.ref;
    this.pending.set(frame.ref, { kind: "edit", key: ed.blockId });
  }

  cancelEditor(ed) {
    if (ed.mode === "saving") return;
    this.closeEditor(ed, "Edición cancelada.");
  }

  /**
   * Esc in the editor: cancels at once when nothing was changed; with changes, the first Esc
   * says what a second one does, so one stray key does not throw away a stenographer's work
   * (typing again disarms it; the Cancelar button still cancels at once).
   */
  escapeEditor(ed) {
    if (ed.mode === "editing" && !ed.discardArmed && Object.keys(this.changesOf(ed)).length) {
      ed.discardArmed = true;
      this.say(
        ed.status,
        "Tiene cambios sin guardar: pulse Esc otra vez para descartarlos, o Ctrl+Enter para guardarlos.",
        "error",
      );
      return;
    }
    this.cancelEditor(ed);
  }

  closeEditor(ed, message = "") {
    const hadFocus = ed.node.contains(document.activeElement);
    this.editors.delete(ed.blockId);
    ed.node.remove();
    const item = this.itemOf(ed.blockId);
    if (item) item.classList.remove("block--editing");
    if (this.active === ed.blockId) this.release(0);
    if (hadFocus && item) this.focusBlock(item);
    if (message) this.host.announce(message);
  }

  // -- conflicts -------------------------------------------------------------------------------

  /** A block.updated arrived (before the view re-renders it). */
  blockUpdated(block, actor) {
    const id = block && block.block_id;
    const ed = typeof id === "string" ? this.editors.get(id) : null;
    if (ed) {
      if (ed.mode === "editing" && block.version !== ed.base.version) {
        const who = authorOf(block, actor);
        ed.changedBy = { who, version: block.version };
        ed.node.dataset.changed = "true";
        this.refreshNotice(ed);
        this.host.announce(`Atención: ${who} cambió el bloque que usted está editando.`);
      } else if (ed.mode === "conflict" && (!ed.current || block.version > ed.current.version)) {
        ed.current = block;
        ed.currentBy = authorOf(block, actor);
        this.renderConflict(ed);
        this.host.announce(`${ed.currentBy} volvió a cambiar el bloque en conflicto.`);
      }
    }
    const confirm = typeof id === "string" ? this.confirms.get(id) : null;
    if (confirm && confirm.mode === "stale" && block.version > confirm.current.version) {
      confirm.current = block;
      this.renderDeleteConflict(confirm, authorOf(block, actor));
    }
  }

  /** Show both versions on the editor's block: theirs (now on the server) and yours. */
  openConflict(ed, current, actor) {
    const known = this.host.block(ed.blockId);
    ed.current = known && current && known.version > current.version ? known : current || known;
    ed.currentBy = authorOf(ed.current, actor);
    ed.mode = "conflict";
    this.renderConflict(ed);
    // The heading, not a button: Enter must not pick a side by accident.
    const title = ed.node.querySelector(".conflict__title");
    if (title) title.focus();
    this.host.announce(`Conflicto: ${ed.currentBy} cambió este bloque. Elija qué versión conservar.`);
  }

  yoursText(ed) {
    return ed.yours && typeof ed.yours.text === "string" ? ed.yours.text : textOf(ed.base);
  }

  renderConflict(ed, { merging = false, merged = null } = {}) {
    const n = ++this.uid;
    const current = ed.current || {};
    const who = ed.currentBy || authorOf(current);
    ed.node.replaceChildren();
    ed.node.dataset.mode = merging ? "merge" : "conflict";
    ed.node.removeAttribute("aria-label");
    const headingId = `conflict-${n}`;
    ed.node.setAttribute("aria-labelledby", headingId);
    const box = el("div", "conflict");
    const ownWindow = this.selfSub !== null && who === this.selfSub; // saved from this person's other window
    const heading = el(
      "h4",
      "conflict__title",
      ownWindow ? "Este bloque cambió en otra ventana suya" : "Otra persona cambió este bloque",
    );
    heading.id = headingId;
    heading.tabIndex = -1;
    const saved = ownWindow
      ? `Usted guardó la versión ${current.version ?? "?"} en otra ventana mientras editaba aquí la versión `
      : `${who} guardó la versión ${current.version ?? "?"} mientras usted editaba la versión `;
    const explain = el(
      "p",
      "conflict__explain",
      `${saved}${ed.yoursBase ?? ed.base.version}. Compare las dos y elija: nada se combina sin su decisión.`,
    );
    const sides = el("div", "conflict__sides");
    const theirs = el("section", "conflict__side conflict__side--theirs");
    theirs.setAttribute("aria-label", `Versión de ${who}`);
    theirs.append(
      el(
        "h5",
        "conflict__who",
        ownWindow
          ? `Guardada en su otra ventana · versión ${current.version ?? "?"}`
          : `Guardada por ${who} · versión ${current.version ?? "?"}`,
      ),
      el("p", "conflict__text", textOf(current)),
    );
    const mine = el("section", "conflict__side conflict__side--yours");
    mine.setAttribute("aria-label", "Su versión");
    mine.append(el("h5", "conflict__who", "Su versión, sin guardar"), el("p", "conflict__text", this.yoursText(ed)));
    const yours = ed.yours || {};
    const placeOf = (b, changes) => {
      const zone = changes.target_placeholder || b.target_placeholder;
      const tpl = changes.template_id || b.template_id;
      return `Sección: ${zoneName(zone)}${tpl ? ` · plantilla ${tpl}` : ""}`;
    };
    const theirsPlace = placeOf(current, {});
    const minePlace = placeOf(current, yours);
    if (theirsPlace !== minePlace) {
      theirs.append(el("p", "conflict__place", theirsPlace));
      mine.append(el("p", "conflict__place", minePlace));
    }
    sides.append(theirs, mine);
    box.append(heading, explain, sides);

    const status = el("p", "editor__status");
    status.setAttribute("role", "status");
    if (!merging) {
      const actions = el("div", "conflict__actions");
      actions.setAttribute("role", "group");
      actions.setAttribute("aria-label", "Resolver el conflicto");
      // "la suya" would read as the user's own ("suya" is also the formal "yours"): named instead
      const theirsName = ownWindow ? "Usar la de la otra ventana" : `Usar la de ${who}`;
      const useTheirs = button(theirsName, null, `${theirsName} y descartar la mía`);
      const keepMine = button(
        "Mantener la mía",
        "primary",
        `Mantener la mía sobre la versión ${current.version ?? ""} de ${who}`,
      );
      const merge = button("Combinar a mano", null, "Combinar a mano las dos versiones");
      useTheirs.addEventListener("click", () => this.closeEditor(ed, `Se conservó la versión de ${who}.`));
      keepMine.addEventListener("click", () => this.keepMine(ed, status));
      merge.addEventListener("click", () => {
        this.renderConflict(ed, { merging: true });
        ed.focusFirst();
      });
      actions.append(useTheirs, keepMine, merge);
      box.append(actions, status);
      ed.primary = () => {};
      ed.escape = () => {};
      ed.focusFirst = () => useTheirs.focus();
    } else {
      const mergeId = `merge-${n}`;
      const label = el("label", null, "Texto combinado (edítelo hasta que quede bien)");
      label.htmlFor = mergeId;
      const area = el("textarea", "editor__text conflict__merge");
      area.id = mergeId;
      area.value = merged !== null ? merged : `${textOf(current).trim()}\n\n${this.yoursText(ed).trim()}`;
      area.rows = Math.min(14, Math.max(5, Math.ceil(area.value.length / 70) + 2));
      area.setAttribute("aria-keyshortcuts", "Control+Enter Escape");
      this.watchLength(area, status);
      const buttons = el("div", "editor__buttons");
      const save = button("Guardar la combinación", "primary", "Guardar la combinación (Ctrl+Enter)");
      const back = button("Volver a comparar", null, "Volver a comparar las dos versiones (Esc)");
      buttons.append(save, back);
      const saveMerge = () => {
        const text = area.value.trim();
        if (!text) {
          this.say(status, "El texto combinado está vacío.", "error");
          area.focus();
          return;
        }
        if (this.refuseTooLong(text, status, area)) return;
        const changes = this.rebased(ed, { ...ed.yours, text });
        if (!Object.keys(changes).length) {
          this.closeEditor(ed, "El texto combinado es igual al actual: no hubo cambios.");
          return;
        }
        ed.mode = "editing"; // submitEdit expects an editable state
        this.submitEdit(ed, ed.current.version, changes);
      };
      save.addEventListener("click", saveMerge);
      back.addEventListener("click", () => {
        this.renderConflict(ed);
        ed.focusFirst();
      });
      box.append(label, area, buttons, status);
      ed.primary = saveMerge;
      ed.escape = () => {
        this.renderConflict(ed);
        ed.focusFirst();
      };
      ed.focusFirst = () => area.focus();
    }
    ed.node.append(box);
  }

  /** Your changes, minus what the current version already says. */
  rebased(ed, changes) {
    const current = ed.current || {};
    const out = {};
    for (const [key, value] of Object.entries(changes || {})) {
      if (key === "text" ? value.trim() !== textOf(current).trim() : value !== current[key]) out[key] = value;
    }
    return out;
  }

  keepMine(ed, status) {
    const changes = this.rebased(ed, ed.yours);
    if (!Object.keys(changes).length) {
      this.closeEditor(ed, "Su versión ya coincide con la actual.");
      return;
    }
    if (!ed.current || !Number.isInteger(ed.current.version)) {
      this.say(status, "No se conoce la versión actual del bloque.", "error");
      return;
    }
    ed.mode = "editing";
    this.submitEdit(ed, ed.current.version, changes);
  }

  // -- inserting -------------------------------------------------------------------------------

  /**
   * The form for a new block after `afterId` (START: first). With `heard` (an utterance the
   * recognizer heard no words in), the form opens in that utterance's row, and the block is
   * written for it: it goes where the utterance was said and carries its utterance_id, so its
   * audio plays from it and the row goes.
   */
  openInsert(afterId, heard = null) {
    if (!this.allowed) return;
    if (afterId === null) afterId = START;
    const key = heard ? heardKey(heard.utterance_id) : afterId;
    const existing = this.inserts.get(key);
    if (existing) {
      existing.area.focus();
      return;
    }
    const after = afterId === START ? null : this.host.block(afterId);
    if (afterId !== START && !after) return;
    const n = ++this.uid;
    const form = el("form", "block__panel inserter");
    form.noValidate = true;
    form.setAttribute("aria-live", "off");
    const what = after ? excerpt(after.text) : "";
    let title;
    if (heard) {
      form.setAttribute("aria-label", "Escribir lo dicho en el audio sin palabras reconocidas");
      title = el("p", "inserter__title", "Lo dicho en este audio, como bloque del acta");
    } else {
      form.setAttribute("aria-label", after ? `Insertar un bloque después de: ${what}` : "Insertar un bloque al inicio del acta");
      title = el("p", "inserter__title", after ? "Bloque nuevo después de este" : "Bloque nuevo al inicio del acta");
    }
    const areaId = `insert-${n}-text`;
    const label = el("label", null, "Texto del bloque nuevo");
    label.htmlFor = areaId;
    const area = el("textarea", "editor__text");
    area.id = areaId;
    area.rows = 3;
    area.setAttribute("aria-keyshortcuts", "Control+Enter Escape");
    const zoneId = `insert-${n}-zone`;
    const zoneLabel = el("label", null, "Sección del acta");
    zoneLabel.htmlFor = zoneId;
    const zone = this.zoneSelect(zoneId, null);
    const same = el(
      "option",
      null,
      after ? `La misma del bloque anterior (${zoneName(after.target_placeholder)})` : "Automática",
    );
    same.value = "";
    zone.prepend(same);
    zone.value = "";
    const buttons = el("div", "editor__buttons");
    const submit = el("button", "primary", "Insertar");
    submit.type = "submit";
    submit.setAttribute("aria-label", "Insertar el bloque nuevo (Ctrl+Enter)");
    const cancel = button("Cancelar", null, "Cancelar el bloque nuevo (Esc)");
    buttons.append(submit, cancel);
    const status = el("p", "editor__status");
    status.setAttribute("role", "status");
    form.append(title, label, area, zoneLabel, zone, buttons, status);
    this.watchLength(area, status);

    const ins = {
      key,
      afterId: afterId === START ? null : afterId,
      utteranceId: heard ? heard.utterance_id : null,
      node: form,
      area,
      zone,
      status,
      mode: "editing",
    };
    ins.primary = () => this.submitInsert(ins);
    ins.escape = () => this.closeInsert(ins, "Inserción cancelada.");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submitInsert(ins);
    });
    cancel.addEventListener("click", () => this.closeInsert(ins, "Inserción cancelada."));
    form.addEventListener("keydown", (event) => this.onPanelKey(event, ins));
    this.inserts.set(key, ins);
    if (heard) {
      const row = this.heardItem(heard.utterance_id);
      if (row) row.append(form);
    } else if (afterId === START) this.ui.startSlot.append(form);
    else {
      const item = this.itemOf(afterId);
      if (item) item.append(form);
    }
    area.focus();
  }

  submitInsert(ins) {
    if (ins.mode !== "editing") return;
    const text = ins.area.value.trim();
    if (!text) {
      this.say(ins.status, "Escriba el texto del bloque nuevo.", "error");
      ins.area.focus();
      return;
    }
    if (this.refuseTooLong(text, ins.status, ins.area)) return;
    const block = { text };
    if (ins.zone.value) block.target_placeholder = ins.zone.value;
    if (ins.utteranceId) block.utterance_id = ins.utteranceId;
    ins.hadFocus = ins.node.contains(document.activeElement);
    ins.mode = "saving";
    ins.area.readOnly = true;
    for (const control of ins.node.querySelectorAll("select, button")) control.disabled = true;
    this.say(ins.status, this.host.online() ? "Insertando…" : "Sin conexión: se insertará al reconectar.");
    const frame = this.host.send("insert", { after_block_id: ins.afterId, block });
    ins.ref = frame.ref;
    this.pending.set(frame.ref, { kind: "insert", key: ins.key });
  }

  closeInsert(ins, message = "") {
    const hadFocus = ins.node.contains(document.activeElement);
    this.inserts.delete(ins.key);
    ins.node.remove();
    if (hadFocus) {
      const row = ins.utteranceId ? this.heardItem(ins.utteranceId) : null;
      const write = row ? row.querySelector(".block__write") : null;
      const item = ins.afterId ? this.itemOf(ins.afterId) : null;
      if (write && !write.hidden) write.focus(); // back where the form was opened
      else if (item) this.focusBlock(item);
      else this.ui.startButton.focus();
    }
    if (message) this.host.announce(message);
  }

  // -- deleting --------------------------------------------------------------------------------

  openDelete(blockId) {
    if (!this.allowed) return;
    const existing = this.confirms.get(blockId);
    if (existing) {
      existing.focusFirst();
      return;
    }
    const block = this.host.block(blockId);
    const item = this.itemOf(blockId);
    if (!block || !item) return;
    const node = el("div", "block__panel confirm");
    node.setAttribute("aria-live", "off");
    const c = { blockId, block, node, mode: "asking", focusFirst: () => {} };
    node.addEventListener("keydown", (event) => this.onPanelKey(event, c));
    this.confirms.set(blockId, c);
    this.renderDeleteAsk(c);
    item.append(node);
    c.focusFirst();
  }

  renderDeleteAsk(c) {
    const n = ++this.uid;
    c.node.replaceChildren();
    c.node.setAttribute("role", "group");
    const q = el(
      "p",
      "confirm__question",
      "¿Eliminar este bloque del acta? Queda registrado quién lo eliminó y cuándo, pero no aparecerá en el acta.",
    );
    q.id = `delete-${n}`;
    c.node.setAttribute("aria-labelledby", q.id);
    const yes = button("Sí, eliminar", "danger", "Sí, eliminar el bloque");
    const no = button("No, conservar", null, "No, conservar el bloque (Esc)");
    const status = el("p", "editor__status");
    status.setAttribute("role", "status");
    const row = el("div", "editor__buttons");
    row.append(yes, no);
    c.node.append(q, row, status);
    yes.addEventListener("click", () => this.submitDelete(c, c.block.version, status));
    no.addEventListener("click", () => this.closeDelete(c.blockId, true));
    c.primary = () => {};
    c.escape = () => this.closeDelete(c.blockId, true);
    c.focusFirst = () => no.focus();
  }

  /** Delete answered STALE_VERSION: show what changed, delete that version only if asked to. */
  renderDeleteConflict(c, who) {
    c.node.replaceChildren();
    c.mode = "stale";
    const current = c.current;
    const title = el("h4", "conflict__title", "Otra persona cambió este bloque");
    const n = ++this.uid;
    title.id = `delete-conflict-${n}`;
    c.node.setAttribute("aria-labelledby", title.id);
    const text = el(
      "p",
      "conflict__explain",
      `${who} guardó la versión ${current.version} antes de que se eliminara. No se eliminó nada. Texto actual:`,
    );
    const now = el("p", "conflict__text", textOf(current));
    const row = el("div", "editor__buttons");
    const yes = button("Eliminar de todos modos", "danger", `Eliminar de todos modos la versión ${current.version}`);
    const no = button("Conservar el bloque", null, "Conservar el bloque (Esc)");
    row.append(yes, no);
    const status = el("p", "editor__status");
    status.setAttribute("role", "status");
    c.node.append(title, text, now, row, status);
    yes.addEventListener("click", () => this.submitDelete(c, current.version, status));
    no.addEventListener("click", () => this.closeDelete(c.blockId, true));
    c.escape = () => this.closeDelete(c.blockId, true);
    c.focusFirst = () => no.focus();
  }

  submitDelete(c, version, status) {
    if (c.mode === "saving") return;
    c.mode = "saving";
    for (const b of c.node.querySelectorAll("button")) b.disabled = true;
    this.say(status, this.host.online() ? "Eliminando…" : "Sin conexión: se eliminará al reconectar.");
    const item = this.itemOf(c.blockId);
    if (item && c.node.contains(document.activeElement)) item.focus({ preventScroll: true });
    const frame = this.host.send("delete", { block_id: c.blockId, base_version: version });
    c.ref = frame.ref;
    this.pending.set(frame.ref, { kind: "delete", key: c.blockId });
  }

  closeDelete(blockId, refocus = false) {
    const c = this.confirms.get(blockId);
    if (!c) return;
    const hadFocus = c.node.contains(document.activeElement);
    this.confirms.delete(blockId);
    c.node.remove();
    const item = this.itemOf(blockId);
    if (refocus && hadFocus && item) this.focusBlock(item);
  }

  /**
   * A block.deleted arrived. Work open on it is not lost: an editor's text (or an insert form
   * anchored on it) stays as a notice in its place, to copy or insert again. `remove` takes the
   * block out of the view.
   */
  blockDeleted(blockId, actor, remove) {
    const item = this.itemOf(blockId);
    const hadFocus = item ? item.contains(document.activeElement) : false;
    const items = [...this.root.querySelectorAll(BLOCK_SELECTOR)];
    const index = item ? items.indexOf(item) : -1;
    const previous = index > 0 ? items[index - 1] : null;
    const next = index >= 0 && index + 1 < items.length ? items[index + 1] : null;
    const who = actor || "otra persona";
    const block = this.host.block(blockId);

    const ed = this.editors.get(blockId);
    if (ed) {
      this.editors.delete(blockId);
      if (this.active === blockId) this.release(0);
      if (ed.ref) this.ghosted.add(ed.ref); // its NOT_FOUND answer needs no second notice
      const merge = ed.node.querySelector("textarea.conflict__merge");
      let yours;
      if (merge) yours = merge.value;
      else if (ed.node.dataset.mode === "editing" && ed.area && ed.area.isConnected) yours = ed.area.value;
      else yours = this.yoursText(ed);
      const untouched = ed.node.dataset.mode === "editing" && yours.trim() === textOf(ed.base).trim();
      if (yours.trim() && !untouched) {
        this.ghost(item, {
          message: `${who} eliminó este bloque mientras usted lo editaba. Su texto no se perdió:`,
          text: yours,
          afterId: previous ? previous.dataset.blockId : null,
          zone: (block && block.target_placeholder) || ed.base.target_placeholder || null,
        });
      } else {
        this.host.announce(`${who} eliminó el bloque que usted estaba editando.`);
      }
      ed.node.remove();
    }
    const ins = this.inserts.get(blockId);
    if (ins) {
      this.inserts.delete(blockId);
      ins.node.remove();
      const text = ins.area.value;
      if (text.trim() && ins.mode === "editing") {
        this.ghost(item, {
          message: `${who} eliminó el bloque después del cual usted insertaba. Su texto no se perdió:`,
          text,
          afterId: previous ? previous.dataset.blockId : null,
          zone: (block && block.target_placeholder) || null,
        });
      }
    }
    this.closeDelete(blockId);
    remove();
    if (this.currentId === blockId) this.currentId = null;
    if (hadFocus) {
      const target = (next && next.isConnected && next) || (previous && previous.isConnected && previous);
      if (target) this.focusBlock(target);
    }
    this.queueRoving();
  }

  /**
   * A notice in place of a deleted block, holding text the user wrote. With `holder` (the block
   * a colleague wrote for the same audio) it offers to open that block, not to insert the text
   * as a block of its own: the acta would say it twice. `after`: the notice goes after `item`.
   */
  ghost(item, { message, text, afterId, zone, holder = null, after = false }) {
    const node = el("li", "block-gone");
    node.setAttribute("role", "group");
    if (item && item.dataset.position !== undefined) node.dataset.position = item.dataset.position;
    const n = ++this.uid;
    const p = el("p", "block-gone__message", message);
    p.id = `gone-${n}`;
    node.setAttribute("aria-labelledby", p.id);
    const areaId = `gone-${n}-text`;
    const label = el("label", "visually-hidden", "Su texto");
    label.htmlFor = areaId;
    const area = el("textarea", "editor__text");
    area.id = areaId;
    area.value = text;
    area.rows = Math.min(8, Math.max(3, Math.ceil(text.length / 70) + 1));
    const row = el("div", "editor__buttons");
    const again = holder
      ? button("Abrir el bloque de su colega", "primary", "Abrir el bloque de su colega para agregar lo que falte")
      : button("Insertar mi texto como bloque nuevo", "primary");
    const copy = button("Copiar mi texto");
    const drop = button("Descartar", null, "Descartar mi texto");
    row.append(again, copy, drop);
    const status = el("p", "editor__status");
    status.setAttribute("role", "status");
    node.append(p, label, area, row, status);
    const g = { node, status, first: holder ? again : area };
    again.addEventListener("click", () => {
      if (holder) {
        this.openHolder(holder, status);
        return;
      }
      const value = area.value.trim();
      if (!value) {
        this.say(status, "El texto está vacío.", "error");
        return;
      }
      const block = { text: value };
      if (zone && this.zones().includes(zone)) block.target_placeholder = zone;
      for (const b of row.querySelectorAll("button")) b.disabled = true;
      this.say(status, "Insertando…");
      const frame = this.host.send("insert", { after_block_id: afterId, block });
      this.ghosts.set(frame.ref, g);
      this.pending.set(frame.ref, { kind: "ghost", key: frame.ref });
    });
    copy.addEventListener("click", async () => {
      area.select();
      let done = false;
      try {
        if (navigator.clipboard && window.isSecureContext) {
          await navigator.clipboard.writeText(area.value);
          done = true;
        } else {
          done = document.execCommand("copy");
        }
      } catch {
        done = false;
      }
      this.say(status, done ? "Texto copiado." : "Seleccione el texto y cópielo a mano.");
    });
    drop.addEventListener("click", () => node.remove());
    if (item && item.parentNode) item.parentNode.insertBefore(node, after ? item.nextSibling : item);
    else this.root.prepend(node);
    this.host.announce(message.replace(/:$/, "."));
    return g;
  }

  /** Open the block a colleague wrote for the same audio, to add there what is missing. */
  openHolder(blockId, status) {
    const item = this.itemOf(blockId);
    if (!item || !this.host.block(blockId)) {
      this.say(status, "El bloque de su colega todavía no llega a esta consola; intente en un momento.", "error");
      return;
    }
    this.focusBlock(item);
    this.openEditor(blockId);
  }

  /**
   * An insert written for audio heard with no words was refused (UTTERANCE_WRITTEN): a colleague
   * wrote that audio first (or this insert waited offline meanwhile). What this stenographer
   * typed is kept, in a notice where the audio was said, next to the colleague's block, which it
   * offers to open; the form (if still open) goes.
   */
  writtenFirst(frame, ins, details) {
    const utteranceId = frame.block && typeof frame.block.utterance_id === "string" ? frame.block.utterance_id : "";
    const holder = typeof details.block_id === "string" ? details.block_id : null;
    let text = frame.block && typeof frame.block.text === "string" ? frame.block.text : "";
    let zone = frame.block && frame.block.target_placeholder ? frame.block.target_placeholder : null;
    let hadFocus = false;
    if (ins) {
      text = ins.area.value;
      zone = ins.zone.value || zone;
      hadFocus = ins.node.contains(document.activeElement) || (ins.hadFocus && document.activeElement === document.body);
      this.inserts.delete(ins.key);
      ins.node.remove();
    }
    const row = utteranceId ? this.heardItem(utteranceId) : null;
    const written = holder ? this.itemOf(holder) : null;
    const anchor = row || written || (frame.after_block_id ? this.itemOf(frame.after_block_id) : null);
    const g = this.ghost(anchor, {
      message:
        "Un colega ya había escrito lo dicho en este audio: su bloque no se guardó, para que el acta no lo diga dos veces. Su texto no se perdió; abra el bloque de su colega y agregue allí lo que falte:",
      text,
      afterId: frame.after_block_id || null,
      zone,
      holder,
      after: !row && anchor !== null,
    });
    if (hadFocus) g.first.focus();
  }

  // -- answers from the server -----------------------------------------------------------------

  /** Frames acked (or found applied after a reconnect). */
  acked(frames, msg = null) {
    for (const frame of frames) {
      if (!frame || !frame.ref) continue;
      const pending = this.pending.get(frame.ref);
      if (!pending) continue;
      this.pending.delete(frame.ref);
      if (pending.kind === "edit") {
        const ed = this.editors.get(pending.key);
        if (ed && ed.ref === frame.ref) this.closeEditor(ed, "Cambios guardados.");
      } else if (pending.kind === "insert") {
        const ins = this.inserts.get(pending.key);
        if (ins && ins.ref === frame.ref) {
          const focusHere = ins.hadFocus && (ins.node.contains(document.activeElement) || document.activeElement === document.body);
          if (msg && msg.seq === frame.seq && typeof msg.block_id === "string" && focusHere) {
            this.focusWhenShown = msg.block_id;
            const shown = this.itemOf(msg.block_id);
            if (shown) {
              this.focusWhenShown = null;
              queueMicrotask(() => this.focusBlock(shown));
            }
          }
          if (focusHere) ins.node.remove(); // focus goes to the new block, not back to its neighbour
          this.closeInsert(ins, "Bloque insertado.");
        }
      } else if (pending.kind === "delete") {
        this.closeDelete(pending.key);
        this.host.announce("Bloque eliminado.");
      } else if (pending.kind === "ghost") {
        const g = this.ghosts.get(frame.ref);
        this.ghosts.delete(frame.ref);
        if (g) g.node.remove();
        this.host.announce("Su texto se insertó como bloque nuevo.");
      }
    }
  }

  /** A correction frame the server refused (it left the outbox). */
  failed(frame, msg) {
    const code = typeof msg.code === "string" ? msg.code : "ERROR";
    const details = msg.details && typeof msg.details === "object" ? msg.details : {};
    const pending = frame.ref ? this.pending.get(frame.ref) : null;
    if (pending) this.pending.delete(frame.ref);
    const reason =
      code === "NOT_FOUND"
        ? "el bloque ya no existe (otra persona lo eliminó). [NOT_FOUND]"
        : this.host.describe(code, msg.message);
    if (frame.ref && this.ghosted.has(frame.ref)) {
      this.ghosted.delete(frame.ref); // the block was deleted: its notice already holds the text
      return;
    }

    if (frame.kind === "edit") {
      const open = this.editors.get(frame.block_id);
      // Another, newer editor on the block (the change was queued before a reload, and the user
      // has opened the block again since) is left as it is: the refused change goes to the
      // refused texts with its reason, not into that editor over what is being typed there.
      let ed = open && open.ref === frame.ref ? open : null;
      if (code === "STALE_VERSION" && this.itemOf(frame.block_id)) {
        if (!ed && !open) ed = this.restoreEditor(frame);
        if (ed) {
          ed.yours = frame.changes;
          ed.yoursBase = frame.base_version;
          this.openConflict(ed, details.current && typeof details.current === "object" ? details.current : null);
          return;
        }
      }
      if (ed && this.itemOf(frame.block_id)) {
        // Back to the form with the text kept, and the reason.
        const text = typeof frame.changes.text === "string" ? frame.changes.text : null;
        ed.mode = "editing";
        this.renderEditor(ed, {
          text,
          zone: frame.changes.target_placeholder || null,
          template: frame.changes.template_id || null,
        });
        this.say(ed.status, `No se guardó: ${reason}`, "error");
        ed.focusFirst();
        return;
      }
      if (ed) {
        this.editors.delete(ed.blockId);
        ed.node.remove();
      }
      if (typeof frame.changes.text === "string") this.host.rejected(frame.changes.text, code);
      this.host.announce(`No se guardó la corrección: ${reason}`);
      return;
    }
    if (frame.kind === "insert") {
      const ins = pending && pending.kind === "insert" ? this.inserts.get(pending.key) : null;
      const g = pending && pending.kind === "ghost" ? this.ghosts.get(frame.ref) : null;
      if (g) {
        this.ghosts.delete(frame.ref);
        for (const b of g.node.querySelectorAll("button")) b.disabled = false;
        this.say(g.status, `No se insertó: ${reason}`, "error");
        return;
      }
      if (code === "UTTERANCE_WRITTEN") {
        this.writtenFirst(frame, ins && ins.ref === frame.ref ? ins : null, details);
        return;
      }
      if (ins && ins.ref === frame.ref) {
        ins.mode = "editing";
        ins.area.readOnly = false;
        for (const control of ins.node.querySelectorAll("select, button")) control.disabled = false;
        this.say(ins.status, `No se insertó: ${reason}`, "error");
        ins.area.focus();
        return;
      }
      const text = frame.block && typeof frame.block.text === "string" ? frame.block.text : "";
      if (text) this.host.rejected(text, code);
      this.host.announce(`No se insertó el bloque: ${reason}`);
      return;
    }
    if (frame.kind === "delete") {
      const c = this.confirms.get(frame.block_id);
      if (code === "STALE_VERSION" && details.current && typeof details.current === "object" && this.itemOf(frame.block_id)) {
        let target = c;
        if (!target) {
          this.openDelete(frame.block_id);
          target = this.confirms.get(frame.block_id);
        }
        if (target) {
          const known = this.host.block(frame.block_id);
          target.current = known && known.version > details.current.version ? known : details.current;
          this.renderDeleteConflict(target, authorOf(target.current));
          target.focusFirst();
          this.host.announce("No se eliminó: otra persona cambió el bloque antes.");
          return;
        }
      }
      if (c) {
        if (code === "NOT_FOUND") {
          this.closeDelete(frame.block_id);
          this.host.announce("El bloque ya estaba eliminado.");
          return;
        }
        this.renderDeleteAsk(c);
        c.mode = "asking";
        const status = c.node.querySelector("[role=status]");
        if (status) this.say(status, `No se eliminó: ${reason}`, "error");
        return;
      }
      this.host.announce(code === "NOT_FOUND" ? "El bloque ya estaba eliminado." : `No se eliminó el bloque: ${reason}`);
    }
  }

  /** A conflict for an edit sent before a reload: rebuild an editor state from the frame. */
  restoreEditor(frame) {
    const block = this.host.block(frame.block_id);
    const item = this.itemOf(frame.block_id);
    if (!block || !item) return null;
    this.openEditor(frame.block_id);
    const ed = this.editors.get(frame.block_id);
    if (!ed) return null;
    ed.base = { ...block, version: frame.base_version, text: block.text };
    ed.ref = frame.ref;
    return ed;
  }

  // -- presence --------------------------------------------------------------------------------

  /** This page's client id, and the subject of its token: another window of the same person
   * (the same subject, another client) is shown as theirs, not under their name as a stranger. */
  setSelf(clientId, sub = null) {
    this.selfId = clientId || null;
    this.selfSub = typeof sub === "string" && sub ? sub : null;
  }

  /** How a presence entry is named to this page: its subject, or, for this person's other
   * window, "usted (otra ventana)". */
  presenceName(c) {
    const sub = c.sub === undefined || c.sub === null || c.sub === "" ? "alguien" : String(c.sub);
    return c.client_id !== this.selfId && this.selfSub !== null && sub === this.selfSub ? "usted (otra ventana)" : sub;
  }

  /** This page is editing `blockId`: tell the others (soft lock). */
  claim(blockId) {
    if (this.releaseTimer !== null) clearTimeout(this.releaseTimer);
    this.releaseTimer = null;
    if (this.active === blockId) return;
    this.active = blockId;
    this.host.sendPresence(blockId);
  }

  /** Not editing any more (saved, cancelled, or focus left the editor for a moment). */
  release(delay) {
    if (this.releaseTimer !== null) clearTimeout(this.releaseTimer);
    this.releaseTimer = null;
    if (delay > 0) {
      this.releaseTimer = setTimeout(() => this.release(0), delay);
      return;
    }
    if (this.active === null) return;
    this.active = null;
    this.host.sendPresence(null);
  }

  /** After a (re)connection: the server knows nothing of what this page was editing. */
  resendPresence() {
    if (this.active !== null) this.host.sendPresence(this.active);
  }

  /** A presence snapshot from the server. */
  setPresence(msg) {
    let clients = msg && msg.clients;
    if (!Array.isArray(clients)) clients = clients && typeof clients === "object" ? Object.values(clients) : [];
    this.clients = clients.filter((c) => c && typeof c === "object");
    this.others = new Map();
    for (const c of this.clients) {
      if (c.client_id === this.selfId || typeof c.block_id !== "string" || !c.block_id) continue;
      const sub = this.presenceName(c);
      const list = this.others.get(c.block_id) || [];
      if (!list.includes(sub)) list.push(sub);
      this.others.set(c.block_id, list);
    }
    this.renderPresenceList();
    for (const item of this.root.querySelectorAll(BLOCK_SELECTOR)) this.paintPresence(item);
    for (const ed of this.editors.values()) this.refreshNotice(ed);
  }

  /** No connection: the list is unknown, not empty. */
  presenceOffline() {
    this.clients = [];
    this.others = new Map();
    this.renderPresenceList();
    for (const item of this.root.querySelectorAll(BLOCK_SELECTOR)) this.paintPresence(item);
  }

  renderPresenceList() {
    const list = this.ui.presenceList;
    list.replaceChildren();
    const sorted = [...this.clients].sort((a, b) => {
      if (a.client_id === this.selfId) return -1;
      if (b.client_id === this.selfId) return 1;
      return String(a.sub).localeCompare(String(b.sub));
    });
    for (const c of sorted) {
      const li = el("li", "presence__item");
      const sub = c.sub === undefined || c.sub === null || c.sub === "" ? "alguien" : String(c.sub);
      li.dataset.sub = sub;
      li.dataset.role = String(c.role || "");
      li.append(el("span", "presence__sub", sub));
      if (c.client_id !== this.selfId && this.presenceName(c) !== sub) {
        li.append(el("span", "presence__self", "(usted, en otra ventana)"));
      }
      li.append(el("span", "presence__role", ROLE_NAMES[c.role] || c.role || "sin rol"));
      if (c.client_id === this.selfId) {
        li.classList.add("presence__item--self");
        li.append(el("span", "presence__self", "(usted)"));
      }
      if (typeof c.block_id === "string" && c.block_id) {
        li.classList.add("presence__item--editing");
        const doing = el("span", "presence__doing", "editando");
        const block = this.host.block(c.block_id);
        if (block) doing.title = `Editando: ${excerpt(block.text, 60)}`;
        li.append(doing);
      }
      list.append(li);
    }
    this.ui.presenceBox.hidden = !this.clients.length;
    this.ui.presenceBox.dataset.count = String(this.clients.length);
    const count = this.ui.presenceBox.querySelector(".presence__count");
    if (count) count.textContent = String(this.clients.length);
  }

  /** The "editando: ana" badge of one block, and the warning on its Editar button. */
  paintPresence(item) {
    const id = item.dataset.blockId;
    for (const old of item.querySelectorAll(".block__presence")) old.remove();
    const subs = this.others.get(id) || [];
    item.classList.toggle("block--locked", subs.length > 0);
    const edit = item.querySelector(".block__edit");
    if (subs.length) {
      const badge = el("span", "block__presence", `editando: ${subs.join(", ")}`);
      badge.setAttribute("role", "status");
      const meta = item.querySelector(".block__meta");
      if (meta) meta.append(badge);
      else item.prepend(badge);
    }
    if (edit) {
      const base = edit.dataset.label || "Editar el bloque";
      if (subs.length) {
        edit.textContent = "⚠ Editar";
        edit.classList.add("block__edit--warn");
        edit.setAttribute("aria-label", `${base} (atención: ${subs.join(", ")} lo está editando)`);
        edit.title = `${subs.join(", ")} está editando este bloque; puede editarlo igual.`;
      } else {
        edit.textContent = "Editar";
        edit.classList.remove("block__edit--warn");
        edit.setAttribute("aria-label", base);
        edit.removeAttribute("title");
      }
    }
  }

  // -- keyboard --------------------------------------------------------------------------------

  /** Keys inside an open panel: Ctrl+Enter for its main action, Esc to leave it. */
  onPanelKey(event, panel) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      event.stopPropagation();
      if (panel.primary) panel.primary();
    } else if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      if (panel.escape) panel.escape();
    }
  }

  onKey(event) {
    if (event.defaultPrevented || event.isComposing) return;
    if (!this.root.isConnected || this.root.closest("[hidden]")) return;
    const target = event.target;
    if (event.key === "Escape" && !this.ui.help.hidden) {
      this.toggleHelp(false);
      return;
    }
    if (isTyping(target)) return;
    if (event.ctrlKey || event.metaKey) return;
    const alt = event.altKey;
    if ((!alt && (event.key === "j" || event.key === "J")) || (alt && event.key === "ArrowDown")) {
      event.preventDefault();
      this.move(1);
    } else if ((!alt && (event.key === "k" || event.key === "K")) || (alt && event.key === "ArrowUp")) {
      event.preventDefault();
      this.move(-1);
    } else if (!alt && event.key === "?") {
      event.preventDefault();
      this.toggleHelp();
    } else if (!alt && event.key === "Enter" && target instanceof Element && target.matches(BLOCK_SELECTOR)) {
      event.preventDefault();
      this.openEditor(target.dataset.blockId);
    } else if (!alt && event.key === "Enter" && target instanceof Element && target.matches(HEARD_SELECTOR)) {
      // audio heard with no words: write what was said (its button, offered to editors only)
      event.preventDefault();
      const write = target.querySelector(".block__write");
      if (this.allowed && write && !write.hidden) write.click();
    }
  }

  move(delta) {
    const items = [...this.root.querySelectorAll(ROW_SELECTOR)];
    if (!items.length) return;
    const active = document.activeElement instanceof Element ? document.activeElement.closest(ROW_SELECTOR) : null;
    let index = active && this.root.contains(active) ? items.indexOf(active) : -1;
    if (index < 0 && this.currentId) index = items.findIndex((li) => rowKey(li) === this.currentId);
    let next;
    if (index < 0) next = delta > 0 ? 0 : items.length - 1;
    else next = Math.min(items.length - 1, Math.max(0, index + delta));
    this.focusBlock(items[next]);
  }

  focusBlock(item) {
    this.setCurrent(item);
    item.focus({ preventScroll: true });
    item.scrollIntoView({ block: "nearest" });
  }

  /** The roving tabindex: the current row is the one Tab reaches in the draft. */
  setCurrent(item) {
    const id = rowKey(item);
    if (this.currentId !== id) {
      const old = this.currentId ? this.rowOf(this.currentId) : null;
      if (old) {
        old.tabIndex = -1;
        old.classList.remove("block--current");
      }
      this.currentId = id;
    }
    item.tabIndex = 0;
    item.classList.add("block--current");
  }

  /** Make sure one block of the draft is reachable with Tab. */
  queueRoving() {
    if (this.rovingQueued) return;
    this.rovingQueued = true;
    queueMicrotask(() => {
      this.rovingQueued = false;
      const current = this.currentId ? this.rowOf(this.currentId) : null;
      if (current) {
        current.tabIndex = 0;
        return;
      }
      this.currentId = null;
      const first = this.root.querySelector(ROW_SELECTOR);
      if (first && !this.root.querySelector(`${BLOCK_SELECTOR}[tabindex="0"], ${HEARD_SELECTOR}[tabindex="0"]`)) {
        first.tabIndex = 0;
      }
    });
  }

  toggleHelp(show = null) {
    const help = this.ui.help;
    const visible = show === null ? help.hidden : show;
    help.hidden = !visible;
    this.ui.helpButton.setAttribute("aria-expanded", visible ? "true" : "false");
  }

  // -- helpers ---------------------------------------------------------------------------------

  say(node, text, kind = "") {
    if (!node) return;
    node.textContent = text || "";
    node.dataset.kind = kind;
  }
}
