// The recording console: wires the token, the HTTP API, the session's WebSocket, the microphone
// and the live draft to the page. Each concern lives in its own module; this one only connects
// them.

import { Api } from "./api.js";
import { AudioStore } from "./audiostore.js";
import {
  CAN,
  ROLE_NAMES,
  cleanToken,
  forgetToken,
  fragmentParams,
  isExpired,
  readClaims,
  setFragment,
  storeToken,
  storedToken,
  takeTokenFromFragment,
} from "./auth.js";
import { SessionConnection } from "./connection.js";
import { DraftModel, DraftView, ZONES, lowConfidence } from "./draft.js";
import { Editing } from "./editing.js";
import { renderAudit, safeUrl } from "./final.js";
import { claimClientId, forgetClientId, outboxStore } from "./identity.js";
import { STATUS_NAMES, describeClose, describeError } from "./messages.js";
import { AUDIO_BYTES_PER_SECOND, CORRECTIONS, Outbox, SEND_AGAIN_CODES } from "./outbox.js";
import { OUT_RATE, Recorder, captureSupported } from "./recorder.js";
import { session as tabStorage } from "./storage.js";

const $ = (id) => {
  const node = document.getElementById(id);
  if (!node) throw new Error(`missing element #${id}`);
  return node;
};

/** Closes that reconnect but are worth saying why (protocol.md, "Close codes"). */
const EXPLAINED_CLOSES = new Set([1013, 4408, 4429, 4500, 4503]);
const CONN_TEXT = {
  connecting: "conectando",
  online: "en línea",
  reconnecting: "reconectando…",
  offline: "desconectado",
};
const SAVE_DELAY = 400;
const REVIEW_DELAY = 200; // ms: the review summary is counted once per burst of events
const FINALIZE_FLUSH_MS = 20_000; // at most, for the outbox to be acked before finalize (sendWhatIsQueued)

const app = {
  token: null,
  claims: null,
  role: null, // from welcome (authoritative) or the token
  api: null,
  sessionId: null,
  model: null,
  view: null,
  editing: null, // corrections, conflicts, presence and the keyboard (editing.js)
  placeholderMapFor: null, // the session whose pinned placeholder_map the editor holds
  conn: null,
  lease: null,
  status: null,
  limits: null,
  saveTimer: null,
  reviewTimer: null,
  discardedFrame: null,
  audit: null,
  auditRequested: false,
  finalizing: false,
  previewing: false, // a draft of the acta is being built for download
  discarding: false, // a discard is being asked for
  entering: 0,
  recorder: null,
  recSamples: 0, // 16 kHz samples captured in the current recording (pauses included)
  recResumes: false, // the next «Grabar» goes on with a recording a reload interrupted
  recSavedAt: 0, // when the recording's state was last written to the tab's storage
  recError: "",
  sessionFull: false, // the last connection was refused with 4429 (its message is on screen)
  connEnded: null, // the close code that ended the connection for good (no reconnect follows)
};

const REC_TEXT = {
  idle: "Micrófono inactivo.",
  starting: "Abriendo el micrófono…",
  recording: "Grabando.",
  pausing: "Pausando…",
  paused: "En pausa. Pulse «Grabar» para continuar.",
  stopping: "Deteniendo…",
};

// -- small helpers -------------------------------------------------------------------------------

function show(id, visible) {
  $(id).hidden = !visible;
}

function say(id, text, kind = "") {
  const node = $(id);
  node.textContent = text || "";
  node.dataset.kind = kind;
}

function announce(text) {
  const node = $("announcer");
  node.textContent = "";
  // A new text node in a later frame makes screen readers announce a repeated message too.
  window.setTimeout(() => {
    node.textContent = text;
  }, 50);
}

async function copyText(text, what) {
  let done = false;
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      done = true;
    } catch {
      done = false;
    }
  }
  if (!done) {
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "offscreen";
    document.body.append(area);
    area.select();
    try {
      done = document.execCommand("copy");
    } catch {
      done = false;
    }
    area.remove();
  }
  announce(done ? `${what} copiado.` : `No se pudo copiar: seleccione el texto y cópielo a mano.`);
}

function errorText(exc) {
  if (exc && exc.code) return describeError(exc.code, exc.message);
  return String((exc && exc.message) || exc);
}

// -- token ---------------------------------------------------------------------------------------

function acceptToken(token) {
  const claims = readClaims(token); // throws with a Spanish message
  if (isExpired(claims)) throw new Error("La clave de acceso expiró. Solicite una nueva.");
  if (!claims.tenant_id) throw new Error("La clave de acceso no indica el concejo (tenant_id).");
  storeToken(token);
  app.token = cleanToken(token);
  app.claims = claims;
  app.role = claims.role;
  const role = ROLE_NAMES[claims.role] || claims.role || "sin rol";
  $("who").textContent = `${claims.tenant_id} · rol: ${role} · usuario: ${claims.sub || "—"}`;
  show("identity", true);
  if (app.conn) app.conn.setToken(app.token);
  updatePermissions();
}

function showSignIn(message = "") {
  show("signin", true);
  say("signin-error", message, message ? "error" : "");
  const input = $("token-input");
  input.value = "";
  input.focus();
}

function onSignIn(event) {
  event.preventDefault();
  const text = $("token-input").value.trim();
  if (!text) {
    say("signin-error", "Pegue la clave de acceso antes de continuar.", "error");
    $("token-input").focus();
    return;
  }
  try {
    acceptToken(text);
  } catch (exc) {
    say("signin-error", exc.message, "error");
    $("token-input").focus();
    return;
  }
  $("token-input").value = "";
  say("signin-error", "");
  show("signin", false);
  if (app.sessionId) {
    $("text-input").focus();
  } else {
    routeFromFragment();
  }
}

function changeToken() {
  forgetToken();
  showSignIn();
}

// -- choosing a session --------------------------------------------------------------------------

function showPicker(message = "") {
  show("workspace", false);
  show("picker", true);
  say("picker-error", message, message ? "error" : "");
  $("start-button").disabled = !CAN.start.has(app.role);
  $("start-button").title = CAN.start.has(app.role) ? "" : "Su rol no permite iniciar sesiones.";
  $(CAN.start.has(app.role) ? "title-input" : "join-input").focus();
  listOpenSessions();
}

/** The tenant's open sessions as buttons above the id field: a stenographer joins the one being
 * recorded with a click instead of being sent its id. A failure says why, and leaves the id field
 * to type in; a token refused asks for a new one at once (an empty list would hide it). */
async function listOpenSessions() {
  const list = $("open-sessions");
  const note = $("open-sessions-note");
  let sessions;
  try {
    sessions = (await app.api.listOpenSessions()).sessions;
  } catch (exc) {
    list.replaceChildren();
    note.textContent = handleAuthFailure(exc)
      ? ""
      : `No se pudo cargar la lista de sesiones abiertas: ${errorText(exc)} Puede escribir el identificador de la sesión abajo.`;
    return;
  }
  if (!Array.isArray(sessions)) sessions = [];
  note.textContent = sessions.length ? "Sesiones abiertas:" : "No hay sesiones abiertas en este momento.";
  list.replaceChildren(
    ...sessions.map((session) => {
      const title = (session.metadata && session.metadata.title) || session.session_id;
      const started = new Date(session.created_at * 1000);
      const when = started.toLocaleString("es-CO", { dateStyle: "short", timeStyle: "short" });
      const button = document.createElement("button");
      button.type = "button";
      button.className = "open-session";
      button.dataset.sessionId = session.session_id;
      const name = document.createElement("strong");
      name.textContent = title;
      const detail = document.createElement("span");
      detail.textContent = `iniciada ${when}${session.created_by ? ` por ${session.created_by}` : ""}`;
      if (session.status === "FINALIZE_FAILED") detail.textContent += " · falló la generación del acta";
      button.append(name, detail);
      button.addEventListener("click", () => joinSession(session.session_id));
      const item = document.createElement("li");
      item.append(button);
      if (app.role === "admin") {
        // An administrator clears out sessions opened by mistake without joining each one.
        const drop = document.createElement("button");
        drop.type = "button";
        drop.className = "small danger";
        drop.textContent = "Descartar…";
        drop.setAttribute("aria-label", `Descartar la sesión «${title}»`);
        drop.addEventListener("click", () => discardListed(session.session_id, title));
        item.classList.add("open-sessions__item--admin");
        item.append(drop);
      }
      return item;
    }),
  );
}

