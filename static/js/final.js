// The finalized acta: download link, integrity hash and a readable summary of the audit report
// (server/services/guard.py, audit_report). Rendering only; console.js decides when.

import { BLOCK_TYPE_COUNTS } from "./messages.js";

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

/** The URL if it is http(s) (relative ones resolve against the page), else null. */
export function safeUrl(value) {
  if (typeof value !== "string" || !value) return null;
  try {
    const url = new URL(value, window.location.href);
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
  } catch {
    return null;
  }
}

export function formatInstant(value) {
  if (value === null || value === undefined || value === "") return "—";
  const date = typeof value === "number" ? new Date(value * 1000) : new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return date.toLocaleString("es-CO", { dateStyle: "medium", timeStyle: "medium" });
}

function row(dl, term, ...values) {
  dl.append(el("dt", null, term));
  const dd = el("dd");
  for (const v of values) dd.append(typeof v === "string" ? document.createTextNode(v) : v);
  dl.append(dd);
  return dd;
}

function mono(text) {
  return el("code", "mono", text === undefined || text === null || text === "" ? "—" : text);
}

/** A long hex hash as its first 12 and last 8 characters ("46bfd2848d61…e767e63a"). */
export function shortHash(value) {
  const text = typeof value === "string" ? value : "";
  return text.length > 24 ? `${text.slice(0, 12)}…${text.slice(-8)}` : text;
}

/**
 * A hash shortened to fit the column, the whole value in its title and on the clipboard
 * (`copy(text, what)`), so it is still there to compare with sha256sum or the JSON report.
 */
function hash(value, what, copy) {
  if (typeof value !== "string" || !value) return mono(value);
  const box = el("span", "audit__hash");
  const code = mono(shortHash(value));
  code.title = value;
  code.dataset.full = value;
  box.append(code);
  if (copy) {
    const button = el("button", "small audit__copy", "Copiar");
    button.type = "button";
    button.setAttribute("aria-label", `Copiar completo: ${what}`);
    button.addEventListener("click", () => copy(value, what));
    box.append(" ", button);
  }
  return box;
}

/** "13 de texto" or "13: 11 de texto, 1 imagen, 1 pendiente de revisión" (blocks.by_type). */
function blockCounts(total, byType) {
  const parts = Object.entries(byType)
    .filter(([, count]) => Number.isInteger(count) && count > 0)
    .map(([type, count]) => {
      const names = BLOCK_TYPE_COUNTS[type] || [type, type];
      return `${count} ${count === 1 ? names[0] : names[1]}`;
    });
  const all = String(total ?? "—");
  if (!parts.length) return all;
  if (parts.length === 1 && parts[0].startsWith(`${all} `)) return parts[0];
  return `${all}: ${parts.join(", ")}`;
}

/**
 * A <div> summarising an audit report; tolerant of missing parts. `lowConfidence`: how many of
 * the acta's audio blocks were recognized with low confidence and not edited (the console
 * counts them: the report does not), or null; `copy(text, what)` copies a hash.
 */
export function renderAudit(report, { lowConfidence = null, copy = null } = {}) {
  const box = el("div", "audit");
  if (!report || typeof report !== "object") {
    box.append(el("p", "muted", "El informe de auditoría no está disponible."));
    return box;
  }
  const dl = el("dl", "audit__list");

  const blocks = report.blocks || {};
  const byType = blocks.by_type && typeof blocks.by_type === "object" ? blocks.by_type : {};
  row(dl, "Bloques en el acta", blockCounts(blocks.total, byType));
  const pending = Array.isArray(report.pending_review) ? report.pending_review.length : 0;
  const pendingDd = row(dl, "Pendientes de revisión", String(pending));
  if (pending) pendingDd.classList.add("audit__warn");
  if (Number.isInteger(lowConfidence)) {
    const low = row(dl, "Baja confianza sin revisar", String(lowConfidence));
    low.classList.add("audit__low");
    low.title = "Bloques de audio reconocidos con baja confianza que nadie editó: revíselos con el audio.";
    if (lowConfidence) low.classList.add("audit__warn");
  }
  if (Array.isArray(report.human_edits)) row(dl, "Ediciones humanas", String(report.human_edits.length));
  if (Array.isArray(report.reprocessed)) {
    row(dl, "Retranscritos por el sistema", String(report.reprocessed.length));
  }
  if (Array.isArray(report.discarded_utterances)) {
    const heard = row(dl, "Audio sin palabras reconocidas", String(report.discarded_utterances.length));
    heard.classList.add("audit__unheard");
    heard.title = "Fragmentos grabados en los que el reconocimiento no halló palabras; su audio se conserva. Solo están en el acta los que alguien escribió a mano.";
  }

  const chain = report.event_chain || {};
  row(dl, "Cabeza de la cadena de eventos", hash(chain.head, "Cabeza de la cadena de eventos", copy));
  if (chain.events !== undefined) row(dl, "Eventos registrados", String(chain.events));
  if (report.content_hash) row(dl, "Hash del contenido", hash(report.content_hash, "Hash del contenido", copy));

  const pinned = report.pinned || {};
  row(
    dl,
    "Esqueleto fijado",
    `${pinned.skeleton_id || "—"} · versión ${pinned.skeleton_version || "—"}`,
  );
  if (pinned.skeleton_sha256) {
    row(dl, "SHA-256 del esqueleto", hash(pinned.skeleton_sha256, "SHA-256 del esqueleto", copy));
  }
  row(
    dl,
    "Adaptador fijado",
    `${pinned.adapter_id || "—"} · versión ${pinned.adapter_version || "—"}${pinned.model ? ` · modelo ${pinned.model}` : ""}`,
  );

  const t = report.timeline || {};
  const timeline = el("ul", "audit__timeline");
  const step = (label, at, who) => {
    const item = el("li");
    // the instant kept whole on one line (it wrapped over three in the narrow column)
    item.append(`${label}: `, el("span", "audit__when", formatInstant(at)));
    if (who) item.append(` (${who})`);
    timeline.append(item);
  };
  step("Inicio", t.started_at, t.started_by);
  if (t.first_audio_at) {
    step("Primer audio recibido", t.first_audio_at);
    step("Último audio recibido", t.last_audio_at);
  }
  step("Primer bloque", t.first_input_at);
  step("Último bloque", t.last_input_at);
  step("Finalización", t.finalized_at, t.finalized_by);
  row(dl, "Cronología", timeline);

  box.append(dl);
  return box;
}
