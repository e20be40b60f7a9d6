// The live draft of the acta: a model fed by the session's events (applied once, in id order)
// and a view that lays its blocks out in the skeleton's zones. Server data only ever reaches
// the page through textContent and attributes, never as HTML.

import { session } from "./storage.js";

/** The zones of SKEL_STD_V1 in document order, with their Spanish headings. */
export const ZONES = [
  ["HEADER_ZONE", "Apertura"],
  ["ZONE_AGENDA", "Orden del día"],
  ["ZONE_ROLLCALL", "Llamado a lista y quórum"],
  ["ZONE_AGENDA_APPROVAL", "Aprobación del orden del día"],
  ["ZONE_PRIOR_ACTAS", "Aprobación de actas anteriores"],
  ["ZONE_DEBATE", "Desarrollo de la sesión"],
  ["ZONE_PROYECTOS", "Proyectos de acuerdo"],
  ["ZONE_PROPOSICIONES", "Proposiciones"],
  ["ZONE_COMUNICACIONES", "Comunicaciones"],
  ["ZONE_VARIOS", "Varios"],
  ["ZONE_CIERRE", "Cierre"],
  ["SIGNATURE_BLOCK", "Firmas"],
];

const SNAPSHOT_VERSION = 1;

// -- model ---------------------------------------------------------------------------------------

/**
 * What the events of one session say so far. `lastEventId` is the id of the last event
 * applied; the model and that id are saved together (sessionStorage) so a reload resumes the
 * stream exactly where the restored draft ends.
 */
export class DraftModel {
  constructor(sessionId, saved = null) {
    this.sessionId = sessionId;
    this.lastEventId = 0;
    this.status = null;
    this.metadata = {};
    this.blocks = [];
    this.final = null; // data of session.finalized
    this.failure = null; // data of session.finalize_failed
    if (saved && saved.v === SNAPSHOT_VERSION && Number.isSafeInteger(saved.lastEventId)) {
      this.lastEventId = saved.lastEventId;
      this.status = saved.status || null;
      this.metadata = saved.metadata || {};
      this.blocks = Array.isArray(saved.blocks) ? saved.blocks : [];
      this.final = saved.final || null;
      this.failure = saved.failure || null;
    }
    this.blockIds = new Set(this.blocks.map((b) => b.block_id));
  }

  static restore(sessionId) {
    return new DraftModel(sessionId, session.getJSON(`draft.${sessionId}`));
  }

  save() {
    const ok = session.setJSON(`draft.${this.sessionId}`, {
      v: SNAPSHOT_VERSION,
      lastEventId: this.lastEventId,
      status: this.status,
      metadata: this.metadata,
      blocks: this.blocks,
      final: this.final,
      failure: this.failure,
    });
    // Without a complete snapshot a reload must replay from the start, not from lastEventId.
    if (!ok) session.remove(`draft.${this.sessionId}`);
  }

  static forget(sessionId) {
    session.remove(`draft.${sessionId}`);
  }

  /**
   * Apply one event frame. Returns null for an event already applied (id <= lastEventId),
   * false when ids skip (the caller resumes from the log), else the change:
   * {kind, block?} for the view.
   */
  apply(event) {
    const id = event.id;
    if (typeof id !== "number" || !Number.isSafeInteger(id)) return null;
    if (id <= this.lastEventId) return null;
    if (id !== this.lastEventId + 1) return false;
    this.lastEventId = id;
    const data = event.data && typeof event.data === "object" ? event.data : {};
    const change = { kind: event.kind, at: event.at, actor: event.actor };
    switch (event.kind) {
      case "session.started":
        this.status = this.status || "OPEN";
        this.metadata = data.metadata && typeof data.metadata === "object" ? data.metadata : {};
        break;
      case "block.added": {
        const block = data.block;
        if (block && typeof block === "object" && !this.blockIds.has(block.block_id)) {
          this.blocks.push(block);
          this.blockIds.add(block.block_id);
          change.block = block;
        }
        break;
      }
      case "session.closing":
        this.status = "CLOSING";
        break;
      case "session.finalized":
        this.status = "FINALIZED";
        this.final = data;
        this.failure = null;
        break;
      case "session.finalize_failed":
        this.status = "FINALIZE_FAILED";
        this.failure = data;
        break;
      default:
        break; // a kind this console does not know yet: skipped, but its id counts
    }
    return change;
  }
}