/** Discard one of the listed sessions (an administrator's), asking why first; the list is read again. */
async function discardListed(sessionId, title) {
  const reason = window.prompt(
    `Descartar la sesión «${title}» la cierra sin acta: no admitirá más grabación, textos ni ` +
      "correcciones; lo registrado se conserva. Escriba el motivo (queda registrado):",
  );
  if (reason === null) return;
  const note = $("open-sessions-note");
  if (!reason.trim()) {
    note.textContent = "Escriba el motivo para descartar la sesión.";
    return;
  }
  try {
    await app.api.discard(sessionId, reason.trim());
  } catch (exc) {
    if (!handleAuthFailure(exc)) note.textContent = `No se pudo descartar «${title}»: ${errorText(exc)}`;
    return;
  }
  await listOpenSessions();
  announce(`Sesión «${title}» descartada.`);
}

function routeFromFragment() {
  const id = fragmentParams().get("session");
  if (id) joinSession(id);
  else showPicker();
}

function handleAuthFailure(exc) {
  if (exc && exc.code === "UNAUTHORIZED") {
    showSignIn(describeError(exc.code, exc.message));
    return true;
  }
  return false;
}

async function onStart(event) {
  event.preventDefault();
  const title = $("title-input").value.trim();
  if (!title) {
    say("picker-error", "Escriba el título de la sesión.", "error");
    $("title-input").focus();
    return;
  }
  const button = $("start-button");
  button.disabled = true;
  say("picker-error", "Iniciando la sesión…");
  try {
    const info = await app.api.startSession(app.claims.tenant_id, title);
    $("title-input").value = "";
    say("picker-error", "");
    await enterSession(info.session_id, info);
  } catch (exc) {
    if (!handleAuthFailure(exc)) say("picker-error", errorText(exc), "error");
  } finally {
    button.disabled = !CAN.start.has(app.role);
  }
}

function onJoin(event) {
  event.preventDefault();
  const id = $("join-input").value.trim();
  if (!/^[A-Za-z0-9_-]{8,64}$/.test(id)) {
    say("picker-error", "El identificador tiene entre 8 y 64 letras, números, «_» o «-».", "error");
    $("join-input").focus();
    return;
  }
  joinSession(id);
}

async function joinSession(id) {
  say("picker-error", "Buscando la sesión…");
  let info = null;
  try {
    info = await app.api.getSession(id);
  } catch (exc) {
    if (handleAuthFailure(exc)) return;
    // Offline: enter anyway (the draft saved in this tab shows, the stream reconnects).
    if (exc.code !== "NETWORK") {
      setFragment(new URLSearchParams());
      showPicker(errorText(exc));
      return;
    }
  }
  say("picker-error", "");
  $("join-input").value = "";
  await enterSession(id, info);
}

// -- the session ---------------------------------------------------------------------------------

async function enterSession(sessionId, info) {
  await stopRecording();
  leaveSession({ keepFragment: true });
  const ticket = ++app.entering;
  app.sessionId = sessionId;
  setFragment(new URLSearchParams({ session: sessionId }));

  app.model = DraftModel.restore(sessionId);
  app.editing.reset();
  app.placeholderMapFor = null;
  app.editing.setPlaceholderMap(null);
  app.view.setEmptyZones(null, app.model.status === "FINALIZED");
  app.view.renderAll(app.model.blocks, app.model.utterances, app.model.unwritten());
  app.recSamples = 0;
  app.recResumes = false;
  app.recError = "";
  const interrupted = tabStorage.getJSON(recordingKey(sessionId));
  if (interrupted && Number.isFinite(interrupted.samples) && Number.isFinite(interrupted.at)) {
    // This tab was recording when the page went away (a reload, a crash the browser restored).
    // The microphone cannot start again by itself: the browser wants a click for audio.
    app.recSamples = Math.max(0, interrupted.samples);
    app.recResumes = true;
    const when = new Date(interrupted.at).toLocaleTimeString("es-CO", { timeStyle: "short" });
    app.recError =
      `La grabación se interrumpió cuando la página se recargó o se cerró (hacia las ${when}): ` +
      "no se está grabando. El audio grabado hasta entonces se envía igual. " +
      "Pulse «Grabar» para seguir grabando.";
  }
  showElapsed();
  renderRecorder();
  app.audit = null;
  app.auditRequested = false;
  updateReview();
  $("session-id").textContent = sessionId;
  show("picker", false);
  show("workspace", true);
  show("final-result", false);
  say("final-status", "");
  say("preview-status", "");
  say("discard-status", "");
  say("upload-status", "");
  say("text-error", "");
  $("rejected-list").replaceChildren();
  show("rejected", false);
  renderTitle();
  setStatus(app.model.status || (info && info.status) || null);
  if (info) applySessionInfo(info);
  else if (app.model.final) showFinal(app.model.final);
  const discarded = (info && info.discarded) || app.model.sessionDiscarded;
  if (discarded) showDiscarded(discarded);

  const lease = await claimClientId(sessionId, app.claims ? app.claims.sub : "");
  if (ticket !== app.entering) {
    lease.release();
    return;
  }
  app.lease = lease;
  const outbox = new Outbox(outboxStore(sessionId, lease.clientId), outboxOptions());
  // Audio left unacked by a reload or a crash comes back first, to be resent with the rest.
  await outbox.restoreAudio(await AudioStore.open(sessionId, lease.clientId));
  if (ticket !== app.entering) return; // left meanwhile (leaveSession released the lease)
  app.conn = new SessionConnection({
    sessionId,
    clientId: lease.clientId,
    token: app.token,
    outbox,
    lastEventId: () => app.model.lastEventId,
    on: connectionHandlers(),
  });
  updatePending();
  updatePermissions();
  app.conn.start();
  $("text-input").focus();
}

/**
 * The outbox's audio bounds, if the page was given others before loading (a test, a kiosk):
 * `window.astraOptions = {maxAudioSeconds, memoryAudioSeconds}`; else the outbox's defaults.
 */
function outboxOptions() {
  const given = globalThis.astraOptions || {};
  const options = {};
  const bytes = (name) => {
    const v = Number(given[name]);
    return Number.isFinite(v) && v > 0 ? Math.round(v * AUDIO_BYTES_PER_SECOND) : null;
  };
  if (bytes("maxAudioSeconds")) options.maxAudioBytes = bytes("maxAudioSeconds");
  if (bytes("memoryAudioSeconds")) options.memoryAudioBytes = bytes("memoryAudioSeconds");
  return options;
}

function leaveSession({ keepFragment = false } = {}) {
  app.entering += 1;
  if (app.conn) app.conn.stop();
  showServerStatus({ state: "ok" });
  if (app.lease) app.lease.release();
  if (app.model) saveNow();
  app.conn = null;
  app.connEnded = null;
  app.lease = null;
  app.model = null;
  app.sessionId = null;
  app.status = null;
  app.limits = null;
  app.role = app.claims ? app.claims.role : null;
  if (app.editing) {
    app.editing.reset();
    app.editing.setAllowed(false);
  }
  if (!keepFragment) setFragment(new URLSearchParams());
}

async function onLeave() {
  const pending = app.conn ? app.conn.outbox.pendingText : 0;
  const audio = app.conn ? app.conn.outbox.pendingAudioSeconds : 0;
  const recording = app.recorder.active;
  let question = "";
  if (recording) question += "La grabación se detendrá. ";
  if (pending) {
    question +=
      `Hay ${pending} intervención(es) sin confirmar. Quedarán guardadas en este navegador ` +
      "y se enviarán al volver a esta sesión. ";
  }
  const unsaved = app.conn ? app.conn.outbox.unsavedAudioSeconds : 0;
  if (audio - unsaved >= 0.05) {
    question +=
      `Hay ${durationText(audio - unsaved)} de audio sin confirmar guardado en este equipo: ` +
      "se enviará al volver a esta sesión. ";
  }
  if (unsaved >= 0.05) question += `Hay ${seconds(unsaved)} s de audio sin confirmar que se perderán. `;
  const work = app.editing ? app.editing.unsavedWork() : 0;
  if (work) question += `Hay ${work} corrección(es) a medio escribir, sin guardar, que se perderán. `;
  if (question && !window.confirm(`${question}¿Cambiar de sesión?`)) return;
  await stopRecording();
  if (app.sessionId) tabStorage.remove(recordingKey(app.sessionId)); // left on purpose
  app.recError = "";
  leaveSession();
  setConnState("offline", {});
  showPicker();
}

function renderTitle() {
  const title = app.model && app.model.metadata && app.model.metadata.title;
  $("session-title").textContent = title ? String(title) : "Sin título";
}

function applySessionInfo(info) {
  const pinned = info.pinned && typeof info.pinned === "object" ? info.pinned : null;
  if (pinned && pinned.placeholder_map && typeof pinned.placeholder_map === "object") {
    app.editing.setPlaceholderMap(pinned.placeholder_map);
    app.placeholderMapFor = info.session_id || app.sessionId;
  }
  // What finalize does with the sections left empty (none named: all printed, as BUILDER does).
  if (pinned) app.view.setEmptyZones(pinned.empty_zones || {});
  if (info.metadata && typeof info.metadata === "object" && !app.model.metadata.title) {
    app.model.metadata = info.metadata;
    renderTitle();
  }
  if (info.status) setStatus(info.status);
  if (info.result) showFinal(info.result);
  if (info.finalize_error && info.status === "FINALIZE_FAILED") {
    say("final-status", finalizeFailedText(errorText(info.finalize_error)), "error");
  }
}

function setStatus(status) {
  app.status = status;
  const badge = $("session-status");
  badge.textContent = status ? STATUS_NAMES[status] || status : "—";
  badge.dataset.status = status || "";
  if (app.view) app.view.setFinalized(status === "FINALIZED");
  if (app.recResumes && status && status !== "OPEN") {
    // closed meanwhile: nothing to go on recording (the recorder's line says it is closed)
    app.recResumes = false;
    app.recError = "";
    if (app.sessionId) tabStorage.remove(recordingKey(app.sessionId));
    renderRecorder();
  }
  updatePermissions();
}

/** What the console is for, said to a role that cannot record (its cards are not shown). */
const ROLE_NOTES = {
  stenographer:
    "Relatoría: corrija los bloques en el borrador. La grabación y el envío de textos se hacen desde la consola de grabación.",
  viewer: "Consulta: sigue la sesión en vivo; no puede grabar, enviar textos ni corregir.",
};

function updatePermissions() {
  const open = app.status === null || app.status === "OPEN";
  // Cards a role can never use are not shown (they only said "Su rol no permite…").
  $("recorder").hidden = !CAN.send.has(app.role);
  $("input-card").hidden = !CAN.send.has(app.role);
  $("upload-card").hidden = !CAN.upload.has(app.role);
  const note = CAN.send.has(app.role) ? "" : ROLE_NOTES[app.role] || "Su rol no permite grabar ni enviar textos.";
  $("role-note").textContent = note;
  $("role-note").hidden = !note;
  // Finalize again after a failure, or while CLOSING (it then waits for the running one).
  const retryable = app.status !== "FINALIZED" && app.status !== "DISCARDED";
  const canSend = CAN.send.has(app.role) && open;
  $("text-input").disabled = !canSend;
  $("send").disabled = !canSend || !app.conn; // (see renderRecorder: the saved audio read back)
  let help = "Ctrl+Enter envía. Lo enviado sin conexión queda en espera y se reenvía al reconectar.";
  if (!CAN.send.has(app.role)) help = "Su rol no permite enviar intervenciones.";
  else if (!open) help = "La sesión está cerrada: no admite más intervenciones.";
  $("text-help").textContent = help;
  const canUpload = CAN.upload.has(app.role) && open;
  for (const id of ["file-input", "zone-select", "caption-input", "upload-button"]) $(id).disabled = !canUpload;
  $("finalize").disabled = !CAN.finalize.has(app.role) || !retryable || app.finalizing;
  $("discard").hidden = !CAN.discard.has(app.role);
  $("discard").disabled =
    !app.sessionId || !(open || app.status === "FINALIZE_FAILED") || app.finalizing || app.discarding;
  $("preview").disabled =
    !app.sessionId || !CAN.finalize.has(app.role) || !correctable() || app.finalizing || app.previewing;
  if (!canSend && app.recorder && app.recorder.active) stopRecording();
  renderRecorder();
  if (app.view) app.view.refreshActions();
  if (app.editing) app.editing.setAllowed(canEdit());
}

/**
 * Whether blocks may be corrected now: while the session is open, and after a failed finalize
 * (FINALIZE_FAILED takes no new input but takes corrections, to fix what made it fail).
 */
function correctable() {
  return app.status === null || app.status === "OPEN" || app.status === "FINALIZE_FAILED";
}

function canEdit() {
  return Boolean(app.sessionId && app.conn) && CAN.edit.has(app.role) && correctable();
}

/** The pinned template map, when the session info could not be read on entering (offline). */
async function loadPlaceholderMap() {
  const sessionId = app.sessionId;
  if (!sessionId || app.placeholderMapFor === sessionId) return;
  app.placeholderMapFor = sessionId;
  try {
    const info = await app.api.getSession(sessionId);
    if (sessionId === app.sessionId) applySessionInfo(info);
  } catch {
    if (sessionId === app.sessionId) app.placeholderMapFor = null; // try again at the next welcome
  }
}

/** A signed audio link from the server's answer, checked before it is given to an <audio>. */
function linkOf(answer) {
  const url = safeUrl(answer && answer.url);
  if (!url) throw new Error("el servidor no dio un enlace válido");
  return url;
}

/** What the user reads after a failed finalize: why, and that the blocks can still be corrected. */
function finalizeFailedText(reason) {
  return (
    `No se pudo generar el acta: ${reason}. Los bloques se pueden seguir corrigiendo; ` +
    "vuelva a generar el acta cuando la causa esté resuelta."
  );
}