// -- view ----------------------------------------------------------------------------------------

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function speakerName(value) {
  if (typeof value === "string") return value.trim();
  if (value && typeof value === "object") {
    for (const key of ["nombre", "name", "concejal"]) {
      if (typeof value[key] === "string" && value[key].trim()) return value[key].trim();
    }
  }
  return "";
}

function timeOf(seconds) {
  if (typeof seconds !== "number" || !Number.isFinite(seconds)) return "";
  return new Date(seconds * 1000).toLocaleTimeString("es-CO", {
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
}

/** One block as an <li>; exported so later features (editing) can re-render a block. */
export function renderBlock(block) {
  const item = el("li", "block");
  const type = typeof block.type === "string" ? block.type : "TEMPLATE";
  item.classList.add(`block--${type.toLowerCase().replace(/_/g, "-")}`);
  if (typeof block.block_id === "string") item.dataset.blockId = block.block_id;

  const pending = type === "ERROR_PENDING_REVIEW";
  const meta = el("p", "block__meta");
  const label = block.label || block.intent || "Bloque";
  if (!pending || label !== "Pendiente de revisión") meta.append(el("span", "block__label", label));
  const when = timeOf(block.created_at);
  if (when) meta.append(el("span", "block__time", when));
  if (block.created_by) meta.append(el("span", "block__author", block.created_by));
  item.append(meta);

  if (pending) {
    const error = block.error && typeof block.error === "object" ? block.error : {};
    const flag = el("p", "block__flag");
    flag.append(el("strong", null, "Pendiente de revisión"));
    if (error.code) flag.append(" ", el("code", "block__code", error.code));
    if (error.message) {
      const attempts = Number.isInteger(error.attempts) ? ` (${error.attempts} intento(s))` : "";
      flag.append(" ", el("span", "block__reason", `${error.message}${attempts}`));
    }
    item.append(flag);
  }

  if (type === "IMAGE") {
    const asset = block.asset && typeof block.asset === "object" ? block.asset : {};
    const figure = el("p", "block__image");
    figure.append(el("span", "block__image-icon", "Imagen:"), " ");
    figure.append(el("span", "block__caption", asset.caption || block.text || asset.filename || "sin título"));
    if (asset.filename && asset.filename !== asset.caption) {
      figure.append(" ", el("span", "block__filename", `(${asset.filename})`));
    }
    item.append(figure);
    return item;
  }

  const text = el("p", "block__text");
  const data = block.structured_data && typeof block.structured_data === "object" ? block.structured_data : {};
  const speaker = speakerName(data.orador);
  if (speaker) {
    text.append(el("strong", "block__speaker", `${speaker.replace(/:\s*$/, "")}:`), " ");
  }
  text.append(typeof block.text === "string" ? block.text : "");
  item.append(text);
  return item;
}

export class DraftView {
  /** root: the element that holds the zones (an aria-live region). */
  constructor(root) {
    this.root = root;
    this.lists = new Map();
    this.build();
  }

  build() {
    this.root.replaceChildren();
    this.lists.clear();
    for (const [zone, heading] of ZONES) this.addZone(zone, heading);
  }

  addZone(zone, heading) {
    const section = el("section", "zone");
    section.dataset.zone = zone;
    const id = `zone-${zone.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`;
    const title = el("h3", "zone__title", heading);
    title.id = id;
    section.setAttribute("aria-labelledby", id);
    const list = el("ol", "zone__blocks");
    const empty = el("p", "zone__empty", "Sin contenido todavía.");
    section.append(title, list, empty);
    this.root.append(section);
    this.lists.set(zone, { section, list, empty });
    return this.lists.get(zone);
  }

  zoneFor(name) {
    const zone = typeof name === "string" && name ? name : "ZONE_DEBATE";
    // A zone outside the standard skeleton still shows, after the others, under its own name.
    return this.lists.get(zone) || this.addZone(zone, zone);
  }

  addBlock(block) {
    const { section, list, empty } = this.zoneFor(block.target_placeholder);
    list.append(renderBlock(block));
    empty.hidden = true;
    section.classList.add("zone--filled");
  }

  renderAll(blocks) {
    this.build();
    for (const block of blocks) this.addBlock(block);
  }
}