function canReprocess() {
  return CAN.upload.has(app.role) && correctable();
}

// -- the microphone ------------------------------------------------------------------------------

/** Seconds with one decimal and a decimal comma (es-CO). */
function seconds(value) {
  return (Math.round(value * 10) / 10).toLocaleString("es-CO", {
    minimumFractionDigits: 1,
    maximumFractionDigits: 1,
  });
}

function elapsedText(totalSeconds) {
  const total = Math.floor(totalSeconds);
  const h = Math.floor(total / 3600);
  const mm = String(Math.floor((total % 3600) / 60)).padStart(2, "0");
  const ss = String(total % 60).padStart(2, "0");
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

function showElapsed() {
  const node = $("rec-elapsed");
  const text = elapsedText(app.recSamples / OUT_RATE);
  if (node.textContent !== text) node.textContent = text;
}

/** Level meter: the chunk's peak on a 60 dB scale (0 = -60 dBFS or less, 1 = full scale). */
function showLevel(peak) {
  const db = peak > 0 ? 20 * Math.log10(peak) : -Infinity;
  const value = Math.max(0, Math.min(1, (db + 60) / 60));
  const meter = $("rec-level");
  meter.value = value;
  meter.textContent = `${Math.round(value * 100)} %`;
}

function renderRecorder() {
  const state = app.recorder ? app.recorder.state : "idle";
  const active = state !== "idle";
  const open = app.status === null || app.status === "OPEN";
  const allowed = CAN.send.has(app.role) && open && Boolean(app.sessionId);
  const supported = captureSupported();
  // Entering a session reads the audio a crash left unsent back from disk before the
  // connection exists (up to hours of it): until then "Grabar" could do nothing, silently.
  const ready = Boolean(app.conn);
  const busy = state === "starting" || state === "pausing" || state === "stopping";
  const record = $("rec-record");
  record.setAttribute("aria-pressed", state === "recording" ? "true" : "false");
  record.disabled = busy || (!active && (!allowed || !supported || !ready));
  $("rec-pause").disabled = state !== "recording";
  $("rec-stop").disabled = !(state === "recording" || state === "paused");
  $("recorder").dataset.state = state;
  let text = REC_TEXT[state] || state;
  if (state === "idle") {
    if (!CAN.send.has(app.role)) text = "Su rol no permite grabar.";
    else if (!open) text = "La sesión está cerrada: no admite más audio.";
    else if (!supported) text = "Este navegador no puede grabar aquí (se necesita HTTPS y AudioWorklet).";
    else if (!ready && app.sessionId) text = "Recuperando el audio guardado en este equipo…";
    else if (app.recSamples > 0) {
      const what = app.recResumes ? "Grabación interrumpida" : "Grabación detenida";
      text = `${what} (${elapsedText(app.recSamples / OUT_RATE)}).`;
    }
  }
  if (state === "recording" && app.conn && app.conn.state !== "online") {
    text = app.connEnded
      ? `Grabando sin conexión: la conexión terminó (${describeClose(app.connEnded)}) y no se ` +
        "reintentará; el audio queda en espera en este equipo."
      : "Grabando sin conexión: el audio queda en espera y se enviará al reconectar.";
  }
  const node = $("rec-state");
  if (node.textContent !== text) node.textContent = text;
  say("rec-error", app.recError, app.recError ? "error" : "");
}

function recorderHandlers() {
  return {
    chunk: (bytes, samples) => {
      if (!app.conn) return;
      app.conn.sendAudio(bytes);
      app.recSamples += samples;
      showElapsed();
      if (Date.now() - app.recSavedAt >= 1000) rememberRecording();
    },
    level: (peak) => showLevel(peak),
    state: (state, info) => {
      // lost while recording or paused alike (a pause already sent its audio_end: no `ended`)
      if (state === "idle" && info && info.reason === "lost") {
        app.recError = "El micrófono dejó de estar disponible: la grabación se detuvo.";
      }
      rememberRecording();
      renderRecorder();
    },
    ended: () => {
      if (app.conn) app.conn.sendAudioEnd();
    },
  };
}

function recordingKey(sessionId) {
  return `recording.${sessionId}`;
}

/**
 * Keep in the tab's session storage whether it is recording this session (and for how long so
 * far), so that a page reloaded or restored after a crash says the recording was interrupted
 * instead of showing an idle microphone as if it had been stopped. A pause or a stop forgets it.
 */
function rememberRecording() {
  if (!app.sessionId || !app.recorder) return;
  const state = app.recorder.state;
  app.recSavedAt = Date.now();
  if (state === "recording") {
    tabStorage.setJSON(recordingKey(app.sessionId), { at: app.recSavedAt, samples: app.recSamples });
  } else if (state === "idle" || state === "paused") {
    tabStorage.remove(recordingKey(app.sessionId));
  }
}

async function onRecord() {
  const recorder = app.recorder;
  if (recorder.state === "recording") {
    await recorder.pause(); // the record button is a toggle
    return;
  }
  if (!app.conn) return;
  if (recorder.state === "idle" && !app.recResumes) app.recSamples = 0;
  // The interrupted recording sent no audio_end: end its speech here, or the server would run
  // the words it kept waiting for a resend on into this recording's first ones.
  if (app.recResumes) app.conn.sendAudioEnd();
  app.recResumes = false;
  app.recError = "";
  showElapsed();
  try {
    await recorder.record();
  } catch (exc) {
    app.recError = exc.message;
  }
  renderRecorder();
}

async function stopRecording() {
  if (app.recorder && app.recorder.active) await app.recorder.stop();
}

/** A duration for people: "45 s", "12 min 30 s", "1 h 05 min". */
function durationText(totalSeconds) {
  const total = Math.round(totalSeconds);
  if (total < 60) return `${total} s`;
  const h = Math.floor(total / 3600);
  const min = Math.floor((total % 3600) / 60);
  if (h) return `${h} h ${String(min).padStart(2, "0")} min`;
  return `${min} min ${String(total % 60).padStart(2, "0")} s`;
}

/**
 * The audio waiting for its ack, for people: how long, that it is safe on this computer's disk
 * (or what is not yet), and that it goes out when the connection is back, or is going out.
 */
function waitingText(outbox, online, ended) {
  const audio = outbox.pendingAudioSeconds;
  if (audio < 1) return "";
  const unsaved = outbox.unsavedAudioSeconds;
  const head = online
    ? `Enviando el audio en espera: quedan ${durationText(audio)}`
    : `${durationText(audio)} de audio en espera`;
  if (ended === 4404) return `${head}: la sesión ya no existe en el servidor y no se puede enviar.`;
  // ended: the connection closed for good (a fault the client cannot fix by reconnecting)
  const gone = ended ? "la conexión terminó y no se reintentará; " : "";
  if (!outbox.audioStore) {
    return `${head}, solo en la memoria de esta página: ${gone}se perderá si se cierra o se recarga.`;
  }
  let text = `${head}, guardado en el disco de este equipo`;
  if (unsaved >= 1) text += ` (${durationText(unsaved)} aún solo en memoria)`;
  if (ended) return `${text}: ${gone}recargue la página para enviarlo.`;
  return online ? `${text}.` : `${text}: se enviará al volver la conexión.`;
}

function updatePending() {
  const outbox = app.conn ? app.conn.outbox : null;
  const n = outbox ? outbox.pendingText : 0;
  const node = $("pending");
  const text = `Pendientes de confirmar: ${n}`;
  if (node.textContent !== text) node.textContent = text;
  node.dataset.pending = String(n);
  const audio = outbox ? outbox.pendingAudioSeconds : 0;
  const dropped = outbox ? outbox.droppedAudioSeconds : 0;
  const lost = outbox ? outbox.lostAudioSeconds : 0;
  const refused = outbox ? outbox.refusedAudioSeconds : 0;
  let backlog = `Audio sin confirmar: ${seconds(audio)} s`;
  if (dropped > 0) backlog += ` · descartado por la espera: ${seconds(dropped)} s`;
  if (lost > 0) backlog += ` · perdido, el navegador no conservó su copia en disco: ${seconds(lost)} s`;
  if (refused > 0) backlog += ` · rechazado por el servidor, no guardado: ${seconds(refused)} s`;
  const line = $("rec-backlog");
  if (line.textContent !== backlog) line.textContent = backlog;
  line.dataset.pending = audio >= 1 || dropped > 0 || lost > 0 || refused > 0 ? "1" : "0";
  const waiting = outbox ? waitingText(outbox, app.conn.state === "online", app.connEnded) : "";
  const note = $("rec-waiting");
  if (note.textContent !== waiting) note.textContent = waiting;
  note.hidden = !waiting;
  note.dataset.disk = outbox && outbox.audioStore ? "1" : "0";
}

function setConnState(state, info) {
  const box = $("conn");
  box.dataset.state = state;
  $("conn-text").textContent = CONN_TEXT[state] || state;
  let detail = "";
  if (state === "reconnecting" && info.delay) detail = `nuevo intento en ${Math.ceil(info.delay / 1000)} s`;
  if (state === "reconnecting" && EXPLAINED_CLOSES.has(info.code)) {
    detail = `${describeClose(info.code)}; ${detail}`;
  }
  if (state === "offline" && info.code) detail = describeClose(info.code);
  if (state === "reconnecting" && navigator.onLine === false) detail = "sin red";
  $("conn-detail").textContent = detail;
  if (app.recorder) renderRecorder();
  if (app.sessionId) updatePending(); // waiting, or being sent
}

/** The server's `status` frame: a banner while it is degraded (what is sent waits, unacked). */
function showServerStatus(msg) {
  const banner = $("store-banner");
  if (msg.state === "degraded") {
    banner.textContent = describeError(msg.code || "SERVICE_UNAVAILABLE", msg.message);
    banner.dataset.code = msg.code || "";
    banner.hidden = false;
  } else {
    banner.hidden = true;
    banner.textContent = "";
    banner.dataset.code = "";
  }
}

// -- the stream ----------------------------------------------------------------------------------

function scheduleSave() {
  if (app.saveTimer !== null) return;
  app.saveTimer = window.setTimeout(saveNow, SAVE_DELAY);
}

function saveNow() {
  if (app.saveTimer !== null) window.clearTimeout(app.saveTimer);
  app.saveTimer = null;
  if (app.model) app.model.save();
  if (app.conn) app.conn.outbox.writeAudio(); // the audio not on disk yet, before the page goes
}

function connectionHandlers() {
  return {
    state: (state, info) => {
      setConnState(state, info);
      if (state !== "online") app.editing.presenceOffline();
    },
    welcome: (msg) => {
      app.connEnded = null;
      if (app.sessionFull) {
        app.sessionFull = false;
        say("text-error", "");
      }
      app.role = typeof msg.role === "string" ? msg.role : app.role;
      app.limits = msg.limits || null;
      if (typeof msg.head_event_id === "number" && app.model.lastEventId > msg.head_event_id) {
        // The saved draft is ahead of the server's log: it cannot be this session's; start over.
        DraftModel.forget(app.sessionId);
        app.model = new DraftModel(app.sessionId);
        app.view.renderAll([], []);
        updateReview();
        app.conn.reconnectNow();
        return;
      }
      if (msg.status) setStatus(msg.status);
      app.editing.setSelf(
        typeof msg.client_id === "string" ? msg.client_id : app.lease && app.lease.clientId,
        app.claims && app.claims.sub,
      );
      app.editing.resendPresence();
      loadPlaceholderMap();
      const behind = typeof msg.head_event_id === "number" && msg.head_event_id > app.model.lastEventId;
      $("draft").setAttribute("aria-busy", behind ? "true" : "false");
      $("sync-note").textContent = behind ? "Sincronizando…" : "";
      updatePermissions();
    },
    event: (msg) => applyEvent(msg),
    synced: () => {
      $("draft").setAttribute("aria-busy", "false");
      $("sync-note").textContent = "";
      saveNow();
    },
    ack: (msg, frames) => {
      // a refused text's reason stays until a text goes through (audio is acked ten times a second)
      if ($("text-error").dataset.kind === "error" && frames.some((f) => f.kind === "text")) {
        say("text-error", "");
      }
      app.editing.acked(frames, msg);
    },
    settled: (frames) => app.editing.acked(frames),
    presence: (msg) => app.editing.setPresence(msg),
    status: (msg) => showServerStatus(msg),
    error: (msg, dropped) => onStreamError(msg, dropped),
    outbox: () => updatePending(),
    closed: (code, reason, final) => {
      if (code === 4429) {
        // Kept on screen until a connection is accepted again (see welcome).
        say("text-error", describeError("TOO_MANY_CONNECTIONS"), "error");
        app.sessionFull = true;
      }
      if (!final) return;
      // Only a new token reconnects (4401): after any other final close the recorder and the
      // audio waiting must not promise a resend that will not come.
      app.connEnded = code === 4401 ? null : code; // the state "offline" that follows shows it
      if (code === 4401) showSignIn(describeError("UNAUTHORIZED"));
      else if (code === 4404) {
        say("text-error", describeError("NOT_FOUND"), "error");
        // The session is gone: what the microphone hears has nowhere to go.
        if (app.recorder && app.recorder.active) {
          app.recError = "La sesión ya no existe en el servidor: la grabación se detuvo.";
          stopRecording();
        }
      } else if (code !== 1000) say("text-error", `Conexión terminada: ${describeClose(code)}.`, "error");
    },
  };
}

function applyEvent(msg) {
  const change = app.model.apply(msg);
  if (change === false) return false;
  if (change === null) return true;
  switch (change.kind) {
    case "session.started":
      renderTitle();
      setStatus(app.model.status);
      break;
    case "block.added":
      if (change.block) app.view.addBlock(change.block);
      break;
    case "block.updated":
      if (change.block) {
        app.editing.blockUpdated(change.block, change.actor);
        app.view.updateBlock(change.block);
      }
      break;
    case "block.inserted":
      if (change.block) app.view.addBlock(change.block);
      break;
    case "block.deleted":
      if (change.blockId) {
        const id = change.blockId;
        app.editing.blockDeleted(id, change.actor, () => app.view.removeBlock(id));
      }
      break;
    case "utterance.detected":
      if (change.utterance) app.view.addPlaceholder(change.utterance);
      break;
    case "utterance.discarded":
      if (change.utteranceId) app.view.removePlaceholder(change.utteranceId);
      if (change.discarded) app.view.showDiscarded(app.model.unwritten());
      break;
    case "session.closing":
      setStatus("CLOSING");
      if (!app.finalizing) say("final-status", "La sesión se está cerrando: se genera el acta…");
      break;
    case "session.finalized":
      setStatus("FINALIZED");
      // A result already shown came from HTTP and has the fresher download link.
      if ($("final-result").hidden) showFinal(app.model.final);
      if (!app.finalizing) say("final-status", "Acta generada.", "ok");
      break;
    case "session.finalize_failed":
      setStatus("FINALIZE_FAILED");
      show("final-result", false);
      say("final-status", finalizeFailedText(errorText(app.model.failure)), "error");
      break;
    case "session.discarded":
      setStatus("DISCARDED");
      showDiscarded(app.model.sessionDiscarded);
      break;
    default:
      break;
  }
  if (app.model.discarded.length && change.kind.startsWith("block.")) {
    // a block written for an utterance heard with no words stands for it now (or no longer), or
    // the block said before one was moved to another section: its row follows it (once for a
    // burst of changes, a renumbering's hundreds of events among them)
    scheduleDiscarded();
  }
  if (change.kind.startsWith("block.") || change.discarded) scheduleReview();
  scheduleSave();
  return true;
}

// -- what is left to review ------------------------------------------------------------------------

function scheduleDiscarded() {
  if (app.discardedFrame !== null) return;
  app.discardedFrame = window.requestAnimationFrame(() => {
    app.discardedFrame = null;
    app.view.showDiscarded(app.model.unwritten());
  });
}

function scheduleReview() {
  if (app.reviewTimer !== null) return;
  app.reviewTimer = window.setTimeout(updateReview, REVIEW_DELAY);
}

/**
 * Blocks pending review, audio blocks recognized with low confidence that nobody edited, and
 * audio heard with no words that nobody wrote.
 */
function reviewCounts() {
  const blocks = app.model ? app.model.blocks : [];
  return {
    pending: blocks.filter((b) => b.type === "ERROR_PENDING_REVIEW").length,
    low: blocks.filter(lowConfidence).length,
    unheard: app.model ? app.model.unwritten().length : 0,
  };
}

/** The review summary over the draft, and the audit summary's count once the acta exists. */
function updateReview() {
  if (app.reviewTimer !== null) window.clearTimeout(app.reviewTimer);
  app.reviewTimer = null;
  const { pending, low, unheard } = reviewCounts();
  const parts = [];
  if (pending) parts.push(`${pending} pendiente${pending === 1 ? "" : "s"} de revisión`);
  if (low) parts.push(`${low} de baja confianza (revisar con el audio)`);
  if (unheard) parts.push(`${unheard} audio${unheard === 1 ? "" : "s"} sin palabras reconocidas (escuchar)`);
  const node = $("review-summary");
  const text = parts.length ? `Por revisar: ${parts.join(" · ")}.` : "";
  if (node.textContent !== text) node.textContent = text;
  node.hidden = !parts.length;
  node.dataset.low = String(low);
  node.dataset.pending = String(pending);
  node.dataset.unheard = String(unheard);
  if (app.audit) renderAuditSummary();
}

/** What is still to be reviewed (the draft's "Por revisar"), said before sealing: the acta
 * carries a Word comment on each, but whoever signs it should know before finalizing. */
function reviewWarning() {
  const { pending, low, unheard } = reviewCounts();
  const parts = [];
  if (pending) parts.push(`${pending} bloque${pending === 1 ? "" : "s"} pendiente${pending === 1 ? "" : "s"} de revisión`);
  if (low) parts.push(`${low} bloque${low === 1 ? "" : "s"} de baja confianza sin revisar`);
  if (unheard) parts.push(`${unheard} audio${unheard === 1 ? "" : "s"} sin palabras reconocidas`);
  return parts.length ? `Quedan por revisar: ${parts.join(", ")}. ` : "";
}

function renderAuditSummary() {
  $("audit").replaceChildren(renderAudit(app.audit, { lowConfidence: reviewCounts().low, copy: copyText }));
}

function onStreamError(msg, dropped) {
  const code = typeof msg.code === "string" ? msg.code : "ERROR";
  if (code === "SEQ_GAP") return; // handled by the outbox: frames are renumbered and resent
  // The outbox sends the same frame again in a moment: telling the user to retry would make a
  // second one (a JWKS outage at hello has no seq: its close says so).
  if (SEND_AGAIN_CODES.has(code) && Number.isSafeInteger(msg.seq)) return;
  if (code === "SESSION_CLOSED") setStatus(app.status === "OPEN" || !app.status ? "CLOSING" : app.status);
  if (code === "UNAUTHORIZED") return; // the close (4401) that follows asks for a token
  if (code === "CLIENT_ID_TAKEN") {
    // This browser's id for the session is another user's (a token of someone else signed in
    // here): take a new one and go in again, saying so (a recording stops: the browser wants a
    // click to start the microphone again).
    const sessionId = app.sessionId;
    const wasRecording = Boolean(app.recorder && app.recorder.active);
    if (sessionId && app.lease) forgetClientId(sessionId, app.claims ? app.claims.sub : "", app.lease.clientId);
    if (sessionId) {
      enterSession(sessionId).then(() => {
        if (!wasRecording || app.sessionId !== sessionId) return;
        app.recError = `${describeError(code)} Pulse «Grabar» para seguir grabando.`;
        renderRecorder();
      });
    }
    return;
  }
  // A close follows that reconnects; the connection status (and, for 4429, `closed`) says why.
  if (code === "SLOW_CONSUMER" || code === "IDLE_TIMEOUT" || code === "TOO_MANY_CONNECTIONS") return;
  if (dropped && CORRECTIONS.has(dropped.kind)) {
    app.editing.failed(dropped, msg); // shown on the block: a conflict panel, or the reason
    return;
  }
  if (code === "UNKNOWN_TYPE" && typeof msg.seq !== "number") return; // e.g. presence on an older server
  if (dropped && dropped.kind !== "text") {
    if (code === "SESSION_CLOSED") return; // the status already says so; recording stops
    // Another console holds the session's recording: two microphones on one timeline would be
    // nonsense, so this one stops (the user can start again once the other stops). A session
    // past its maximum length takes no more audio at all: recording on would throw it away.
    if (code === "RECORDING_ELSEWHERE" || code === "SESSION_TOO_LONG") stopRecording();
    // Audio the server refused: say so once per code (chunks arrive ten a second).
    const text = `El servidor rechazó audio: ${describeError(code, msg.message)}`;
    if (app.recError !== text) {
      app.recError = text;
      renderRecorder();
    }
    return;
  }
  if (dropped) addRejected(dropped, code);
  say("text-error", describeError(code, msg.message), "error");
}

function addRejected(frame, code) {
  const item = document.createElement("li");
  const reason = document.createElement("span");
  reason.className = "rejected__code";
  reason.textContent = code;
  const text = document.createElement("span");
  text.className = "rejected__text";
  text.textContent = frame.text;
  const copy = document.createElement("button");
  copy.type = "button";
  copy.className = "small";
  copy.textContent = "Copiar texto";
  copy.setAttribute("aria-label", `Copiar el texto no registrado: ${frame.text.slice(0, 40)}`);
  copy.addEventListener("click", () => copyText(frame.text, "Texto"));
  item.append(reason, " ", text, " ", copy);
  $("rejected-list").append(item);
  show("rejected", true);
}

// -- input ---------------------------------------------------------------------------------------

function onSend(event) {
  if (event) event.preventDefault();
  if (!app.conn || $("send").disabled) return;
  const input = $("text-input");
  const text = input.value.trim();
  if (!text) {
    say("text-error", "Escriba el texto de la intervención antes de enviar.", "error");
    input.focus();
    return;
  }
  const max = app.limits && Number(app.limits.max_text_chars);
  const length = [...text].length; // the server counts code points
  if (max && length > max) {
    say("text-error", `El texto tiene ${length} caracteres; el máximo es ${max}. Divídalo en partes.`, "error");
    input.focus();
    return;
  }
  app.conn.sendText(text);
  input.value = "";
  say("text-error", "");
  input.focus();
}

function onTextKey(event) {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
    event.preventDefault();
    onSend(null);
  }
}

async function onUpload(event) {
  event.preventDefault();
  if (!app.sessionId) return;
  const file = $("file-input").files[0];
  if (!file) {
    say("upload-status", "Elija un archivo PNG o JPEG.", "error");
    $("file-input").focus();
    return;
  }
  if (file.type && !["image/png", "image/jpeg"].includes(file.type)) {
    say("upload-status", "Solo se aceptan imágenes PNG o JPEG.", "error");
    $("file-input").focus();
    return;
  }
  const button = $("upload-button");
  button.disabled = true;
  say("upload-status", "Subiendo la imagen…");
  try {
    const zone = $("zone-select").value;
    const caption = $("caption-input").value.trim();
    const result = await app.api.uploadAsset(app.sessionId, file, { zone, caption });
    const where = result && result.block ? result.block.target_placeholder : zone;
    const heading = (ZONES.find(([z]) => z === where) || [where, where])[1];
    say("upload-status", `Imagen agregada al acta${heading ? ` (${heading})` : ""}.`, "ok");
    $("upload-form").reset();
  } catch (exc) {
    if (!handleAuthFailure(exc)) say("upload-status", errorText(exc), "error");
  } finally {
    updatePermissions();
  }
}

// -- finalize ------------------------------------------------------------------------------------

/** What others are doing that finalizing would cut off: another console recording (the server
 * says who holds the session's recording), people editing blocks (the presence list). */
async function othersAtWork() {
  let warning = "";
  const self = app.lease && app.lease.clientId;
  try {
    const described = await app.api.getSession(app.sessionId);
    const recording = described && described.recording;
    if (recording && recording.client_id !== self) {
      warning += "Otra consola está grabando en este momento: lo que se diga desde ahora no entrará en el acta. ";
    }
  } catch {
    // Not known: the other warnings still stand, and finalize itself will answer.
  }
  const editors = new Set();
  for (const subs of app.editing.others.values()) for (const sub of subs) editors.add(sub);
  if (editors.size) {
    warning += `${[...editors].join(", ")} ${editors.size === 1 ? "está" : "están"} editando bloques; lo que no hayan guardado no entrará en el acta. `;
  }
  return warning;
}

async function onFinalize() {
  if (!app.sessionId || app.finalizing || app.confirmingFinalize) return;
  app.confirmingFinalize = true; // a second click while the warnings are gathered opens nothing
  try {
    await confirmAndFinalize();
  } finally {
    app.confirmingFinalize = false;
  }
}

async function confirmAndFinalize() {
  const pending = app.conn ? app.conn.outbox.pendingText : 0;
  const audio = app.conn ? app.conn.outbox.pendingAudioSeconds : 0;
  // Connected, what is queued is sent first (sendWhatIsQueued); offline it cannot be.
  const online = Boolean(app.conn && app.conn.state === "online");
  const fate = online
    ? `se enviará antes de generar el acta; lo que no se confirme en ${FINALIZE_FLUSH_MS / 1000} s no entrará en ella`
    : "no entrará en el acta (no hay conexión)";
  let warning = pending ? `Hay ${pending} intervención(es) sin confirmar: ${fate}. ` : "";
  const corrections = app.conn ? app.conn.outbox.pendingCorrections : 0;
  if (corrections) warning += `Hay ${corrections} corrección(es) sin confirmar: ${fate}. `;
  if (app.recorder.active) warning += "La grabación se detendrá. ";
  if (audio >= 0.05) warning += `Hay ${seconds(audio)} s de audio sin confirmar: ${fate}. `;
  warning += reviewWarning();
  warning += await othersAtWork();
  if (!window.confirm(`${warning}¿Finalizar la sesión y generar el acta? Después no se admite más contenido.`)) {
    return;
  }
  await stopRecording();
  app.finalizing = true;
  updatePermissions();
  const status = $("final-status");
  status.setAttribute("aria-busy", "true");
  await sendWhatIsQueued();
  say("final-status", "Generando el acta…");
  try {
    const result = await app.api.finalize(app.sessionId);
    setStatus("FINALIZED");
    showFinal(result);
    say("final-status", "Acta generada.", "ok");
    $("download").focus();
  } catch (exc) {
    if (app.status === "FINALIZED") {
      // The answer was lost (a proxy's time-out, the network) but the session's event says the
      // acta was generated: what it shows stands, not a failure beside the download link.
      say("final-status", "Acta generada.", "ok");
    } else if (!handleAuthFailure(exc)) {
      const again =
        exc.code === "SERVICE_UNAVAILABLE" || exc.code === "NETWORK"
          ? " Puede intentarlo de nuevo."
          : "";
      say("final-status", `No se pudo generar el acta: ${errorText(exc)}${again}`, "error");
    }
  } finally {
    app.finalizing = false;
    status.setAttribute("aria-busy", "false");
    updatePermissions();
  }
}

/**
 * Before finalize closes the session: wait, while connected and for at most FINALIZE_FLUSH_MS,
 * until the server has acked what the outbox holds: the last chunk and the `audio_end` that
 * stopping the recorder just queued, and any backlog still being paced out. Finalizing at once
 * had them refused (SESSION_CLOSED): the last words of the session were lost.
 */
async function sendWhatIsQueued() {
  const conn = app.conn;
  if (!conn || !conn.outbox.pending) return;
  say("final-status", "Enviando lo que queda por confirmar antes de generar el acta…");
  const deadline = Date.now() + FINALIZE_FLUSH_MS;
  while (conn.outbox.pending && conn.state === "online" && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Download the acta as it would be written now (marked BORRADOR, not sealed) to read it first. */
/** The session was discarded (here or elsewhere): say by whom, why, and what that means. */
function showDiscarded(info) {
  const who = info && info.by ? ` por ${info.by}` : "";
  const why = info && info.reason ? ` (motivo: ${info.reason})` : "";
  say(
    "discard-status",
    `Sesión descartada${who}${why}: no tendrá acta ni admite más grabación, textos o correcciones. ` +
      "Lo registrado se conserva.",
    "error",
  );
}

async function onDiscard() {
  if (!app.sessionId || app.discarding) return;
  const sessionId = app.sessionId;
  const reason = window.prompt(
    "Descartar la sesión la cierra sin acta: no admitirá más grabación, textos ni correcciones y " +
      "saldrá de la lista de sesiones abiertas; lo registrado se conserva. Escriba el motivo " +
      "(queda registrado):",
  );
  if (reason === null) return; // cancelled
  if (!reason.trim()) {
    say("discard-status", "Escriba el motivo para descartar la sesión.", "error");
    return;
  }
  app.discarding = true;
  updatePermissions();
  say("discard-status", "Descartando la sesión…");
  try {
    const result = await app.api.discard(sessionId, reason.trim());
    if (app.sessionId === sessionId) {
      setStatus(result.status);
      showDiscarded(result.discarded);
    }
  } catch (exc) {
    if (handleAuthFailure(exc)) return;
    const text =
      exc.code === "FORBIDDEN"
        ? "Solo un administrador puede descartar una sesión que ya tiene bloques o audio."
        : `No se pudo descartar la sesión: ${errorText(exc)}`;
    say("discard-status", text, "error");
  } finally {
    app.discarding = false;
    updatePermissions();
  }
}

async function onPreview() {
  if (!app.sessionId || app.previewing) return;
  const sessionId = app.sessionId;
  app.previewing = true;
  updatePermissions();
  say("preview-status", "Generando el borrador…");
  try {
    const blob = await app.api.preview(sessionId);
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = `borrador-${sessionId}.docx`;
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
    say("preview-status", "Borrador descargado: no es el acta; el acta se sella al finalizar.", "ok");
  } catch (exc) {
    if (!handleAuthFailure(exc)) say("preview-status", `No se pudo generar el borrador: ${errorText(exc)}`, "error");
  } finally {
    app.previewing = false;
    updatePermissions();
  }
}

/** Show a finalize result: from the HTTP answer, GET session, or a session.finalized event. */
function showFinal(result) {
  if (!result) return;
  show("final-result", true);
  const link = $("download");
  const url = safeUrl(result.download_url);
  if (url) {
    link.href = url;
    link.removeAttribute("aria-disabled");
  } else {
    link.removeAttribute("href");
    link.setAttribute("aria-disabled", "true");
  }
  $("integrity").textContent = result.integrity_hash || "—";
  if (result.audit_report) {
    app.audit = result.audit_report;
    renderAuditSummary();
    show("audit-json", true);
  } else if (!app.audit) {
    $("audit").replaceChildren(document.createTextNode("Cargando el informe de auditoría…"));
    loadAudit();
  }
}

async function loadAudit() {
  if (app.auditRequested || !app.sessionId) return;
  app.auditRequested = true;
  const sessionId = app.sessionId;
  try {
    const info = await app.api.getSession(sessionId);
    if (sessionId !== app.sessionId) return;
    if (info.result) showFinal(info.result);
  } catch (exc) {
    if (sessionId === app.sessionId) {
      app.auditRequested = false;
      $("audit").replaceChildren(document.createTextNode(`No se pudo cargar el informe: ${errorText(exc)}`));
    }
  }
}

async function refreshLink() {
  if (!app.sessionId) return;
  say("final-status", "Pidiendo un enlace nuevo…");
  try {
    const info = await app.api.getSession(app.sessionId);
    if (info.result) {
      showFinal(info.result);
      say("final-status", "Enlace de descarga renovado.", "ok");
    } else {
      say("final-status", "La sesión todavía no tiene acta.", "error");
    }
  } catch (exc) {
    if (!handleAuthFailure(exc)) say("final-status", errorText(exc), "error");
  }
}

function downloadAudit() {
  if (!app.audit) return;
  const blob = new Blob([JSON.stringify(app.audit, null, 2)], { type: "application/json" });
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = `auditoria-${app.sessionId || "acta"}.json`;
  document.body.append(a);
  a.click();
  a.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 1000);
}

// -- start ---------------------------------------------------------------------------------------

function onHashChange() {
  const token = takeTokenFromFragment();
  if (token) {
    try {
      acceptToken(token);
      show("signin", false);
    } catch (exc) {
      showSignIn(exc.message);
      return;
    }
  }
  const id = fragmentParams().get("session");
  if (app.token && id && id !== app.sessionId) joinSession(id);
}

function init() {
  app.api = new Api(() => app.token);
  app.recorder = new Recorder(recorderHandlers());
  app.editing = new Editing(
    $("draft"),
    {
      startSlot: $("draft-start"),
      startButton: $("insert-first"),
      help: $("shortcuts"),
      helpButton: $("shortcuts-toggle"),
      presenceBox: $("presence"),
      presenceList: $("presence-list"),
    },
    {
      canEdit,
      send: (kind, fields) => app.conn.sendCorrection(kind, fields),
      sendPresence: (blockId) => {
        if (app.conn) app.conn.sendPresence(blockId);
      },
      online: () => Boolean(app.conn && app.conn.state === "online"),
      block: (blockId) => (app.model ? app.model.blocks.find((b) => b.block_id === blockId) || null : null),
      limits: () => app.limits,
      announce,
      describe: (code, message) => describeError(code, message),
      rejected: (text, code) => addRejected({ text }, code),
    },
  );
  app.view = new DraftView($("draft"), {
    decorate: (item, block) => app.editing.decorate(item, block),
    canReprocess,
    reprocess: async (block) => {
      try {
        await app.api.reprocess(app.sessionId, block.block_id);
      } catch (exc) {
        handleAuthFailure(exc);
        throw exc;
      }
    },
    audioUrl: async (block) => linkOf(await app.api.blockAudio(app.sessionId, block.block_id)),
    heardUrl: async (utterance) => linkOf(await app.api.utteranceAudio(app.sessionId, utterance.utterance_id)),
    canWrite: canEdit,
    writeHeard: (utterance) => {
      const before = app.model.blockBefore(utterance.position);
      app.editing.openInsert(before ? before.block_id : null, utterance);
    },
    decorateHeard: (item, utterance) => app.editing.decorateHeard(item, utterance),
    heardGone: (item, utteranceId) => app.editing.heardGone(item, utteranceId),
    describe: (exc) => errorText(exc),
  });
  const select = $("zone-select");
  for (const [zone, heading] of ZONES) {
    const option = document.createElement("option");
    option.value = zone;
    option.textContent = heading;
    select.append(option);
  }

  $("signin-form").addEventListener("submit", onSignIn);
  $("change-token").addEventListener("click", changeToken);
  $("start-form").addEventListener("submit", onStart);
  $("join-form").addEventListener("submit", onJoin);
  $("leave").addEventListener("click", onLeave);
  $("text-form").addEventListener("submit", onSend);
  $("text-input").addEventListener("keydown", onTextKey);
  $("upload-form").addEventListener("submit", onUpload);
  $("rec-record").addEventListener("click", onRecord);
  $("rec-pause").addEventListener("click", () => app.recorder.pause());
  $("rec-stop").addEventListener("click", () => stopRecording());
  window.addEventListener("beforeunload", (event) => {
    // Unacked audio not on disk (yet, or IndexedDB is unavailable) is lost with the page, and
    // so are corrections being written (an open editor's changes, an insert's text): warn.
    const audio = app.conn ? app.conn.outbox.unsavedAudioSeconds : 0;
    const work = app.editing ? app.editing.unsavedWork() : 0;
    if (app.recorder.active || audio >= 0.05 || work > 0) {
      event.preventDefault();
      event.returnValue = "";
    }
  });
  $("finalize").addEventListener("click", onFinalize);
  $("preview").addEventListener("click", onPreview);
  $("discard").addEventListener("click", onDiscard);
  $("refresh-link").addEventListener("click", refreshLink);
  $("audit-json").addEventListener("click", downloadAudit);
  $("copy-session").addEventListener("click", () => copyText(app.sessionId || "", "Identificador"));
  $("copy-hash").addEventListener("click", () => copyText($("integrity").textContent, "Hash"));
  window.addEventListener("hashchange", onHashChange);
  window.addEventListener("pagehide", saveNow);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") saveNow();
  });

  const token = takeTokenFromFragment() || storedToken();
  if (!token) {
    showSignIn();
    return;
  }
  try {
    acceptToken(token);
  } catch (exc) {
    forgetToken();
    showSignIn(exc.message);
    return;
  }
  routeFromFragment();
}

// The session's outbox, for tests and for a look from the devtools (counts, memory held).
globalThis.astraConsole = { outbox: () => (app.conn ? app.conn.outbox : null) };

init();
